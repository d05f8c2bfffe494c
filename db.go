package zkembed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/watch"
	"github.com/zkembed/zkembed/znode"
)

// DB is an engine: a znode tree with sessions, zxids and a transaction log.
// It is safe for concurrent use by any number of goroutines and sessions.
//
// Writes go through the commit pipeline described in commit.go: serial
// validation and apply under DB.mu in the caller's goroutine, then group
// commit to the log. Readers atomically load the read root, an immutable
// snapshot of the tree, and never see a change before the log has it.
type DB struct {
	opts   Options
	layout znode.Layout
	clock  clock.Clock
	steady clock.Steady // clock, if it is Steady (steadyMillis)
	// auth holds the authentication schemes sessions use.
	auth *acl.Authorizer
	log  txnlog.Log
	fs   vfs.FS // the data directory's filesystem; nil in memory
	dir  string // the data directory; "" in memory

	// recovery says what Open restored.
	recovery Recovery

	// root is the published read root: an immutable snapshot of the tree.
	root atomic.Pointer[tree.Tree]
	// stale is set, without a log, when the working tree has changes root
	// lacks. It is set and cleared under mu; readers load it without it.
	stale atomic.Bool
	// With a log (see "Read roots" in commit.go): shown is the zxid of the
	// last record dispatched, which every read must see; unshown are the
	// records dispatched since root was taken (guarded by watchMu); and
	// readSeen is set by readers, telling sync leaders to publish roots.
	shown    atomic.Uint64
	unshown  []*txn.Txn
	readSeen atomic.Bool
	// showErr is set if a record failed to apply to a copy of the read
	// root (a bug: it applied to the working tree); guarded by watchMu.
	showErr error
	// rootWindow and maxUnshown tune when sync leaders publish roots
	// (defaultRootWindow, defaultMaxUnshown); tests change them.
	rootWindow, maxUnshown int
	// sync is the group commit's state (with a log).
	sync syncState
	// combine queues writes for the combiner (see combineWrites).
	combine combineQueue

	// timers counts armed timer callbacks (expiry, reaping) that have not
	// finished; Close waits for it.
	timers sync.WaitGroup
	// background counts snapshot writers; Close waits for them.
	background sync.WaitGroup
	// snapshotMu serializes snapshot writing, pruning and log truncation.
	snapshotMu sync.Mutex
	// closeDone is closed when Close has finished.
	closeDone chan struct{}

	// watchMu orders registering reads with dispatch and publication (see
	// watches.go) and guards watches.
	watchMu sync.Mutex
	watches *watch.Registry
	// watchers are the sessions with watches or a stream, for the READ
	// check on delivery.
	watchers map[int64]*sessionState
	// sinks holds, for each open session attached to a wire connection,
	// the handle of the connection last attached (server.go's attachConn
	// and detachConn; an entry goes when its session ends).
	sinks map[int64]*Session
	// registering counts registrations under way; watching is set while
	// the registry has watches or streams. Without a log, writers keep
	// their events only if either says someone may want them.
	registering atomic.Int64
	watching    atomic.Bool
	// eventsWaiting is set, without a log, while mu.events holds events.
	eventsWaiting atomic.Bool
	// watchStop stops the goroutines of slow watch consumers at Close;
	// watchWG counts them.
	watchStop chan struct{}
	watchWG   sync.WaitGroup
	// emit is emitLocked, tree.Apply's event callback.
	emit tree.Emit

	mu struct {
		sync.Mutex
		closed bool
		// failed is the storage error that stopped writes, if any.
		failed error
		// working is the writable tree. It runs ahead of root by the
		// records in pending (and, without a log, until a reader publishes).
		working *tree.Tree
		// pending are the records applied to working but not yet handed
		// to the log, in zxid order.
		pending []*txn.Txn
		// lastBatch is the number of records in the last batch cut: about
		// the writers its sync wakes (see Waiting for stragglers).
		lastBatch int
		// events are the watch events of records applied to working and
		// not yet visible, in order (see watches.go).
		events []notice
		// replaying is set while Open replays the log: no events then.
		replaying bool
		// sessions holds every open session, including those being closed.
		sessions map[int64]*sessionState
		// nextSession is the id the next session gets.
		nextSession int64
		expiry      expiryQueue
		reaper      clock.Timer
		// rootBatches counts the batches still to be published as read
		// roots since a reader was last seen; sinceRoot and
		// sinceRootBytes count the changes cut since the last one was,
		// and their bytes (see rootWantedLocked).
		rootBatches, sinceRoot, sinceRootBytes int
		// sinceSnapshot counts records logged since the last snapshot was
		// taken; snapshotting is set while one is being written.
		sinceSnapshot int
		snapshotting  bool
		// snapshotErr is the last background snapshot failure.
		snapshotErr error
		// lastSnapshotSize is the size of the newest snapshot written or
		// loaded (0: none yet), and lastAutoSnapshot when the last
		// automatic one was taken (or the engine opened): what the pace of
		// the next automatic snapshot is worked out from (snapshotPace).
		lastSnapshotSize int64
		lastAutoSnapshot time.Time
	}
}

// follows reports whether record x may follow zxid last in a log: by one,
// or, for an epoch record, at counter 0 of the next epoch once the counter
// is spent. (The layout of a data directory is recorded in its FORMAT file;
// a custom Options.Log must be reopened with the ZxidCounterBits it was
// written with, or its epoch records read as gaps.)
func (db *DB) follows(x *txn.Txn, last znode.Zxid) bool {
	if x.Ops[0].Type != txn.TypeEpoch {
		return x.Zxid == last+1
	}
	return db.layout.Counter(last) >= db.layout.MaxCounter()-1 &&
		x.Zxid == db.layout.Make(db.layout.Epoch(last)+1, 0) && x.Ops[0].Epoch == db.layout.Epoch(x.Zxid)
}

// Recovery says what Open restored.
type Recovery struct {
	// SnapshotZxid is the zxid of the snapshot Open started from; 0 if it
	// started from an empty tree.
	SnapshotZxid Zxid
	// SkippedSnapshots are the errors of newer snapshots that were corrupt
	// and skipped in favour of an older one and a longer log.
	SkippedSnapshots []error
	// Replayed is the number of log records replayed after the snapshot.
	Replayed int
	// WALTail is where replay of the newest write-ahead log stopped, with
	// the bytes after it that the log dropped: a write torn by a crash
	// (never acknowledged) or the leftovers of a recycled WAL file, and the
	// zeros ending the file (normally preallocated space). See
	// txnlog.WALTail.
	// Zero for a log other than Open's.
	WALTail txnlog.WALTail
}

// Recovery reports what Open restored.
func (db *DB) Recovery() Recovery { return db.recovery }

// Open opens an engine. dir is the data directory, created if missing; its
// transaction log lives in dir/txnlog. "" keeps everything in memory. A nil
// opts means defaults. Open replays the log it finds (or opts.Log) and
// fails with an error wrapping ErrDataInconsistency if the log has a gap.
func Open(dir string, opts *Options) (*DB, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if o.Log != nil {
			return nil, optionError("Log", "set", "must be nil when Open is given a data directory")
		}
		if o.FS == nil {
			o.FS = vfs.Default
		}
		logDir := filepath.Join(dir, "txnlog")
		for _, d := range []string{logDir, filepath.Join(dir, "snapshots")} {
			if err := mkdirAllSynced(o.FS, d); err != nil {
				return nil, fmt.Errorf("zkembed: open %s: %w", dir, err)
			}
		}

		l, err := txnlog.OpenPebble(logDir, &txnlog.PebbleOptions{FS: o.FS, NoSync: o.NoSync, Logger: storageLogger{}})
		if err != nil {
			return nil, fmt.Errorf("zkembed: open %s: %w", dir, err)
		}
		o.Log = l
		// Under the log's lock, so that no other process races to create
		// the directory with another layout.
		explicit := opts != nil && opts.ZxidCounterBits != 0
		if o.ZxidCounterBits, err = dirFormat(o.FS, dir, o.ZxidCounterBits, explicit); err != nil {
			l.Close()
			return nil, fmt.Errorf("zkembed: open %s: %w", dir, err)
		}
	}
	db, err := open(o, dir)
	if err != nil && dir != "" {
		o.Log.Close()
	}
	return db, err
}

func open(o Options, dir string) (*DB, error) {
	steady, _ := o.Clock.(clock.Steady)
	db := &DB{
		opts:   o,
		layout: znode.Layout{CounterBits: uint(o.ZxidCounterBits)},
		clock:  o.Clock,
		steady: steady,
		log:    o.Log,
		auth:   o.auth,
		dir:    dir,

		closeDone: make(chan struct{}),
		watchStop: make(chan struct{}),

		rootWindow: defaultRootWindow,
		maxUnshown: defaultMaxUnshown,
	}
	db.watches = watch.NewRegistry(o.WatchBacklog, db.watchStop, &db.watchWG)
	db.watchers = map[int64]*sessionState{}
	db.sinks = map[int64]*Session{}
	db.emit = db.emitLocked // once: a method value allocates
	if dir != "" {
		db.fs = o.FS // Open defaulted it
	}
	db.sync.cond.L = &db.sync.mu
	db.mu.working = tree.New()
	db.mu.sessions = map[int64]*sessionState{}
	db.mu.expiry.init()
	db.mu.nextSession = db.firstSessionID()
	if db.log != nil {
		// Every logged record carries the tree digest after it.
		db.mu.working.TrackDigest()
		if err := db.recover(); err != nil {
			db.mu.Lock()
			db.mu.expiry.stop(db) // sessions resumed before the failure armed it
			db.mu.Unlock()
			db.timers.Wait()
			return nil, err
		}
	}
	db.publishLocked()
	db.armReaperLocked()
	return db, nil
}

// recover replays the log into the empty engine. Sessions it restores
// belong to a previous process, and their kind decides what becomes of
// them. A remote session (opened by a wire client) is resumed: like
// ZooKeeper after a restart, it gets a full timeout for its client to
// reconnect. An in-process session (DB.NewSession) can never be reclaimed,
// its process being gone: it is closed now by a logged closeSession that
// deletes its ephemerals. So is a session of unknown kind (logged before
// kinds were), unless Options.ResumeSessions, which resumes in-process
// sessions and those of unknown kind too.
func (db *DB) recover() error {
	db.mu.Lock()
	db.mu.lastAutoSnapshot = time.Now()
	err := db.recoverLocked()
	last := db.mu.working.Zxid()
	db.mu.Unlock()
	if err != nil {
		return err
	}
	return db.awaitDurable(last)
}

// recoverLocked loads the newest usable snapshot (with a data directory),
// replays the log after it, and resumes or closes the restored sessions.
// REQUIRES: db.mu held.
func (db *DB) recoverLocked() error {
	var start znode.Zxid
	if db.dir != "" {
		var err error
		if start, db.recovery.SkippedSnapshots, err = db.loadSnapshot(); err != nil {
			return fmt.Errorf("zkembed: load snapshot: %w", err)
		}
		db.recovery.SnapshotZxid = start
		if p, ok := db.log.(interface{ WALTail() txnlog.WALTail }); ok {
			db.recovery.WALTail = p.WALTail()
			if tail := db.recovery.WALTail; tail.Dropped > 0 {
				log.Printf("zkembed: open %s: the log dropped %d bytes after offset %d of %s (an unacknowledged write torn by a crash, or a recycled WAL's leftovers)",
					db.dir, tail.Dropped, tail.Offset, tail.File)
			}
		}
		if first, ok := db.log.(interface{ First() (znode.Zxid, error) }); ok {
			z, err := first.First()
			if err != nil {
				return fmt.Errorf("zkembed: read log: %w", err)
			}
			if z > start+1 {
				return fmt.Errorf("zkembed: the log starts at %v but the newest usable snapshot is at %v: %w", z, start, znode.ErrDataInconsistency)
			}
		}
	}
	db.mu.replaying = true
	defer func() { db.mu.replaying = false }()
	err := db.log.Replay(start, func(x *txn.Txn) error {
		db.recovery.Replayed++
		if len(x.Ops) == 0 {
			return fmt.Errorf("%w: record %v has no ops", znode.ErrDataInconsistency, x.Zxid)
		}
		if last := db.mu.working.Zxid(); last != 0 && !db.follows(x, last) {
			return fmt.Errorf("%w: zxid gap: %v follows %v", znode.ErrDataInconsistency, x.Zxid, last)
		}
		if err := db.applyLocked(x); err != nil {
			return err
		}
		if d, _ := db.mu.working.Digest(); x.HasDigest && d != x.Digest {
			return fmt.Errorf("%w: after %v the tree digest is %#016x, the log says %#016x", znode.ErrDataInconsistency, x.Zxid, d, x.Digest)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("zkembed: replay: %w", err)
	}
	db.sync.durable = db.mu.working.Zxid()
	for _, id := range sortedSessionIDs(db.mu.sessions) {
		st := db.mu.sessions[id]
		if st.kind == txn.SessionRemote || db.opts.ResumeSessions {
			db.touchAndQueueLocked(st)
		} else if err := db.closeSessionLocked(st, "closeSession"); err != nil {
			return err
		}
	}
	return nil
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
		<-db.closeDone // a concurrent Close returns when the first one has
		return nil
	}
	db.mu.closed = true
	defer close(db.closeDone)
	db.mu.expiry.stop(db)
	if db.mu.reaper != nil && db.mu.reaper.Stop() {
		db.timers.Done()
	}
	for _, s := range db.mu.sessions {
		s.closing.Store(true)
		s.end()
	}
	last := db.mu.working.Zxid()
	db.mu.Unlock()
	db.timers.Wait()
	// Writes that were applied before Close are made durable (their
	// callers are waiting for exactly that); a failure here was already
	// reported to them.
	_ = db.awaitDurable(last)
	db.background.Wait()
	// Every remaining watch and stream ends; then the goroutines of
	// consumers that stopped reading give up.
	db.watchMu.Lock()
	for _, id := range db.watches.Sessions() {
		db.watches.EndSession(id, znode.StateClosed)
	}
	db.watching.Store(false)
	db.watchMu.Unlock()
	close(db.watchStop)
	db.watchWG.Wait()
	if db.log != nil {
		return db.log.Close()
	}
	return nil
}

// LastZxid returns the zxid of the last published transaction.
func (db *DB) LastZxid() Zxid { return db.readRoot().Zxid() }

// Check verifies the engine's invariants: the tree's (tree.Check), the read
// root equals the working tree, and every ephemeral node belongs to an open
// session. Tests call it at cleanup.
func (db *DB) Check() error {
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	w := db.mu.working
	errs := []error{w.Check()}
	if db.stale.Load() {
		db.publishLocked()
	}
	if db.log != nil {
		db.showLocked()
	}
	if db.showErr != nil {
		errs = append(errs, db.showErr)
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
// (tree.Dump) and the open sessions with their timeouts and kinds. Two
// engines that received the same calls on the same virtual clock and seed
// dump the same bytes.
func (db *DB) Dump(w io.Writer) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.mu.working.Dump(w); err != nil {
		return err
	}
	for _, id := range sortedSessionIDs(db.mu.sessions) {
		s := db.mu.sessions[id]
		if _, err := fmt.Fprintf(w, "session %#x timeout=%v kind=%v\n", id, s.timeout, s.kind); err != nil {
			return err
		}
	}
	return nil
}
