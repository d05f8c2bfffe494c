package zkembed

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
)

// openForQueue opens an engine on log with n sessions, for tests that queue
// writers behind a held DB.mu. Its clock is virtual: no session tick can
// start a batch and hide a lost wake-up.
func openForQueue(t *testing.T, log txnlog.Log, n int) (*DB, []*Session) {
	t.Helper()
	db, err := Open("", &Options{Log: log, Clock: clock.NewVirtual(time.Unix(1e9, 0))})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	sessions := make([]*Session, n)
	for i := range sessions {
		sessions[i], err = db.NewSession(context.Background(), nil)
		require.NoError(t, err)
	}
	return db, sessions
}

// Writes queued while DB.mu is busy are applied by one combiner in one
// hold of the lock, and each writer gets its own outcome: its path, its
// error, its Stat, its zxid, and a reply only once that zxid is durable.
func TestCombinedWritesKeepTheirOutcomes(t *testing.T) {
	ctx := context.Background()
	const writers = 16
	log := txnlog.NewMem()
	db, sessions := openForQueue(t, log, writers)
	s0 := sessions[0]
	_, err := s0.Create(ctx, "/q", nil, ModePersistent, OpenACL())
	require.NoError(t, err)
	_, err = s0.Create(ctx, "/taken", nil, ModePersistent, OpenACL())
	require.NoError(t, err)

	type outcome struct {
		path string
		stat Stat
		zxid Zxid
		err  error
	}
	results := make(chan struct {
		i int
		outcome
	}, writers)
	db.mu.Lock() // hold the lock so that every writer queues
	for i, s := range sessions {
		go func() {
			var o outcome
			switch i % 3 {
			case 0: // a sequential create: each writer must get its own name
				o.path, o.stat, o.zxid, o.err = s.create(ctx, "create2", &createReq{path: "/q/n-", mode: ModePersistentSequential, acl: OpenACL(), ttl: -1})
			case 1: // fails, and only for this writer
				o.path, o.stat, o.zxid, o.err = s.create(ctx, "create2", &createReq{path: "/taken", mode: ModePersistent, acl: OpenACL(), ttl: -1})
			case 2:
				o.path, o.stat, o.zxid, o.err = s.create(ctx, "create2", &createReq{path: fmt.Sprintf("/own%d", i), data: []byte{byte(i)}, mode: ModePersistent, acl: OpenACL(), ttl: -1})
			}
			results <- struct {
				i int
				outcome
			}{i, o}
		}()
	}
	// Every writer is queued: one is the combiner, waiting for DB.mu.
	require.Eventually(t, func() bool {
		db.combine.mu.Lock()
		defer db.combine.mu.Unlock()
		return len(db.combine.queue) == writers && db.combine.running
	}, 10*time.Second, time.Millisecond)
	before := db.mu.working.Zxid()
	db.mu.Unlock()

	names := map[string]bool{}
	zxids := map[Zxid]bool{}
	for range writers {
		var r struct {
			i int
			outcome
		}
		select {
		case r = <-results:
		case <-time.After(10 * time.Second):
			t.Fatal("writers not answered: a lost wake-up")
		}
		// The reply comes after its zxid (or, for a failure, the tree it
		// was validated against) is durable.
		recs := log.Records()
		last := recs[len(recs)-1].Zxid
		require.GreaterOrEqual(t, last, r.zxid, "writer %d answered before its zxid was logged", r.i)
		switch r.i % 3 {
		case 0:
			require.NoError(t, r.err, "writer %d", r.i)
			require.Regexp(t, `^/q/n-\d{10}$`, r.path)
			require.False(t, names[r.path], "%s given to two writers", r.path)
			names[r.path] = true
			require.Equal(t, r.zxid, r.stat.Czxid, "writer %d: the Stat of its own node", r.i)
		case 1:
			require.True(t, errors.Is(r.err, ErrNodeExists), "writer %d: %v", r.i, r.err)
			var opErr *OpError
			require.ErrorAs(t, r.err, &opErr)
			require.Equal(t, "/taken", opErr.Path)
			continue
		case 2:
			require.NoError(t, r.err, "writer %d", r.i)
			require.Equal(t, fmt.Sprintf("/own%d", r.i), r.path)
			require.Equal(t, r.zxid, r.stat.Czxid, "writer %d: the Stat of its own node", r.i)
			data, _, err := s0.GetData(ctx, r.path)
			require.NoError(t, err)
			require.Equal(t, []byte{byte(r.i)}, data, "read your writes")
		}
		require.Greater(t, r.zxid, before)
		require.False(t, zxids[r.zxid], "zxid %v given to two writes", r.zxid)
		zxids[r.zxid] = true
	}
	require.NoError(t, db.Check())
}

// Writes that all fail validation add no record, so the combiner that ran
// them finds its tree durable already and leads no batch: it must still
// wake the writers that began waiting before it ran their closures. (A
// durable lincheck run once hung on this: the last client's failed
// setData waited for a batch that never came.)
func TestCombinedFailedWritesAreAnswered(t *testing.T) {
	ctx := context.Background()
	const writers = 8
	db, sessions := openForQueue(t, txnlog.NewMem(), writers)
	errs := make(chan error, writers)
	db.mu.Lock() // hold the lock so that every writer queues
	for i, s := range sessions {
		go func() {
			_, err := s.SetData(ctx, fmt.Sprintf("/missing%d", i), nil, -1)
			errs <- err
		}()
	}
	require.Eventually(t, func() bool {
		db.combine.mu.Lock()
		defer db.combine.mu.Unlock()
		return len(db.combine.queue) == writers && db.combine.running
	}, 10*time.Second, time.Millisecond)
	db.mu.Unlock()
	for range writers {
		select {
		case err := <-errs:
			require.ErrorIs(t, err, ErrNoNode)
		case <-time.After(10 * time.Second):
			t.Fatal("failed writes not answered: a lost wake-up")
		}
	}
}

// countingLog counts the appends that reach a log and the records they
// carry, and takes sync long for each, as a disk's fsync does.
type countingLog struct {
	txnlog.Log
	sync             time.Duration
	appends, records atomic.Int64
}

func (l *countingLog) Append(records ...*txn.Txn) error {
	l.appends.Add(1)
	l.records.Add(int64(len(records)))
	time.Sleep(l.sync)
	return l.Log.Append(records...)
}

// Writers in a closed loop share batches: when a batch ends its writers
// wake together and send their next writes, and a combiner that has run
// fewer writes than the last batch held yields before it ends its run, so
// that they queue in time for the same batch (see Waiting for
// stragglers). On one CPU the scheduler makes this exact enough to count:
// without the yield, the first writer back ran its own write and cut a
// batch of it alone while the others queued for the batch after, and
// batches alternated between 1 record and 31 (15 on average).
func TestClosedLoopWritersShareBatches(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const writers, rounds = 32, 30
	log := &countingLog{Log: txnlog.NewMem(), sync: 200 * time.Microsecond}
	db, sessions := openForQueue(t, log, writers)
	ctx := context.Background()
	before := log.appends.Load()
	recordsBefore := log.records.Load()
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range rounds {
				if _, err := s.Create(ctx, fmt.Sprintf("/w%d-%d", i, j), nil, ModePersistent, OpenACL()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	appends := log.appends.Load() - before
	records := log.records.Load() - recordsBefore
	require.Equal(t, int64(writers*rounds), records)
	perBatch := float64(records) / float64(appends)
	t.Logf("%d writers, %d creates each: %d batches, %.1f records a batch", writers, rounds, appends, perBatch)
	require.GreaterOrEqual(t, perBatch, 0.65*writers, "closed-loop writers did not share batches")
	require.NoError(t, db.Check())
}

// A combiner yields only while the writers the last batch woke may still
// come, and only once a record waits for a batch and the engine accepts
// writes (so that the run stays bounded): never once a single writer's
// batches hold one record.
func TestStragglersLikely(t *testing.T) {
	db := &DB{}
	for _, c := range []struct {
		ran, lastBatch, pending int
		failed                  bool
		want                    bool
	}{
		{ran: 1, lastBatch: 64, pending: 1, failed: true, want: false}, // writers get ErrFailed at once and may queue again
		{ran: 1, lastBatch: 64, pending: 1, want: true},
		{ran: 63, lastBatch: 64, pending: 63, want: true},
		{ran: 64, lastBatch: 64, pending: 64, want: false}, // all of them came
		{ran: 1, lastBatch: 1, pending: 1, want: false},    // one writer
		{ran: 0, lastBatch: 0, pending: 0, want: false},    // no batch yet
		{ran: 3, lastBatch: 16, pending: 0, want: false},   // only failed writes so far
	} {
		db.mu.lastBatch = c.lastBatch
		db.mu.pending = make([]*txn.Txn, c.pending)
		db.mu.failed = nil
		if c.failed {
			db.mu.failed = errors.New("append failed")
		}
		require.Equal(t, c.want, db.stragglersLikelyLocked(c.ran), "%+v", c)
	}
}

// After the engine fails, a writer whose closure is still queued is not
// answered until a combiner has run it: answered earlier, its closure
// would write the caller's variables after update returned (multi reads
// its opFailed that way). The test holds DB.mu so that two writers queue,
// fails the engine as a failed append does, and checks that the writer
// waiting for its closure is answered only after the lock is released.
func TestFailedEngineAnswersOnlyAppliedWrites(t *testing.T) {
	db, sessions := openForQueue(t, txnlog.NewMem(), 2)
	type result struct {
		ran bool
		err error
	}
	results := make(chan result, len(sessions))
	db.mu.Lock()
	locked := true
	defer func() {
		if locked { // a failure below: let Close have the lock
			db.mu.Unlock()
		}
	}()
	for _, s := range sessions {
		go func() {
			ran := false
			err := db.update("setData", "/", func() error {
				ran = true // written by whichever goroutine combines
				op := txn.Op{Type: txn.TypeSetData, Path: "/", Version: 1}
				return db.commitOneLocked(s.st.id, db.nowMillis(), op)
			})
			results <- result{ran, err}
		}()
	}
	require.Eventually(t, func() bool {
		db.combine.mu.Lock()
		defer db.combine.mu.Unlock()
		return len(db.combine.queue) == len(sessions) && db.combine.running
	}, 10*time.Second, time.Millisecond)
	failure := errors.New("injected append failure")
	db.mu.failed = failure
	db.sync.mu.Lock()
	db.sync.err = failure
	db.sync.cond.Broadcast()
	db.sync.mu.Unlock()
	select {
	case r := <-results:
		t.Fatalf("a writer was answered (%v) while its closure could not have run", r.err)
	case <-time.After(50 * time.Millisecond):
	}
	locked = false
	db.mu.Unlock()
	for range sessions {
		select {
		case r := <-results:
			require.True(t, r.ran, "answered before its closure ran")
			require.ErrorIs(t, r.err, ErrFailed)
		case <-time.After(10 * time.Second):
			t.Fatal("writers not answered after the engine failed: a lost wake-up")
		}
	}
}
