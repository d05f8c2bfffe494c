package zkembed_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/znode"
)

// sweepScript is a deterministic single-threaded run of every kind of
// write, with epoch changes (5-bit counter) and snapshots. after(i) is
// called once op i has returned, whatever it returned.
func sweepScript(t *testing.T, db *zkembed.DB, clk *clock.Virtual, onDisk bool, after func(i int)) {
	s1, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	open := zkembed.OpenACL()
	steps := []func(i int){
		func(i int) {
			_, _ = s1.Create(ctx, fmt.Sprintf("/p%d", i%7), []byte("d"), zkembed.ModePersistent, open)
		},
		func(i int) {
			_, _ = s1.Create(ctx, fmt.Sprintf("/p%d/s-", i%7), nil, zkembed.ModePersistentSequential, open)
		},
		func(i int) { _, _ = s2.Create(ctx, fmt.Sprintf("/p%d/e%d", i%7, i), nil, zkembed.ModeEphemeral, open) },
		func(i int) { _, _ = s1.SetData(ctx, fmt.Sprintf("/p%d", i%7), []byte(fmt.Sprint(i)), -1) },
		func(i int) { _, _ = s1.Create(ctx, fmt.Sprintf("/c%d", i%3), nil, zkembed.ModeContainer, open) },
		func(i int) {
			_, _, _ = s1.CreateTTL(ctx, fmt.Sprintf("/t%d", i%3), nil, zkembed.ModePersistentWithTTL, open, time.Second)
		},
		func(i int) { _, _ = s1.SetACL(ctx, fmt.Sprintf("/p%d", i%7), open, -1) },
		func(i int) {
			_, _ = s1.Multi(ctx, &zkembed.CreateOp{Path: fmt.Sprintf("/c%d/k", i%3), ACL: open},
				&zkembed.SetDataOp{Path: fmt.Sprintf("/p%d", i%7), Data: []byte("m"), Version: -1})
		},
		func(i int) { _ = s1.Delete(ctx, fmt.Sprintf("/c%d/k", i%3), -1) },
		func(i int) {
			clk.Advance(700 * time.Millisecond)
			_, _ = db.ReapNow()
		},
		func(i int) {
			if i%20 == 10 { // the ephemeral holder goes, and comes back
				_ = db.ExpireSession(ctx, s2.ID())
				s2, _ = db.NewSession(ctx, nil)
			}
		},
		func(i int) {
			if onDisk && i%40 == 11 {
				_, _ = db.Snapshot(ctx)
			}
		},
	}
	for i := range 120 {
		steps[i%len(steps)](i)
		after(i)
	}
}

func sweepOptions(clk clock.Clock) *zkembed.Options {
	return &zkembed.Options{Clock: clk, Seed: 3, ExtendedTypes: true, ZxidCounterBits: 5,
		ContainerCheckInterval: time.Hour, SnapshotEvery: 30, SnapshotRetain: 2}
}

// TestCrashAtEveryWrite runs the script once on disk (a crashable MemFS),
// taking crash clones before every filesystem write of the run (keeping none
// and all of the unsynced data), then reopens
// each clone: its state must be the history replayed to some zxid between
// the last acknowledged write before the crash and the write in flight.
func TestCrashAtEveryWrite(t *testing.T) {
	// The reference history: the same script in memory.
	refClk := clock.NewVirtual(t0)
	refLog := txnlog.NewMem()
	o := sweepOptions(refClk)
	o.Log = refLog
	ref, err := zkembed.Open("", o)
	require.NoError(t, err)
	sweepScript(t, ref, refClk, false, func(int) {})
	require.NoError(t, ref.Close())
	history := refLog.Records()

	// The run on disk, with a crash clone at every write op.
	mem := vfs.NewCrashableMem()
	type crash struct {
		fs        *vfs.MemFS
		ackedZxid znode.Zxid // the last zxid acknowledged when the crash happened
		seenZxid  znode.Zxid // what a reader could see then: it must never be rolled back
	}
	var mu sync.Mutex
	var crashes []crash
	var acked znode.Zxid
	var writes int
	var db *zkembed.DB // set once open; a reader looks at it at every crash point
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind.ReadOrWrite() != errorfs.OpIsWrite || strings.Contains(op.Path, "LOCK") {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		writes++
		// Before every write op: the synced state only, and everything
		// written so far (both are states a crash can leave).
		var seen znode.Zxid
		if db != nil {
			seen = db.LastZxid() // a read, racing the write in flight
		}
		for _, keep := range []int{0, 100} {
			clone := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: keep, RNG: rand.New(rand.NewPCG(uint64(writes), 1))})
			crashes = append(crashes, crash{fs: clone, ackedZxid: acked, seenZxid: seen})
		}
		return nil
	}))
	clk := clock.NewVirtual(t0)
	opened, err := zkembed.Open("/db", &zkembed.Options{FS: fs, Clock: clk, Seed: 3, ExtendedTypes: true, ZxidCounterBits: 5,
		ContainerCheckInterval: time.Hour, SnapshotEvery: 30, SnapshotRetain: 2})
	require.NoError(t, err)
	mu.Lock()
	db = opened
	mu.Unlock()
	sweepScript(t, db, clk, true, func(int) {
		mu.Lock()
		acked = db.LastZxid()
		mu.Unlock()
	})
	require.NoError(t, db.Close())
	require.Equal(t, history[len(history)-1].Zxid, acked, "the disk run made the same history as the reference")

	prefix := map[znode.Zxid]string{}
	dumpAt := func(at znode.Zxid) string {
		if d, ok := prefix[at]; ok {
			return d
		}
		var recs []*txn.Txn
		for _, r := range history {
			if r.Zxid <= at {
				recs = append(recs, r)
			}
		}
		o := sweepOptions(clock.NewVirtual(t0))
		o.Log, o.ResumeSessions = newMemLog(t, recs...), true
		db, err := zkembed.Open("", o)
		require.NoError(t, err)
		defer db.Close()
		prefix[at] = dump(t, db)
		return prefix[at]
	}
	fromSnapshot, beyond := 0, 0
	for i, c := range crashes {
		o := sweepOptions(clock.NewVirtual(t0))
		o.FS, o.ResumeSessions = c.fs, true
		db, err := zkembed.Open("/db", o)
		require.NoError(t, err, "crash %d: reopen", i)
		at := db.LastZxid()
		if db.Recovery().SnapshotZxid > 0 {
			fromSnapshot++
		}
		require.GreaterOrEqual(t, at, c.ackedZxid, "crash %d: an acknowledged write was lost", i)
		require.GreaterOrEqual(t, at, c.seenZxid, "crash %d: a write a reader saw was lost", i)
		if at > c.ackedZxid {
			beyond++
		}
		require.Equal(t, dumpAt(at), dump(t, db), "crash %d at %v: the state is not the history's", i, at)
		require.NoError(t, db.Check())
		require.NoError(t, db.Close())
	}
	t.Logf("%d write ops, %d crash points: 0 lost acknowledged or seen writes, 0 states off the history; %d recovered from a snapshot, %d with the in-flight write",
		writes, len(crashes), fromSnapshot, beyond)
}
