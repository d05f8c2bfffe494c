package zkembed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/znode"
)

// DB is an engine: a znode tree with sessions, zxids and a transaction log.
// It is safe for concurrent use by any number of goroutines and sessions.
//
// The write path is a serial pipeline under DB.mu, run by the caller's
// goroutine (like pebble's commit pipeline, there is no hand-off to another
// goroutine): validate against the working tree, assign the next zxid, append
// the record to the log, apply it to the working tree with the same function
// replay uses, and mark the read root stale. Readers atomically load the
// read root; the first reader to find it stale publishes an O(1) snapshot of
// the working tree under DB.mu, so a burst of writes costs one snapshot, not
// one each (after a snapshot, the next write must clone its B-tree path).
// Readers never see a change before the log has it, and every write that
// returned is visible to every read that starts after it.
type DB struct {
	opts   Options
	layout znode.Layout
	clock  clock.Clock
	log    txnlog.Log

	// root is the published read root: an immutable snapshot of the tree.
	root atomic.Pointer[tree.Tree]
	// stale is set when the working tree has changes root lacks. It is set
	// and cleared under mu; readers load it without the lock.
	stale atomic.Bool

	// timers counts armed timer callbacks (expiry, reaping) that have not
	// finished; Close waits for it.
	timers sync.WaitGroup

	mu struct {
		sync.Mutex
		closed bool
		// working is the writable tree; it runs ahead of root only inside
		// a commit.
		working *tree.Tree
		// sessions holds every open session, including those being closed.
		sessions map[int64]*sessionState
		// nextSession is the id the next session gets.
		nextSession int64
		expiry      expiryQueue
		reaper      clock.Timer
	}
}

// Open opens an engine. dir is the data directory; "" keeps everything in
// memory (durable storage on disk comes with the pebble log). A nil opts
// means defaults. If opts.Log holds records, Open replays them.
func Open(dir string, opts *Options) (*DB, error) {
	if dir != "" {
		return nil, fmt.Errorf("zkembed: open %s: durable storage is not implemented yet: %w", dir, ErrUnimplemented)
	}
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	db := &DB{
		opts:   o,
		layout: znode.Layout{CounterBits: uint(o.ZxidCounterBits)},
		clock:  o.Clock,
		log:    o.Log,
	}
	db.mu.working = tree.New()
	db.mu.sessions = map[int64]*sessionState{}
	db.mu.expiry.init()
	db.mu.nextSession = db.firstSessionID()
	if db.log != nil {
		err := db.log.Replay(0, func(x *txn.Txn) error { return db.applyLocked(x) })
		if err != nil {
			return nil, fmt.Errorf("zkembed: replay: %w", err)
		}
		// Sessions restored from the log have no client yet: like ZooKeeper
		// after a restart, each gets a full timeout to come back.
		for _, id := range sortedSessionIDs(db.mu.sessions) {
			db.touchAndQueueLocked(db.mu.sessions[id])
		}
	}
	db.publishLocked()
	db.armReaperLocked()
	return db, nil
}

// firstSessionID picks the first session id. Like ZooKeeper's
// SessionTrackerImpl.initializeNextSessionId, the top byte is the server id
// (1) and bits 55..16 vary; they come from the seed, or from the clock.
func (db *DB) firstSessionID() int64 {
	var bits uint64
	if db.opts.Seed != 0 {
		bits = rand.New(rand.NewPCG(db.opts.Seed, 0x5a4b454d)).Uint64()
	} else {
		bits = uint64(db.clock.Now().UnixMilli())
	}
	return int64(1<<56 | (bits&(1<<40-1))<<16)
}

// Close closes the engine: every session ends without a transaction (as if
// the server stopped), timers stop, and later calls fail with ErrClosed.
// No goroutine of the engine is left running when Close returns.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return nil
	}
	db.mu.closed = true
	db.mu.expiry.stop(db)
	if db.mu.reaper != nil && db.mu.reaper.Stop() {
		db.timers.Done()
	}
	for _, s := range db.mu.sessions {
		s.closing.Store(true)
	}
	db.mu.Unlock()
	db.timers.Wait()
	if db.log != nil {
		return db.log.Close()
	}
	return nil
}

// LastZxid returns the zxid of the last published transaction.
func (db *DB) LastZxid() Zxid { return db.readRoot().Zxid() }

// readRoot returns the read root, publishing the working tree first if it
// has changes the root lacks. Seeing stale false guarantees the root holds
// every write that returned before: the publisher stores root before it
// clears stale, and writers set stale before they return.
func (db *DB) readRoot() *tree.Tree {
	if db.stale.Load() {
		db.mu.Lock()
		if db.stale.Load() {
			db.publishLocked()
		}
		db.mu.Unlock()
	}
	return db.root.Load()
}

// nowMillis reads the clock in ms since the Unix epoch.
func (db *DB) nowMillis() int64 { return db.clock.Now().UnixMilli() }

// commitOneLocked commits a single-op transaction; the record and its op
// share one allocation. REQUIRES: db.mu held.
func (db *DB) commitOneLocked(session int64, now int64, op txn.Op) (*txn.Txn, error) {
	rec := &struct {
		txn.Txn
		op [1]txn.Op
	}{}
	rec.op[0] = op
	rec.Txn = txn.Txn{Time: now, Session: session, Ops: rec.op[:]}
	return &rec.Txn, db.commitTxnLocked(&rec.Txn)
}

// commitLocked commits ops as one transaction (a multi if multi is set).
// REQUIRES: db.mu held.
func (db *DB) commitLocked(session int64, now int64, multi bool, ops []txn.Op) (*txn.Txn, error) {
	x := &txn.Txn{Time: now, Session: session, Multi: multi, Ops: ops}
	return x, db.commitTxnLocked(x)
}

// commitTxnLocked runs the commit pipeline for a record whose ops the caller
// prepared against db.mu.working: it assigns the next zxid, logs, applies,
// and marks the read root stale. The ops must be valid (they were validated
// against the working tree under the same lock). REQUIRES: db.mu held.
func (db *DB) commitTxnLocked(x *txn.Txn) error {
	if err := db.rollEpochIfSpentLocked(x.Time); err != nil {
		return err
	}
	x.Zxid = db.mu.working.Zxid() + 1
	if err := db.logAndApplyLocked(x); err != nil {
		return err
	}
	db.stale.Store(true)
	return nil
}

// rollEpochIfSpentLocked starts the next epoch when the last zxid used the
// counter's last usable value (or more, for a log written with a wider
// counter), so that the next zxid is counter 1 of the new epoch. It runs
// before a transaction is given its zxid, so a failure leaves nothing
// half-done. REQUIRES: db.mu held.
func (db *DB) rollEpochIfSpentLocked(now int64) error {
	last := db.mu.working.Zxid()
	if last == 0 || db.layout.Counter(last) < db.layout.MaxCounter()-1 {
		return nil
	}
	if err := db.startEpochLocked(now); err != nil {
		return err
	}
	db.stale.Store(true)
	return nil
}

// publishLocked makes the working tree the read root. REQUIRES: db.mu held.
func (db *DB) publishLocked() {
	db.root.Store(db.mu.working.Snapshot())
	db.stale.Store(false)
}

// startEpochLocked logs an epoch record at counter 0 of the next epoch.
// zkembed's deliberate difference from ZooKeeper: where a quorum leader
// would force an election (and lose the request), the engine goes on.
func (db *DB) startEpochLocked(now int64) error {
	epoch := db.layout.Epoch(db.mu.working.Zxid()) + 1
	if epoch > db.layout.MaxEpoch() {
		return fmt.Errorf("zkembed: zxid epochs exhausted at %v: %w", db.mu.working.Zxid(), znode.ErrSystemError)
	}
	x := &txn.Txn{Zxid: db.layout.Make(epoch, 0), Time: now, Ops: []txn.Op{{Type: txn.TypeEpoch, Epoch: epoch}}}
	return db.logAndApplyLocked(x)
}

func (db *DB) logAndApplyLocked(x *txn.Txn) error {
	if db.log != nil {
		if err := db.log.Append(x); err != nil {
			return fmt.Errorf("zkembed: log %v: %w", x.Zxid, err)
		}
	}
	if err := db.applyLocked(x); err != nil {
		// The record was validated against this very tree, so this is a bug,
		// and the log now holds a record the tree lacks: stop writing.
		db.mu.closed = true
		return fmt.Errorf("zkembed: apply %v (engine stopped): %w", x.Zxid, err)
	}
	return nil
}

// applyLocked is the one function that changes state, live and in replay:
// the tree through tree.Apply, the session table through the session ops.
// REQUIRES: db.mu held.
func (db *DB) applyLocked(x *txn.Txn) error {
	if err := db.mu.working.Apply(x, nil); err != nil {
		return err
	}
	for i := range x.Ops {
		op := &x.Ops[i]
		switch op.Type {
		case txn.TypeCreateSession:
			s := newSessionState(op.Session, op.Timeout)
			db.mu.sessions[op.Session] = s
			if op.Session >= db.mu.nextSession {
				db.mu.nextSession = op.Session + 1
			}
		case txn.TypeCloseSession:
			if s := db.mu.sessions[op.Session]; s != nil {
				s.closing.Store(true)
				delete(db.mu.sessions, op.Session)
			}
		}
	}
	return nil
}

// Check verifies the engine's invariants: the tree's (tree.Check), the read
// root equals the working tree, and every ephemeral node belongs to an open
// session. Tests call it at cleanup.
func (db *DB) Check() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	w := db.mu.working
	errs := []error{w.Check()}
	if db.stale.Load() {
		db.publishLocked()
	}
	if r := db.root.Load(); r.Zxid() != w.Zxid() || r.Len() != w.Len() {
		errs = append(errs, fmt.Errorf("read root at %v (%d nodes), working tree at %v (%d nodes)", r.Zxid(), r.Len(), w.Zxid(), w.Len()))
	}
	w.Walk(func(n *tree.Node) bool {
		if n.Kind() == znode.KindEphemeral && db.mu.sessions[n.Owner()] == nil {
			errs = append(errs, fmt.Errorf("%s: ephemeral of unknown session 0x%x", n.Path(), n.Owner()))
		}
		return true
	})
	return errors.Join(errs...)
}

// checkCtx returns ctx's error wrapped for op and path, or nil.
func checkCtx(ctx context.Context, op, path string) error {
	if err := ctx.Err(); err != nil {
		return &OpError{Op: op, Path: path, Err: err}
	}
	return nil
}

// Dump writes a canonical text form of the engine's state: the tree
// (tree.Dump) and the open sessions with their timeouts. Two engines that
// received the same calls on the same virtual clock and seed dump the same
// bytes.
func (db *DB) Dump(w io.Writer) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.mu.working.Dump(w); err != nil {
		return err
	}
	for _, id := range sortedSessionIDs(db.mu.sessions) {
		s := db.mu.sessions[id]
		if _, err := fmt.Fprintf(w, "session %#x timeout=%v\n", id, s.timeout); err != nil {
			return err
		}
	}
	return nil
}
