package zkembed_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/znode"
)

func TestDurableReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := zkembed.Open(dir, nil)
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	mustCreate(t, s, "/a", "1")
	_, err = s.Create(ctx, "/a/s-", []byte("x"), zkembed.ModePersistentSequential, zkembed.OpenACL())
	require.NoError(t, err)
	_, err = s.Create(ctx, "/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	_, err = s.SetData(ctx, "/a", []byte("2"), 0)
	require.NoError(t, err)
	before := stat(t, s, "/a")
	last := db.LastZxid()
	require.NoError(t, db.Close())

	db, err = zkembed.Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	tail := db.Recovery().WALTail
	assert.NotEmpty(t, tail.File, "the newest WAL was replayed")
	assert.Zero(t, tail.Dropped, "a clean close drops nothing")
	assert.Zero(t, tail.Leftovers, "a new log's WAL holds no older log's bytes")
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	data, st, err := s2.GetData(ctx, "/a")
	require.NoError(t, err)
	assert.Equal(t, "2", string(data))
	assert.Equal(t, before, st)
	p, err := s2.Create(ctx, "/a/s-", nil, zkembed.ModePersistentSequential, zkembed.OpenACL())
	require.NoError(t, err)
	assert.Equal(t, "/a/s-0000000001", p, "sequence counters survive")
	assert.False(t, exists(t, s2, "/eph"), "the previous process's session was closed at open")
	assert.Equal(t, last+3, db.LastZxid(), "closeSession, createSession and create follow the old zxids")
	assert.NotEqual(t, s.ID(), s2.ID())
	require.NoError(t, db.Check())
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	db, err := zkembed.Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	_, err = zkembed.Open(dir, nil)
	require.Error(t, err, "one directory, one engine")
	t.Log(err)
}

// TestCrashRecovery runs concurrent writers on pebble's crash-simulating
// filesystem and takes crash clones while they run. After reopening a clone,
// the engine's state must be exactly the replay of a prefix of the full
// history (no half-applied multi, no gap), and that prefix must contain
// every write acknowledged before the crash.
func TestCrashRecovery(t *testing.T) {
	trials := 24
	if testing.Short() {
		trials = 6
	}
	var lost, halfApplied, beyond int
	for trial := range trials {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(trial), 3))
			fs := vfs.NewCrashableMem()
			db, err := zkembed.Open("/db", &zkembed.Options{FS: fs, ZxidCounterBits: 4})
			require.NoError(t, err)
			var acked atomic.Int64 // the highest zxid acknowledged so far
			ack := func(z znode.Zxid) {
				for {
					old := acked.Load()
					if int64(z) <= old || acked.CompareAndSwap(old, int64(z)) {
						return
					}
				}
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 4 {
				s, err := db.NewSession(ctx, nil)
				require.NoError(t, err)
				wg.Add(1)
				go func() {
					defer wg.Done()
					crashWorkload(s, w, stop, ack)
				}()
			}
			// Crash at a random moment of the run: note what was
			// acknowledged, then clone the filesystem as a crash would
			// leave it, while the writers go on.
			target := int64(5 + rng.IntN(400))
			for acked.Load() < target {
				runtime.Gosched()
			}
			mustHave := znode.Zxid(acked.Load())
			clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: []int{0, 50, 100}[trial%3], RNG: rand.New(rand.NewPCG(uint64(trial), 9))})
			close(stop)
			wg.Wait()
			require.NoError(t, db.Close())
			history := readHistory(t, fs)

			recovered, err := zkembed.Open("/db", &zkembed.Options{FS: clone, ZxidCounterBits: 4, ResumeSessions: true})
			require.NoError(t, err, "reopen after the crash")
			got := dump(t, recovered)
			at := recovered.LastZxid()
			require.NoError(t, recovered.Check())
			require.NoError(t, recovered.Close())

			if at < mustHave {
				lost++
			}
			assert.GreaterOrEqual(t, at, mustHave, "every write acknowledged before the crash survives")
			if at > mustHave {
				beyond++
			}
			want := replayPrefix(t, history, at)
			if !assert.Equal(t, want, got, "the recovered state is a prefix of the history") {
				halfApplied++
			}
		})
	}
	t.Logf("%d crashes: %d lost acknowledged writes, %d states not a history prefix, %d recovered beyond the acknowledged", trials, lost, halfApplied, beyond)
}

func crashWorkload(s *zkembed.Session, w int, stop <-chan struct{}, ack func(znode.Zxid)) {
	base := fmt.Sprintf("/w%d", w)
	if _, st, err := s.Create2(ctx, base, nil, zkembed.ModePersistent, zkembed.OpenACL()); err == nil {
		ack(st.Czxid)
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		p := fmt.Sprintf("%s/n%d", base, i%10)
		switch i % 5 {
		case 0:
			if _, st, err := s.Create2(ctx, p, []byte{byte(i)}, zkembed.ModeEphemeral, zkembed.OpenACL()); err == nil {
				ack(st.Czxid)
			}
		case 1:
			if st, err := s.SetData(ctx, base, []byte(fmt.Sprint(i)), -1); err == nil {
				ack(st.Mzxid)
			}
		case 2:
			if res, err := s.Multi(ctx, &zkembed.CreateOp{Path: p + "-m", Mode: zkembed.ModePersistentSequential, ACL: zkembed.OpenACL()},
				&zkembed.SetDataOp{Path: base, Data: []byte("m"), Version: -1}); err == nil {
				ack(res[1].Stat.Mzxid)
			}
		case 3:
			_ = s.Delete(ctx, p, -1)
		case 4:
			if _, st, err := s.Create2(ctx, p+"-s", nil, zkembed.ModePersistentSequential, zkembed.OpenACL()); err == nil {
				ack(st.Czxid)
			}
		}
	}
}

// readHistory returns every record in the log on fs.
func readHistory(t *testing.T, fs vfs.FS) []*txn.Txn {
	l, err := txnlog.OpenPebble("/db/txnlog", &txnlog.PebbleOptions{FS: fs})
	require.NoError(t, err)
	defer l.Close()
	var recs []*txn.Txn
	require.NoError(t, l.Replay(0, func(x *txn.Txn) error { recs = append(recs, x); return nil }))
	return recs
}

// replayPrefix dumps an in-memory engine replaying history up to zxid at.
func replayPrefix(t *testing.T, history []*txn.Txn, at znode.Zxid) string {
	mem := txnlog.NewMem()
	for _, r := range history {
		if r.Zxid <= at {
			require.NoError(t, mem.Append(r))
		}
	}
	db, err := zkembed.Open("", &zkembed.Options{Log: mem, ZxidCounterBits: 4, ResumeSessions: true})
	require.NoError(t, err)
	defer db.Close()
	return dump(t, db)
}

// Every logged record carries the tree digest after it, and replay checks
// it: a record that decodes well but no longer rebuilds the tree the writer
// had is a corruption error naming its zxid, never a silently different
// tree.
func TestReplayChecksDigest(t *testing.T) {
	mem := txnlog.NewMem()
	db, err := zkembed.Open("", &zkembed.Options{Log: mem, ResumeSessions: true})
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	mustCreate(t, s, "/a", "1")
	_, err = s.SetData(ctx, "/a", []byte("2"), -1)
	require.NoError(t, err)
	mustCreate(t, s, "/b", "3")
	require.NoError(t, db.Close())

	records := mem.Records()
	for _, x := range records {
		require.True(t, x.HasDigest, "record %v carries no digest", x)
	}
	reopen := func(records []*txn.Txn) error {
		db, err := zkembed.Open("", &zkembed.Options{Log: newMemLog(t, records...), ResumeSessions: true})
		if err == nil {
			require.NoError(t, db.Check())
			db.Close()
		}
		return err
	}
	require.NoError(t, reopen(records), "the untouched log replays")

	for i, x := range records {
		if x.Ops[0].Type != txn.TypeSetData {
			continue
		}
		bad := make([]*txn.Txn, len(records))
		copy(bad, records)
		tampered, err := txn.Decode(txn.Encode(x))
		require.NoError(t, err)
		tampered.Ops[0].Data = []byte("9") // a valid record, a different tree
		bad[i] = tampered
		err = reopen(bad)
		require.ErrorIs(t, err, znode.ErrDataInconsistency)
		assert.ErrorContains(t, err, "digest")
		assert.ErrorContains(t, err, x.Zxid.String())
		return
	}
	t.Fatal("no setData record in the log")
}
