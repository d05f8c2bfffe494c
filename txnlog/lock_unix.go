//go:build unix

package txnlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is our own lock on a log directory on the operating system's
// filesystem, beside pebble's LOCK. Pebble's LOCK is an fcntl lock, which
// never conflicts within one process, plus an in-process table keyed by the
// path as spelled, so a second open of the same directory through another
// spelling ("d" and "./d", a symlink) in the same process succeeds. A flock
// lock belongs to the open file description and conflicts in both cases.
const lockFile = "zkembed.lock"

type dirLock struct{ f *os.File }

func (l dirLock) Close() error { return l.f.Close() }

func lockDir(dir string) (io.Closer, error) {
	name := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("txnlog: open %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked (flock): %v", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("txnlog: lock %s: %w", name, err)
	}
	return dirLock{f}, nil
}

func isLockError(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.EWOULDBLOCK) || containsLockHeld(err)
}
