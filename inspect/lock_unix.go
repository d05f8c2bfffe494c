//go:build unix

package inspect

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockDir takes the flock the engine takes on dir/zkembed.lock (see package
// txnlog): exclusive as an engine, or shared, which conflicts with an
// engine but not with other shared holders. A shared lock on a directory
// without the file takes nothing rather than create it; pebble's LOCK still
// excludes an engine then.
func lockDir(dir string, exclusive bool) (io.Closer, error) {
	name := filepath.Join(dir, lockFile)
	flag, how := os.O_RDONLY, syscall.LOCK_SH
	if exclusive {
		flag, how = os.O_RDWR|os.O_CREATE, syscall.LOCK_EX
	}
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		if !exclusive && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: a running zkembed holds %s (flock: %v)", ErrLocked, name, err)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return f, nil
}

// isLockError reports pebble's lock conflicts: fcntl's errors, or its
// in-process table's, which carries no errno.
func isLockError(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "lock held by current process")
}
