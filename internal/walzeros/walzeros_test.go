package walzeros_test

import (
	"bytes"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/internal/walfs"
	"github.com/zkembed/zkembed/internal/walzeros"
)

// A WAL file keeps between MinTail and MaxTail zero bytes after its data,
// and its data is what was written; other files are left alone.
func TestZeroTail(t *testing.T) {
	fs := walzeros.Wrap(vfs.NewMem())
	wal, err := fs.Create("000001.log", walfs.Category)
	if err != nil {
		t.Fatal(err)
	}
	other, err := fs.Create("MANIFEST-000001", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i, n := range []int{100, 30000, 1, walzeros.MaxTail, 5000} {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		want = append(want, p...)
		for _, f := range []vfs.File{wal, other} {
			if _, err := f.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		st, err := wal.Stat()
		if err != nil {
			t.Fatal(err)
		}
		tail := st.Size() - int64(len(want))
		if tail < walzeros.MinTail || tail > walzeros.MaxTail {
			t.Fatalf("after %d bytes the WAL is %d bytes: a tail of %d, want %d to %d", len(want), st.Size(), tail, walzeros.MinTail, walzeros.MaxTail)
		}
		if st, err := other.Stat(); err != nil || st.Size() != int64(len(want)) {
			t.Fatalf("another file is %d bytes (%v), want %d: only WALs get a tail", st.Size(), err, len(want))
		}
	}
	got := make([]byte, len(want)+walzeros.MinTail)
	if _, err := wal.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:len(want)], want) || bytes.ContainsFunc(got[len(want):], func(r rune) bool { return r != 0 }) {
		t.Fatal("the WAL does not hold the data written followed by zeros")
	}
}
