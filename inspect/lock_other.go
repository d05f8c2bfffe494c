//go:build !unix

package inspect

import (
	"errors"
	"io"
	"strings"
	"syscall"
)

// lockDir relies on pebble's LOCK alone outside unix, as txnlog does.
func lockDir(dir string, exclusive bool) (io.Closer, error) { return nil, nil }

func isLockError(err error) bool {
	return errors.Is(err, syscall.EACCES) || strings.Contains(err.Error(), "lock held by current process")
}
