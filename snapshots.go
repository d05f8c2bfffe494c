package zkembed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/znode"
)

// Snapshots (an engine with a data directory only).
//
// A snapshot is an immutable tree at an exact zxid with the session table
// as of that zxid, written to dir/snapshots by package snapshot. The sync
// leader captures both under DB.mu at a batch cut (so they describe the
// same zxid) once Options.SnapshotEvery records have been logged since the
// last one, and a background goroutine writes it after the batch is
// durable, while writes go on. Then the newest Options.SnapshotRetain
// snapshots are kept, and the log below the oldest kept one is truncated,
// so any kept snapshot plus the log after it still restores the engine.
//
// The session table also records the next session id, as an entry with
// Timeout -1: the ids of sessions closed before the snapshot must never be
// handed out again, and their createSession records may be truncated away.

const nextSessionMarker = -1

// snapshotNice is how much lower than the engine's other threads the
// thread writing a snapshot runs (its nice value; Linux only, see
// snapshot.WriteOptions.LowerPriority). A snapshot of 1M znodes takes
// 0.3–0.8 s of CPU (more in a tree that writes have scattered over the
// heap) in slices of a few hundred µs, and on a 2-CPU machine those slices
// delayed the threads waking from the log's fdatasync. At nice 10, synced
// write p99 while snapshots were written fell from 3.7 ms to 1.8 ms,
// everything else equal (0.8 ms without snapshots; BENCHMARKS.md,
// 2026-12-06 session 7). Nice 19 measured worse (2.4 ms against 1.7 ms):
// a thread that seldom gets a CPU holds one of the Go scheduler's Ps while
// it waits for one. When the CPUs are busy the snapshot takes longer,
// which the pacer allows for (it never catches up in a burst).
const snapshotNice = 10

// snapshotJob is a snapshot captured at a batch cut.
type snapshotJob struct {
	root     *tree.Tree
	sessions []snapshot.Session
	pace     int64 // bytes per second to write it at; ≤ 0: unpaced
}

// snapshotPace returns the rate an automatic snapshot is written at: the
// slowest that writes a snapshot of last bytes (the previous one's size)
// in half of interval (the time since the last automatic snapshot, in
// which at least SnapshotEvery records were logged: about the time until
// the next one is due), but no slower than a quarter of max and no faster
// than max (Options.SnapshotBytesPerSecond; ≤ 0 means unpaced). With no
// previous snapshot it is max.
//
// A slower snapshot takes the disk and the CPUs from the log's fsyncs in
// smaller doses: while snapshots of 1M znodes were written, synced write
// p99 rose by a median 1.13–1.44× at 16 MiB/s against 1.37–1.73× at
// 64 MiB/s, lower in 4 of 5 runs taken in turns (BENCHMARKS.md,
// 2026-12-06 session 8). But a snapshot that does not finish before the
// next is due makes the log a restart replays longer, so the pace rises
// with the write rate, up to max.
func snapshotPace(last int64, interval time.Duration, max int64) int64 {
	if max <= 0 || last <= 0 || interval <= 0 {
		return max
	}
	need := float64(last) / (interval.Seconds() / 2)
	if need >= float64(max) {
		return max
	}
	floor := (max + 3) / 4 // never 0, which would mean unpaced
	return int64(math.Max(need, float64(floor)))
}

// captureSessionsLocked returns the session table for a snapshot of the working
// tree as it is now. REQUIRES: db.mu held.
func (db *DB) captureSessionsLocked() []snapshot.Session {
	out := make([]snapshot.Session, 0, len(db.mu.sessions)+1)
	for _, id := range sortedSessionIDs(db.mu.sessions) {
		st := db.mu.sessions[id]
		out = append(out, snapshot.Session{ID: id, Timeout: int32(st.timeout.Milliseconds()), Kind: st.kind})
	}
	return append(out, snapshot.Session{ID: db.mu.nextSession, Timeout: nextSessionMarker})
}

// snapshotDueLocked counts n more logged records and reports whether a
// snapshot is due and none is being written; if so, the caller must pass
// the working tree as of those records to snapshotJobLocked.
// REQUIRES: db.mu held.
func (db *DB) snapshotDueLocked(n int) bool {
	if db.dir == "" {
		return false
	}
	db.mu.sinceSnapshot += n
	if db.mu.sinceSnapshot < db.opts.SnapshotEvery || db.mu.snapshotting {
		return false
	}
	db.mu.sinceSnapshot = 0
	db.mu.snapshotting = true
	return true
}

// snapshotJobLocked returns the job of a due snapshot of snap.
// REQUIRES: db.mu held.
func (db *DB) snapshotJobLocked(snap *tree.Tree) *snapshotJob {
	now := time.Now() // real time: the pace is of a real disk
	pace := snapshotPace(db.mu.lastSnapshotSize, now.Sub(db.mu.lastAutoSnapshot), db.opts.SnapshotBytesPerSecond)
	db.mu.lastAutoSnapshot = now
	return &snapshotJob{root: snap, sessions: db.captureSessionsLocked(), pace: pace}
}

// writeSnapshotInBackground writes job after its batch is durable.
func (db *DB) writeSnapshotInBackground(job *snapshotJob) {
	db.background.Add(1)
	go func() {
		defer db.background.Done()
		_, err := db.writeSnapshot(job)
		db.mu.Lock()
		db.mu.snapshotting = false
		db.mu.snapshotErr = err // nil again after a success
		db.mu.Unlock()
	}()
}

// writeSnapshot writes job, prunes old snapshots and truncates the log.
// Writers take turns: Prune must not run beside a Write.
func (db *DB) writeSnapshot(job *snapshotJob) (snapshot.Meta, error) {
	db.snapshotMu.Lock()
	defer db.snapshotMu.Unlock()
	dir := db.snapshotDir()
	meta, err := snapshot.WriteWith(db.fs, dir, job.root, job.sessions, snapshot.WriteOptions{
		BytesPerSecond: job.pace,
		LowerPriority:  snapshotNice,
	})
	if err != nil {
		return meta, fmt.Errorf("zkembed: snapshot at %v: %w", job.root.Zxid(), err)
	}
	db.mu.Lock()
	db.mu.lastSnapshotSize = meta.Size
	db.mu.Unlock()
	if err := snapshot.Prune(db.fs, dir, db.opts.SnapshotRetain); err != nil {
		return meta, fmt.Errorf("zkembed: prune snapshots: %w", err)
	}
	kept, err := snapshot.List(db.fs, dir)
	if err != nil || len(kept) == 0 {
		return meta, err
	}
	if t, ok := db.log.(interface{ TruncateBefore(znode.Zxid) error }); ok {
		// Keep the log from the oldest kept snapshot on: a corrupt newer
		// one falls back to it. (Its own zxid's record stays too: the log
		// never gives up its last record, and replay skips it anyway.)
		if err := t.TruncateBefore(kept[len(kept)-1]); err != nil {
			return meta, fmt.Errorf("zkembed: truncate log: %w", err)
		}
	}
	return meta, nil
}

// SnapshotInfo describes a written snapshot.
type SnapshotInfo struct {
	Zxid  Zxid // the zxid the snapshot is exact at
	Nodes int  // znodes in it, the built-in ones included
}

// Snapshot writes a snapshot of the engine's state now, prunes old ones and
// truncates the log as the automatic snapshots do. It captures the tree and
// session table at once, waits until everything they hold is durable, and
// then writes them, so it never waits for writes to pause. It needs a data
// directory.
func (db *DB) Snapshot(ctx context.Context) (SnapshotInfo, error) {
	fail := func(err error) (SnapshotInfo, error) { return SnapshotInfo{}, &OpError{Op: "snapshot", Err: err} }
	if db.dir == "" {
		return fail(fmt.Errorf("%w: an in-memory engine has no snapshots", ErrUnimplemented))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return fail(ErrClosed)
	}
	if err := db.mu.failed; err != nil {
		// The working tree may hold part of a record whose zxid it never
		// reached: never write it.
		db.mu.Unlock()
		return fail(fmt.Errorf("%w: %w", ErrFailed, err))
	}
	db.background.Add(1) // Close waits for it, as for automatic snapshots
	defer db.background.Done()
	// At the fastest pace: the caller waits for it.
	job := &snapshotJob{root: db.mu.working.Snapshot(), sessions: db.captureSessionsLocked(), pace: db.opts.SnapshotBytesPerSecond}
	db.mu.Unlock()
	// Never write a snapshot holding records the log may still lose.
	if err := db.awaitDurable(job.root.Zxid()); err != nil {
		return fail(err)
	}
	meta, err := db.writeSnapshot(job)
	if err != nil {
		return fail(err)
	}
	return SnapshotInfo{Zxid: meta.Zxid, Nodes: meta.Nodes}, nil
}

func (db *DB) snapshotDir() string { return filepath.Join(db.dir, "snapshots") }

// loadSnapshot restores the newest valid snapshot into the empty engine and
// returns its zxid (0 if there is none) and the errors of corrupt newer
// snapshots it skipped. REQUIRES: db.mu held.
func (db *DB) loadSnapshot() (znode.Zxid, []error, error) {
	t, sessions, meta, skipped, err := snapshot.LoadNewest(db.fs, db.snapshotDir())
	if errors.Is(err, snapshot.ErrNone) {
		return 0, skipped, nil
	}
	if err != nil {
		return 0, skipped, err
	}
	db.mu.working = t
	db.mu.lastSnapshotSize = meta.Size
	for _, s := range sessions {
		if s.Timeout == nextSessionMarker {
			db.mu.nextSession = max(db.mu.nextSession, s.ID)
			continue
		}
		st := newSessionState(s.ID, s.Timeout, db.auth.Identity())
		st.kind = s.Kind
		db.mu.sessions[s.ID] = st
		db.mu.nextSession = max(db.mu.nextSession, s.ID+1)
	}
	return meta.Zxid, skipped, nil
}

// SnapshotError returns the error of the last background snapshot that
// failed, or nil. A failed snapshot loses nothing (the log still holds every
// record) but the log is not truncated until a snapshot succeeds.
func (db *DB) SnapshotError() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.mu.snapshotErr
}
