// Package walfs wraps the files pebble opens as write-ahead logs. Pebble
// creates and reuses them through its vfs.FS with the write category
// Category; Wrap returns an FS that hands each such file to a function of
// the caller's, and every other file unchanged. txnlog uses it to
// preallocate WAL files at their full size, package walzeros to give them
// a zero tail in crash tests.
package walfs

import "github.com/cockroachdb/pebble/v2/vfs"

// Category is the write category pebble opens its WAL files with (a
// literal in pebble's wal package, not exported there).
const Category vfs.DiskWriteCategory = "pebble-wal"

// Wrap returns fs with every WAL file it creates or reuses passed through
// wrap before pebble sees it.
func Wrap(fs vfs.FS, wrap func(vfs.File) vfs.File) vfs.FS { return wrapFS{fs, wrap} }

type wrapFS struct {
	vfs.FS
	wrap func(vfs.File) vfs.File
}

// Unwrap returns the wrapped FS (for vfs.Root).
func (fs wrapFS) Unwrap() vfs.FS { return fs.FS }

// Create creates the named file, wrapping a WAL file.
func (fs wrapFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wal(f, category, err)
}

// ReuseForWrite reuses a recycled file, wrapping a WAL file.
func (fs wrapFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wal(f, category, err)
}

func (fs wrapFS) wal(f vfs.File, category vfs.DiskWriteCategory, err error) (vfs.File, error) {
	if err != nil || category != Category {
		return f, err
	}
	return fs.wrap(f), nil
}
