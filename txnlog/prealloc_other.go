//go:build !linux

package txnlog

import "errors"

// fallocateSized is not available here: WALs keep pebble's own
// preallocation.
func fallocateSized(uintptr, int64, int64) error {
	return errors.ErrUnsupported
}
