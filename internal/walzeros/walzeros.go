// Package walzeros is a filesystem for crash tests: a write-ahead log
// file written through it always has zeros after its data, as a WAL file
// preallocated at its full size on a real disk does (txnlog preallocates
// with fallocate mode 0 on Linux). Pebble's in-memory filesystem, on which
// the crash tests run, has no preallocation, so without this wrapper no
// crash test would see a WAL that ends in zeros.
//
// After each write to a WAL file, if fewer than MinTail zero bytes follow
// the write position, the file is extended with zeros to MaxTail bytes
// past it (a write at the file's end, unsynced like any other: a crash may
// keep it or not, as it may keep a real file's new size or not). Pebble's
// next writes overwrite the zeros in place. Errors extending the file are
// ignored, as pebble ignores preallocation errors.
package walzeros

import (
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/internal/walfs"
)

// Tail sizes: small beside pebble's 4.4 MiB preallocation, because the
// in-memory filesystem copies a whole file on every sync.
const (
	MinTail = 4 << 10
	MaxTail = 32 << 10
)

// Wrap returns fs with zero tails on its WAL files.
func Wrap(fs vfs.FS) vfs.FS {
	return walfs.Wrap(fs, func(f vfs.File) vfs.File {
		st, err := f.Stat()
		if err != nil {
			return f
		}
		return &zerosFile{File: f, size: st.Size()}
	})
}

// zerosFile tracks the write position (pebble writes a WAL sequentially,
// from offset 0) and the file's size, which only it and Write change.
type zerosFile struct {
	vfs.File
	pos, size int64
}

// Write writes p at the write position, then extends the zero tail.
func (f *zerosFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.pos += int64(n)
	f.size = max(f.size, f.pos)
	if err == nil && f.size-f.pos < MinTail {
		zeros := make([]byte, f.pos+MaxTail-f.size)
		if m, werr := f.File.WriteAt(zeros, f.size); werr == nil {
			f.size += int64(m)
		}
	}
	return n, err
}
