package zkembed

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// The commit pipeline.
//
// Every write runs, under DB.mu, as: validate against the working tree,
// assign the next zxid (starting a new epoch first if the counter is spent),
// apply the record to the working tree with applyLocked — the function
// replay uses — and queue it. What happens next depends on the log:
//
//   - No log (an in-memory engine): nothing to wait for. The write marks the
//     read root stale, and the first reader to notice publishes an O(1)
//     snapshot of the working tree, so a burst of writes costs one snapshot.
//
//   - A log: writes reach DB.mu through a combiner, one writer that runs
//     every queued write in one hold of the lock (see Combining below).
//     Each writer then waits until its zxid is durable (awaitWrite). One
//     waiter at a time is the sync leader: it takes every queued record
//     and, when readers want one, an O(1) snapshot of the working tree as
//     of the last of them (both under DB.mu, so they match), appends the
//     batch to the log in one synced write, and only then dispatches its
//     events, publishes the snapshot as the read root (see Read roots
//     below) and wakes the waiters. Writes keep arriving while a batch
//     syncs and form the next batch (group commit): durable throughput
//     approaches the fsync rate times the batch size.
//
// A reply, and the visibility of its write to readers, therefore always
// comes after durability. If an append fails, the engine stops accepting
// writes (ErrFailed): the working tree holds records the log may lack, so no
// later write may be validated against it. Reads go on, and see every
// record that made it to the log.

// syncState is the group commit's state, guarded by its own mutex (but for
// the leader's spare slices): waiters must not hold DB.mu while a batch
// syncs. Lock order: DB.mu, then sync.mu.
type syncState struct {
	mu      sync.Mutex
	cond    sync.Cond
	leading bool       // a leader is appending a batch
	durable znode.Zxid // every record up to here is in the log
	err     error      // the append failure that stopped the engine

	// The leader's emptied record and event slices, handed back to DB.mu
	// for the next batch: without them every batch would regrow both from
	// nothing, a few allocations per record. Not guarded by mu: only the
	// sync leader (leading set) touches them.
	spareBatch  []*txn.Txn
	spareEvents []notice
}

// maxSpare bounds the slices a leader keeps for the next batch, so that one
// huge batch (a closeSession of a session with 100k ephemerals emits 200k
// events) does not pin its memory for the life of the engine.
const maxSpare = 4096

// ErrFailed is returned for writes once the engine has stopped accepting
// them after a storage failure. It wraps ErrConnectionLoss: as with a lost
// connection to ZooKeeper, a write that got it may or may not have happened.
var ErrFailed error = failedError{}

type failedError struct{}

func (failedError) Error() string { return "engine stopped writing after a storage failure" }
func (failedError) Unwrap() error { return znode.ErrConnectionLoss }

// update runs f under DB.mu and then waits until the working tree f saw is
// durable — also when f failed: a validation error (NodeExists, BadVersion,
// ...) is an answer about that tree, which may hold records still on their
// way to the log, and no answer may reveal what could yet be lost. If the
// wait fails, the answer is ErrFailed instead, wrapped for op and path.
//
// With a log, f may run on another writer's goroutine (see Combining).
func (db *DB) update(op, path string, f func() error) error {
	if db.log == nil {
		db.mu.Lock()
		err := f()
		db.mu.Unlock()
		db.flushEvents()
		return err
	}
	w := &write{f: f}
	if db.combine.add(w) {
		// The combiner waits for every write it ran, its own last or not
		// (its own may even have failed against a durable tree): their
		// writers only wait, so this wait must lead the batch they need.
		// Waiting past its own record delays its reply by nothing: all
		// of them were applied in one hold of DB.mu, so one batch holds them.
		w.last = db.combineWrites()
		w.combined = true
	}
	if werr := db.awaitWrite(w); werr != nil {
		return &OpError{Op: op, Path: path, Err: werr}
	}
	return w.err
}

// Combining.
//
// With a log, writers do not each take DB.mu. A writer queues its closure,
// and the writer that finds no one applying becomes the combiner: it takes
// DB.mu once and runs every queued closure, its own and those queued while
// it works, until the queue is empty; the others wait only for durability.
// Why: with 64 writers on 2 CPUs, each taking DB.mu in turn, the mutex's
// hand-offs (a parked goroutine woken per write) set the pace: writers
// waited 170 µs per write for mutexes and a durable create cost 26-29 µs
// of CPU; combined, 5-10 µs and 21-23 µs. The durable ratios to raw pebble
// rose at 16 sessions (setData 0.86-0.87 to 0.95-0.96 in two spells of
// the disk) and at 64 sessions in one spell of the two (BENCHMARKS.md,
// session 9).
//
// Order is unchanged: closures run one at a time under DB.mu, in queue
// order, and a writer's reply still waits for its zxid to be durable. A
// combiner cannot run forever: no batch can be cut while it holds DB.mu,
// so a writer it serves waits for a batch and cannot queue again; each
// concurrent writer adds at most one closure to a combiner's run. Except
// for writes that add no record (a failed validation, a closeSession of an
// ended session) while none is pending: they need no batch but the one in
// flight, if any, which can end during the run, so their writers may queue
// again; and except after a storage failure, when every writer gets
// ErrFailed at once. Such runs end when those writers stop, and a combiner
// never yields for them (see below).
//
// Waiting for stragglers. When a batch becomes durable its writers wake
// together, and in a closed loop each sends its next write at once; but on
// 2 CPUs they reach the queue one by one, each behind the others' wake-up,
// while a combiner applies what has arrived (~5 µs a create with 64
// sessions). A combiner that stopped at the first empty queue let the next
// sync leader cut a batch of the first few (the leader waits for DB.mu,
// not for writers): with 64 sessions, batches alternated between ~64
// records and fewer than 8, and half the fsyncs carried almost nothing. So
// a combiner whose queue empties before it has run as many writes as the
// last batch held yields its CPU (runtime.Gosched): writers ready to run
// then queue, and it goes on with them. A yield that brings none ends the
// run, and so does reaching that count. Measured in an engine-only loop
// (perf, session 12): average batch 27 -> 54-55 records at 64 sessions;
// with a yield at every run, 57 records, and creates/s 67-71k -> 89-91k
// at 64 sessions and 35-36k -> 56-57k at 16 (BENCHMARKS.md).
//
// The cost: Gosched puts the combiner at the back of the global run queue
// while it holds DB.mu, so when the caller's own goroutines keep both CPUs
// busy, the batch waits for them to take their turns. It is paid at most
// once per run when no straggler comes, never once a single writer's
// batches hold one record, and never before a record is pending. A yield
// at every run cost one writer beside two CPU-bound goroutines 93% of its
// writes (2.9k/s -> 0.2k/s); this rule, nothing measurable (2.4k and 2.0k/s
// against 2.6k and 1.8k/s without a yield, in turns).

// write is one closure passed to update, and its outcome.
type write struct {
	f        func() error
	err      error      // f's result
	last     znode.Zxid // the working tree's zxid after f
	applied  atomic.Bool
	combined bool // the caller combined: it ran other writers' closures
}

// run runs w's closure and records its outcome. REQUIRES: db.mu held.
// (A combiner then raises its own last to the last record it ran.)
func (w *write) run(db *DB) {
	w.err = w.f()
	w.last = db.mu.working.Zxid()
	w.applied.Store(true) // after err and last: awaitWrite reads them once it sees this
}

// combineQueue holds the writes waiting for a combiner.
type combineQueue struct {
	mu      sync.Mutex
	queue   []*write
	spare   []*write // the last emptied queue, reused
	running bool     // a combiner is running; false only with an empty queue
}

// add queues w and reports whether the caller must combine: no combiner
// was running.
func (q *combineQueue) add(w *write) (combine bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(q.queue, w)
	combine = !q.running
	q.running = true
	return combine
}

// take returns the queued writes, or nil when there are none; then, if
// last is set, it marks the combiner done (under one lock, so no write is
// left behind).
func (q *combineQueue) take(last bool) []*write {
	q.mu.Lock()
	defer q.mu.Unlock()
	ws := q.queue
	if len(ws) == 0 {
		if last {
			q.running = false
		}
		return nil
	}
	q.queue, q.spare = q.spare, nil
	return ws
}

// recycle hands an emptied queue back for reuse, unless it grew too large.
func (q *combineQueue) recycle(ws []*write) {
	clear(ws) // a spare must not keep closures alive
	if cap(ws) > maxSpare {
		return
	}
	q.mu.Lock()
	if q.spare == nil {
		q.spare = ws[:0]
	}
	q.mu.Unlock()
}

// combineWrites runs queued writes under DB.mu until the queue is empty
// and, while stragglers are likely (stragglersLikelyLocked), a yield brings
// no more; it returns the working tree's zxid after the last of them.
func (db *DB) combineWrites() znode.Zxid {
	db.mu.Lock()
	defer db.mu.Unlock()
	ran, yielded := 0, false
	for {
		ws := db.combine.take(false)
		if ws == nil {
			if !yielded && db.stragglersLikelyLocked(ran) {
				yielded = true
				runtime.Gosched()
				continue
			}
			if ws = db.combine.take(true); ws == nil {
				return db.mu.working.Zxid()
			}
		}
		yielded = false
		for _, w := range ws {
			w.run(db)
		}
		ran += len(ws)
		db.combine.recycle(ws)
	}
}

// stragglersLikelyLocked reports whether a combiner that has run ran
// writes should yield before ending its run: the last batch cut held more
// records than it has seen, records wait for a batch, and the engine
// accepts writes. The last two keep the run bounded: every write run from
// then on, failed or not, waits for a batch, which cannot be cut before
// the run ends, so its writer cannot queue again. REQUIRES: db.mu held.
func (db *DB) stragglersLikelyLocked(ran int) bool {
	return db.mu.failed == nil && ran < db.mu.lastBatch && len(db.mu.pending) > 0
}

// awaitDurable returns once every record up to z is in the log, leading a
// batch itself when no one else is. It returns the append error if the
// records did not make it.
func (db *DB) awaitDurable(z znode.Zxid) error {
	if db.log == nil {
		db.flushEvents()
		return nil
	}
	w := &write{last: z}
	w.applied.Store(true)
	return db.awaitWrite(w)
}

// awaitWrite returns once w has been applied and every record up to its
// zxid is in the log, leading a batch itself when w is applied and no one
// else leads. It returns the append error if the records did not make it.
//
// No wake-up is lost: the combiner that applied w then waits for every
// record up to the last it applied; so a batch that makes w durable is
// led (by it, or by a leader it waits for), and its leader broadcasts when
// it ends. If the closures it ran added no record past the durable tree
// (all failed validation), no batch is needed and none ends: the combiner
// wakes their writers itself.
//
// After an append failure it still returns only once w has been applied:
// a closure that a combiner has yet to run would otherwise write its
// caller's variables after update returned. Every queued closure is run
// (a combiner drains its queue), and a combiner that finds the engine
// failed after its run wakes the writers it served.
func (db *DB) awaitWrite(w *write) error {
	s := &db.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.combined && (s.err != nil || s.durable >= w.last) {
		s.cond.Broadcast()
		if s.err == nil {
			return nil
		}
	}
	for s.err == nil {
		applied := w.applied.Load()
		if applied && s.durable >= w.last {
			return nil
		}
		if !applied || s.leading {
			s.cond.Wait()
			continue
		}
		s.leading = true
		s.mu.Unlock()
		last, err := db.syncBatch()
		s.mu.Lock()
		s.leading = false
		if err != nil {
			s.err = err
		} else if last > s.durable {
			s.durable = last
		}
		s.cond.Broadcast()
	}
	for !w.applied.Load() {
		s.cond.Wait()
	}
	if s.durable >= w.last {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrFailed, s.err)
}

// syncBatch appends every queued record in one synced write and publishes
// the tree as of the last of them. It returns the last zxid appended (0 if
// there was nothing to do). Only the sync leader calls it.
func (db *DB) syncBatch() (znode.Zxid, error) {
	db.mu.Lock()
	if db.mu.failed != nil {
		// After an apply failure the working tree may hold part of a
		// record: never log it or publish it.
		err := db.mu.failed
		db.mu.Unlock()
		return 0, err
	}
	batch, events := db.mu.pending, db.mu.events
	db.mu.lastBatch = len(batch)
	db.mu.pending, db.mu.events = db.sync.spareBatch, db.sync.spareEvents
	db.sync.spareBatch, db.sync.spareEvents = nil, nil
	var snap *tree.Tree
	var job *snapshotJob
	if len(batch) > 0 {
		due := db.snapshotDueLocked(len(batch))
		if db.rootWantedLocked(batch) || due {
			snap = db.mu.working.Snapshot()
			db.mu.sinceRoot, db.mu.sinceRootBytes = 0, 0
		}
		if due {
			job = db.snapshotJobLocked(snap)
		}
	}
	db.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	if err := db.appendWithDeadline(batch); err != nil {
		db.mu.Lock()
		db.mu.failed = err
		db.mu.snapshotting = false
		db.mu.Unlock()
		return 0, err
	}
	// Events before the root that shows their changes (see watches.go);
	// leaders run one at a time, in zxid order.
	last := batch[len(batch)-1].Zxid
	db.watchMu.Lock()
	db.dispatchLocked(events)
	if snap != nil {
		db.publishRootLocked(snap)
	} else {
		db.unshown = append(db.unshown, batch...)
	}
	db.shown.Store(uint64(last)) // after root: see readRoot
	db.watchMu.Unlock()
	if job != nil {
		db.writeSnapshotInBackground(job)
	}
	if cap(batch) <= maxSpare {
		clear(batch) // a spare must not keep records alive
		db.sync.spareBatch = batch[:0]
	}
	if cap(events) <= maxSpare {
		clear(events) // nor paths and ACLs
		db.sync.spareEvents = events[:0]
	}
	return last, nil
}

// appendWithDeadline appends batch to the log, giving up after
// Options.WriteTimeout of real time. Pebble can stall a write forever
// without reporting an error (ENOSPC on sstable writes, for one); without a
// deadline every writer, and Close, would wait with it. On timeout the
// engine fails as for any storage error: the outcome of the batch is
// unknown (it may still land), and the stuck append's goroutine stays until
// the log gives up on it.
func (db *DB) appendWithDeadline(batch []*txn.Txn) error {
	done := make(chan error, 1)
	go func() { done <- db.log.Append(batch...) }()
	timer := time.NewTimer(db.opts.WriteTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("zkembed: the log did not complete a write within %v: %w", db.opts.WriteTimeout, znode.ErrOperationTimeout)
	}
}

// Read roots.
//
// A read must see every write answered before it began, and a read that
// registers a watch must see exactly the records whose events have been
// dispatched (watches.go). With a log, both are the records up to shown,
// the last zxid a sync leader dispatched: every answered write is there,
// since leaders dispatch before they wake writers.
//
// Publishing a root is O(1), but it is not free: each later write to a
// B-tree node the root shares copies that node. With many writers spread
// over the tree, a root per batch cost a copy of a leaf and its parents per
// write: with 64 sessions creating under 64 parents, 2.7 KB and ~3 µs of
// CPU per durable create (BENCHMARKS.md, session 10). So a leader publishes
// its batch's root only while readers are about: for defaultRootWindow
// batches after any read. Otherwise it keeps the batch's records in
// unshown, and a reader that finds root behind shown brings it up to date
// itself (showLocked): it applies those records to a writable copy of root
// and publishes the result. Replay costs the reader up to defaultMaxUnshown
// ops' apply (a leader publishes at least that often), and holds watchMu
// meanwhile, so the dispatch of the batch then ending waits as long; it
// happens once after a spell of writes nobody read, since the reader's
// visit makes the next batches publish again. After a storage failure the
// same replay shows the records that made it to the log.

// defaultRootWindow is the number of batches published as roots after a
// reader is seen. defaultMaxUnshown bounds the changes a reader may have
// to apply (BenchmarkCatchUp in package tree: ~0.65-0.75 ms for 512 creates
// under 64 parents): ops and the deletes a closeSession lists, not
// records, since a multi or a closeSession may hold thousands.
// maxUnshownBytes bounds the data and paths they hold, which the tree may
// have replaced already.
const (
	defaultRootWindow = 64
	defaultMaxUnshown = 512
	maxUnshownBytes   = 8 << 20
)

// rootWantedLocked reports whether batch, being cut, should be published
// as a read root. REQUIRES: db.mu held, by the sync leader.
func (db *DB) rootWantedLocked(batch []*txn.Txn) bool {
	if db.readSeen.Load() && db.readSeen.Swap(false) {
		db.mu.rootBatches = db.rootWindow
	}
	uncounted := false
	for _, x := range batch {
		for i := range x.Ops {
			op := &x.Ops[i]
			db.mu.sinceRoot += 1 + len(op.Paths) // a closeSession's deletes
			db.mu.sinceRootBytes += len(op.Data)
			for _, p := range op.Paths {
				db.mu.sinceRootBytes += len(p)
			}
			// A closeSession without paths deletes every ephemeral of
			// its session, however many: publish rather than count.
			uncounted = uncounted || op.Type == txn.TypeCloseSession && op.Paths == nil
		}
	}
	if db.mu.rootBatches > 0 {
		db.mu.rootBatches--
		return true
	}
	return uncounted || db.mu.sinceRoot >= db.maxUnshown || db.mu.sinceRootBytes >= maxUnshownBytes
}

// noteRead tells sync leaders that a reader is about. The flag is written
// only when clear: a store per read would bounce its cache line between
// readers.
func (db *DB) noteRead() {
	if !db.readSeen.Load() {
		db.readSeen.Store(true)
	}
}

// publishRootLocked makes r, the tree as of the last record dispatched,
// the read root. REQUIRES: watchMu held.
func (db *DB) publishRootLocked(r *tree.Tree) {
	db.root.Store(r)
	clear(db.unshown) // records, paths and data
	if cap(db.unshown) > maxSpare {
		db.unshown = nil
	} else {
		db.unshown = db.unshown[:0]
	}
}

// showLocked returns a read root holding every dispatched record, first
// building and publishing one from root and unshown if root lacks some.
// REQUIRES: watchMu held, and a log.
func (db *DB) showLocked() *tree.Tree {
	r := db.root.Load()
	if len(db.unshown) == 0 {
		return r
	}
	t := r.Writable()
	for _, x := range db.unshown {
		if err := t.Apply(x, nil); err != nil {
			// The record applied to the working tree, from this very state:
			// a bug. Reads stay on root; Check reports it.
			db.showErr = fmt.Errorf("zkembed: record %v does not apply to the read root at %v: %w", x.Zxid, r.Zxid(), err)
			return r
		}
	}
	r = t.Snapshot()
	db.publishRootLocked(r)
	return r
}

// readRoot returns the read root. With a log, it holds every record up to
// shown: shown is stored after root, so a root loaded after shown that is
// not behind it is current. Without a log, it first publishes the working
// tree if that has changes the root lacks; seeing stale false guarantees
// the root holds every write that returned before, because the publisher
// stores root before it clears stale and writers set stale before they
// return.
func (db *DB) readRoot() *tree.Tree {
	if db.log != nil {
		db.noteRead()
		shown := znode.Zxid(db.shown.Load())
		if r := db.root.Load(); r.Zxid() >= shown {
			return r
		}
		db.watchMu.Lock()
		defer db.watchMu.Unlock()
		return db.showLocked()
	}
	if db.stale.Load() {
		db.watchMu.Lock()
		defer db.watchMu.Unlock()
		return db.rootForWatchLocked()
	}
	return db.root.Load()
}

// publishLocked makes the working tree the read root, dispatching the
// events of the changes it reveals first. REQUIRES: watchMu and db.mu
// held, and no record of the working tree waits for the log.
func (db *DB) publishLocked() {
	db.dispatchLocked(db.mu.events)
	db.dropEventsLocked()
	db.publishRootLocked(db.mu.working.Snapshot())
	db.stale.Store(false)
}

// nowMillis reads the clock in ms since the Unix epoch: the time records
// carry (ctime, mtime) and TTLs count from.
func (db *DB) nowMillis() int64 { return db.clock.Now().UnixMilli() }

// steadyMillis reads the clock sessions are timed on, in ms: the clock's
// steady reading if it keeps one (see clock.Steady), which no step of the
// wall clock moves, and Now otherwise.
func (db *DB) steadyMillis() int64 {
	if db.steady != nil {
		return db.steady.Steady().Milliseconds()
	}
	return db.nowMillis()
}

// commitOneLocked commits a single-op transaction; the record and its op
// share one allocation. REQUIRES: db.mu held.
func (db *DB) commitOneLocked(session int64, now int64, op txn.Op) error {
	rec := &struct {
		txn.Txn
		op [1]txn.Op
	}{}
	rec.op[0] = op
	rec.Txn = txn.Txn{Time: now, Session: session, Ops: rec.op[:]}
	return db.commitTxnLocked(&rec.Txn)
}

// commitLocked commits ops as one transaction (a multi if multi is set).
// REQUIRES: db.mu held.
func (db *DB) commitMultiLocked(session int64, now int64, ops []txn.Op) error {
	return db.commitTxnLocked(&txn.Txn{Time: now, Session: session, Multi: true, Ops: ops})
}

// commitTxnLocked gives a record whose ops the caller validated against
// db.mu.working (under the same lock) its zxid, applies it and queues it
// for the log. REQUIRES: db.mu held.
func (db *DB) commitTxnLocked(x *txn.Txn) error {
	if db.mu.failed != nil {
		return fmt.Errorf("%w: %w", ErrFailed, db.mu.failed)
	}
	if err := db.rollEpochIfSpentLocked(x.Time); err != nil {
		return err
	}
	x.Zxid = db.mu.working.Zxid() + 1
	return db.applyAndQueueLocked(x)
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
	epoch := db.layout.Epoch(last) + 1
	if epoch > db.layout.MaxEpoch() {
		return fmt.Errorf("zkembed: zxid epochs exhausted at %v: %w", last, znode.ErrSystemError)
	}
	// zkembed's deliberate difference from ZooKeeper: where a quorum leader
	// would force an election (and lose the request), the engine logs an
	// epoch record at counter 0 of the next epoch and goes on.
	x := &txn.Txn{Zxid: db.layout.Make(epoch, 0), Time: now, Ops: []txn.Op{{Type: txn.TypeEpoch, Epoch: epoch}}}
	return db.applyAndQueueLocked(x)
}

func (db *DB) applyAndQueueLocked(x *txn.Txn) error {
	mark := len(db.mu.events)
	if err := db.applyLocked(x); err != nil {
		// The record was validated against this very tree, so this is a
		// bug; stop writing rather than log what the tree could not apply.
		db.mu.failed = err
		return fmt.Errorf("zkembed: apply %v (engine stopped): %w", x.Zxid, err)
	}
	if db.log == nil {
		db.stale.Store(true)
		// After marking the root stale: see watches.go.
		if !db.watchInterest() {
			clear(db.mu.events[mark:])
			db.mu.events = db.mu.events[:mark]
		}
		db.eventsWaiting.Store(len(db.mu.events) > 0)
	} else {
		x.Digest, x.HasDigest = db.mu.working.Digest()
		db.mu.pending = append(db.mu.pending, x)
	}
	return nil
}

// applyLocked is the one function that changes state, live and in replay:
// the tree through tree.Apply, the session table through the session ops.
// REQUIRES: db.mu held.
func (db *DB) applyLocked(x *txn.Txn) error {
	var emit tree.Emit
	if !db.mu.replaying {
		emit = db.emit
	}
	if err := db.mu.working.Apply(x, emit); err != nil {
		return err
	}
	for i := range x.Ops {
		op := &x.Ops[i]
		switch op.Type {
		case txn.TypeCreateSession:
			st := newSessionState(op.Session, op.Timeout, db.auth.Identity())
			st.kind = op.Kind
			db.mu.sessions[op.Session] = st
			db.mu.nextSession = max(db.mu.nextSession, op.Session+1)
		case txn.TypeCloseSession:
			s := db.mu.sessions[op.Session]
			if emit != nil {
				// As in ZooKeeper, a closing session still gets the events
				// of its own close (tree.Apply emitted them above); then
				// its watches end.
				state := znode.StateClosed
				if s != nil {
					if e := znode.State(s.endState.Load()); e != 0 {
						state = e
					}
				}
				db.mu.events = append(db.mu.events, notice{end: op.Session, state: state})
			}
			if s != nil {
				s.closing.Store(true)
				s.end()
				delete(db.mu.sessions, op.Session)
			}
		}
	}
	return nil
}
