package inspect_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/inspect"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got, "golden file %s (go test -update rewrites it)", path)
}

// The text and JSON output of every read-only command, for the fixture's
// workload, as golden files: their shape is the interface.
func TestGolden(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		run  func(*bytes.Buffer) error
	}{
		{"log_list.txt", func(b *bytes.Buffer) error { return inspect.LogList(b, f.dir) }},
		{"log_dump.txt", func(b *bytes.Buffer) error { return inspect.LogDump(b, f.dir, inspect.DumpOptions{}) }},
		{"log_dump.jsonl", func(b *bytes.Buffer) error { return inspect.LogDump(b, f.dir, inspect.DumpOptions{JSON: true}) }},
		{"log_dump_range.txt", func(b *bytes.Buffer) error {
			return inspect.LogDump(b, f.dir, inspect.DumpOptions{From: f.snaps[1], To: f.snaps[1] + 2})
		}},
		{"log_verify.txt", func(b *bytes.Buffer) error { return inspect.LogVerify(b, f.dir) }},
		{"snapshot_list.txt", func(b *bytes.Buffer) error { return inspect.SnapshotList(b, f.dir) }},
		{"snapshot_dump.txt", func(b *bytes.Buffer) error {
			return inspect.SnapshotDump(b, inspect.SnapshotDumpOptions{Dir: f.dir, Zxid: -1})
		}},
		{"snapshot_dump_first.jsonl", func(b *bytes.Buffer) error {
			return inspect.SnapshotDump(b, inspect.SnapshotDumpOptions{Dir: f.dir, Zxid: f.snaps[0], JSON: true})
		}},
		{"snapshot_verify.txt", func(b *bytes.Buffer) error { return inspect.SnapshotVerify(b, f.dir) }},
		{"truncate_dry_run.txt", func(b *bytes.Buffer) error { return inspect.LogTruncate(b, f.dir, f.snaps[0]+1, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, tc.run(&b))
			golden(t, tc.name, normalize(b.String(), f.dir))
		})
	}
}
