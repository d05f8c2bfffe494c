//go:build !unix

package txnlog

import (
	"errors"
	"io"
	"syscall"
)

// lockDir relies on pebble's LOCK alone outside unix.
func lockDir(dir string) (io.Closer, error) { return nil, nil }

func isLockError(err error) bool {
	return errors.Is(err, syscall.EACCES) || containsLockHeld(err)
}
