// Package txnlog stores transaction records in zxid order and gives them
// back for replay.
//
// Log is the contract the engine writes through: Append returns only when
// the records are as durable as the backend can make them, records come back
// from Replay exactly as appended and in zxid order, and zxids are strictly
// increasing. Mem keeps records in memory (for tests, simulations and
// engines without a directory); Pebble keeps them in a pebble v2 database.
//
// # Pebble
//
// Each record is one key, its zxid as 8 bytes big-endian, whose value is
// txn.Encode of the record; an Append is one pebble batch committed with
// pebble.Sync. The database is created with pebble.FormatNewest (WAL sync
// chunks detect more WAL corruption than older formats). Replay decodes
// every value and stops with an error wrapping txn.ErrCorrupt at the first
// one that does not decode or whose zxid is not its key's: a record is
// never skipped.
//
// A directory is used by one Pebble at a time. Pebble's own LOCK is an
// fcntl lock plus an in-process table keyed by the path as spelled, so a
// second open in the same process through a symlink succeeds; on the
// operating system's filesystem OpenPebble therefore also takes a flock on
// zkembed.lock, which conflicts across processes and within one.
//
// # Fatal errors
//
// Pebble does not return some storage errors: a failed WAL write or sync
// makes it call Logger.Fatalf in the goroutine that committed, and a failed
// MANIFEST write calls Fatalf from a background goroutine. Pebble's default
// logger then calls os.Exit(1). Nor could pebble carry on if Fatalf simply
// returned: a batch whose WAL write failed stays at the head of its commit
// queue, so later commits may wait forever.
//
// OpenPebble gives pebble a logger of its own. Its Fatalf records the error
// (Err returns it) and calls runtime.Goexit, which stops only the calling
// goroutine and runs its deferred calls. So that this goroutine is never
// the caller's, every pebble call that may reach Fatalf in the calling
// goroutine (Open, batch commits, Close) runs in a goroutine of its own,
// whose deferred function turns the Goexit (or a panic) into the error. The
// caller waits for that goroutine or for the fatal error, whichever comes
// first, so an Append wedged behind a failed batch returns as well. From
// then on the log is failed: every call returns the error (it matches
// ErrFailed and znode.ErrSystemError, and unwraps to pebble's error, e.g.
// syscall.EIO) and the outcome of the Appends that were in flight is
// unknown. Goroutines left wedged inside pebble are leaked. Close gives
// pebble's Close 5 seconds; if it finishes, the directory can be reopened,
// and reopening replays the WAL, which may hold the failed record (a failed
// fsync does not mean the bytes are not in the file). If it does not, the
// database is abandoned with its locks held: restart the process.
//
// A background goroutine stopped by Goexit may hold pebble's mutex; the
// process lives, but the database is then unusable until the process
// restarts. Reads (Replay, Last, First) run in the caller's goroutine: pebble
// reports read I/O errors as errors and calls Fatalf there only for internal
// invariant violations.
package txnlog

import (
	"fmt"
	"sort"
	"sync"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// Log is an ordered store of transaction records.
type Log interface {
	// Append stores records, whose zxids must be strictly increasing and
	// above every stored zxid. The records must not be modified afterwards.
	// Append must not keep the records slice itself once it returns (the
	// engine reuses it); it may keep the records it points to.
	Append(records ...*txn.Txn) error
	// Replay calls fn with every record whose zxid is above after, in zxid
	// order, stopping at the first error fn returns.
	Replay(after znode.Zxid, fn func(*txn.Txn) error) error
	// Close releases the log.
	Close() error
}

// Mem is a Log in memory. It is safe for concurrent use.
type Mem struct {
	mu      sync.Mutex
	records []*txn.Txn
}

// NewMem returns an empty in-memory log.
func NewMem() *Mem { return &Mem{} }

// Append implements Log.
func (m *Mem) Append(records ...*txn.Txn) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// All or nothing, as Pebble's one batch: check every record first.
	var last znode.Zxid
	if n := len(m.records); n > 0 {
		last = m.records[n-1].Zxid
	}
	for _, r := range records {
		if r.Zxid <= last {
			return fmt.Errorf("txnlog: append %v after %v: %w", r.Zxid, last, znode.ErrDataInconsistency)
		}
		last = r.Zxid
	}
	m.records = append(m.records, records...)
	return nil
}

// Replay implements Log.
func (m *Mem) Replay(after znode.Zxid, fn func(*txn.Txn) error) error {
	m.mu.Lock()
	i := sort.Search(len(m.records), func(i int) bool { return m.records[i].Zxid > after })
	records := m.records[i:len(m.records):len(m.records)]
	m.mu.Unlock()
	for _, r := range records {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Records returns the stored records in order. The slice is a copy; the
// records are shared and must not be modified.
func (m *Mem) Records() []*txn.Txn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*txn.Txn(nil), m.records...)
}

// Close implements Log; a Mem keeps its records and can be reopened.
func (m *Mem) Close() error { return nil }
