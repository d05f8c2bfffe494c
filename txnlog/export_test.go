package txnlog

import (
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// SetCloseTimeout sets how long Close waits for pebble after a fatal error
// and returns a function restoring the old value.
func SetCloseTimeout(d time.Duration) (restore func()) {
	old := closeTimeout
	closeTimeout = d
	return func() { closeTimeout = old }
}

// WALNumber is walNumber of path's base name, for tests.
func WALNumber(path string) (uint64, bool) { return walNumber(vfs.Default.PathBase(path)) }

// FallocateSized is fallocateSized, for tests to probe the filesystem.
func FallocateSized(fd uintptr, offset, length int64) error {
	return fallocateSized(fd, offset, length)
}
