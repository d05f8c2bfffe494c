package zkembed

import (
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// The reaper is ZooKeeper's ContainerManager: every ContainerCheckInterval it
// deletes, each in its own deleteContainer transaction,
//   - containers without children that have had a child (stored
//     cversion > 0), or that never had one but whose mtime is older than
//     ContainerMaxNeverUsed (when that is set);
//   - TTL nodes without children whose mtime is more than their TTL ago.
//
// Unlike ZooKeeper it does not space deletions by
// znode.container.maxPerMinute: the engine does them in one pass under the
// write lock, where they cost microseconds.

// armReaperLocked schedules the next reaping pass. REQUIRES: db.mu held.
func (db *DB) armReaperLocked() {
	db.timers.Add(1)
	db.mu.reaper = db.clock.AfterFunc(db.opts.ContainerCheckInterval, db.reap)
}

func (db *DB) reap() {
	defer db.timers.Done()
	_ = db.update("deleteContainer", "", func() error {
		if db.mu.closed {
			return nil
		}
		_, err := db.reapLocked()
		db.armReaperLocked()
		return err
	})
}

// ReapNow runs a reaping pass at once, as the timer would, and returns how
// many nodes it deleted.
func (db *DB) ReapNow() (int, error) {
	var n int
	err := db.update("deleteContainer", "", func() error {
		if db.mu.closed {
			return &OpError{Op: "reap", Err: ErrClosed}
		}
		var err error
		n, err = db.reapLocked()
		return err
	})
	return n, err
}

func (db *DB) reapLocked() (int, error) {
	now := db.nowMillis()
	var doomed []string
	db.mu.working.Timed(func(n *tree.Node) bool {
		if db.reapable(n, now) {
			doomed = append(doomed, n.Path())
		}
		return true
	})
	for i, path := range doomed {
		op := txn.Op{Type: txn.TypeDeleteContainer, Path: path}
		if err := db.commitOneLocked(0, now, op); err != nil {
			return i, &OpError{Op: "deleteContainer", Path: path, Err: err}
		}
	}
	return len(doomed), nil
}

func (db *DB) reapable(n *tree.Node, now int64) bool {
	if n.NumChildren() != 0 {
		return false
	}
	elapsed := now - n.Mtime()
	switch n.Kind() {
	case znode.KindContainer:
		if n.StoredCversion() > 0 {
			return true
		}
		never := db.opts.ContainerMaxNeverUsed.Milliseconds()
		return never > 0 && elapsed > never
	case znode.KindTTL:
		return elapsed > znode.TTLOf(n.Owner()).Milliseconds()
	}
	return false
}
