// Package txnlog stores transaction records in zxid order and gives them
// back for replay.
//
// Log is the contract the engine writes through: Append returns only when
// the records are as durable as the backend can make them, records come back
// from Replay exactly as appended and in zxid order, and zxids are strictly
// increasing. Mem keeps records in memory (for tests, simulations and
// engines without a directory); the pebble backend arrives with durable
// storage.
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
	for _, r := range records {
		if n := len(m.records); n > 0 && r.Zxid <= m.records[n-1].Zxid {
			return fmt.Errorf("txnlog: append %v after %v: %w", r.Zxid, m.records[n-1].Zxid, znode.ErrDataInconsistency)
		}
		m.records = append(m.records, r)
	}
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
