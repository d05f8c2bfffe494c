package walfs_test

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/internal/walfs"
)

type marked struct{ vfs.File }

// Files created or reused as WALs are wrapped, other files are not, and
// vfs.Root sees through the wrapper.
func TestWrapOnlyWALs(t *testing.T) {
	mem := vfs.NewMem()
	fs := walfs.Wrap(mem, func(f vfs.File) vfs.File { return marked{f} })
	if vfs.Root(fs) != mem {
		t.Fatal("vfs.Root does not unwrap the FS")
	}
	isMarked := func(f vfs.File, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, ok := f.(marked)
		return ok
	}
	if !isMarked(fs.Create("000001.log", walfs.Category)) {
		t.Fatal("a created WAL was not wrapped")
	}
	if !isMarked(fs.ReuseForWrite("000001.log", "000002.log", walfs.Category)) {
		t.Fatal("a reused WAL was not wrapped")
	}
	if isMarked(fs.Create("MANIFEST-000001", vfs.WriteCategoryUnspecified)) {
		t.Fatal("a file of another category was wrapped")
	}
}
