package txnlog

import "time"

// SetCloseTimeout sets how long Close waits for pebble after a fatal error
// and returns a function restoring the old value.
func SetCloseTimeout(d time.Duration) (restore func()) {
	old := closeTimeout
	closeTimeout = d
	return func() { closeTimeout = old }
}

// WALNumber is walNumber, for tests.
var WALNumber = walNumber
