package inspect

import (
	"testing"

	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/znode"
)

// A file name is a snapshot's exactly when snapshot.FileName makes it:
// whatever else lies in a data directory is never taken for one.
func FuzzParseSnapshotName(f *testing.F) {
	for _, s := range []string{snapshot.FileName(1), snapshot.FileName(1 << 62), "snapshot.", "snapshot.0000000000000001.tmp", "snapshot.000000000000000A", "snapshot.-000000000000001", "snapshot.8000000000000000", "log.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		z, ok := parseSnapshotName(name)
		if !ok {
			return
		}
		if z < 0 || snapshot.FileName(z) != name {
			t.Fatalf("%q parsed to %v, which is named %q", name, z, snapshot.FileName(z))
		}
	})
}

// Every name snapshot.FileName makes parses back to its zxid.
func TestParseSnapshotNameReadsFileName(t *testing.T) {
	for _, z := range []znode.Zxid{0, 1, 0xabc, 1<<32 | 5, 1<<63 - 1} {
		got, ok := parseSnapshotName(snapshot.FileName(z))
		if !ok || got != z {
			t.Errorf("%q: %v, %v", snapshot.FileName(z), got, ok)
		}
	}
}
