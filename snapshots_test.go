package zkembed_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/txnlog"
)

func writeMany(t *testing.T, db *zkembed.DB, n int) {
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	mustCreate(t, s, "/d", "")
	for i := range n {
		p := fmt.Sprintf("/d/n%d", i%40)
		if i%3 == 2 {
			_ = s.Delete(ctx, p, -1)
			continue
		}
		if _, err := s.Create(ctx, p, []byte(strconv.Itoa(i)), zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
			_, err = s.SetData(ctx, p, []byte(strconv.Itoa(i)), -1)
			require.NoError(t, err)
		}
	}
	_, err = s.Create(ctx, "/d/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
}

func TestSnapshotsAndRecovery(t *testing.T) {
	dir := t.TempDir()
	opts := &zkembed.Options{SnapshotEvery: 50, SnapshotRetain: 2}
	db, err := zkembed.Open(dir, opts)
	require.NoError(t, err)
	writeMany(t, db, 600)
	want := dump(t, db)
	last := db.LastZxid()
	require.NoError(t, db.Close()) // waits for background snapshots

	zxids, err := snapshot.List(vfs.Default, filepath.Join(dir, "snapshots"))
	require.NoError(t, err)
	require.Len(t, zxids, 2, "the newest SnapshotRetain snapshots are kept")
	log, err := txnlog.OpenPebble(filepath.Join(dir, "txnlog"), nil)
	require.NoError(t, err)
	first, err := log.First()
	require.NoError(t, err)
	require.NoError(t, log.Close())
	assert.Equal(t, zxids[1], first, "the log is truncated to what the oldest kept snapshot needs")

	resume := &zkembed.Options{SnapshotEvery: 50, SnapshotRetain: 2, ResumeSessions: true}
	db, err = zkembed.Open(dir, resume)
	require.NoError(t, err)
	rec := db.Recovery()
	assert.Equal(t, zxids[0], rec.SnapshotZxid)
	assert.Less(t, rec.Replayed, 50, "only the log after the snapshot is replayed")
	assert.Equal(t, last, db.LastZxid())
	assert.Equal(t, want, dump(t, db), "snapshot + log tail restore the exact state")
	require.NoError(t, db.Check())
	require.NoError(t, db.Close())

	// A corrupt newest snapshot falls back to the older one and more log.
	newest := filepath.Join(dir, "snapshots", snapshot.FileName(zxids[0]))
	b, err := os.ReadFile(newest)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x40
	require.NoError(t, os.WriteFile(newest, b, 0o644))
	db, err = zkembed.Open(dir, resume)
	require.NoError(t, err)
	rec = db.Recovery()
	assert.Equal(t, zxids[1], rec.SnapshotZxid)
	require.Len(t, rec.SkippedSnapshots, 1)
	assert.ErrorIs(t, rec.SkippedSnapshots[0], snapshot.ErrCorrupt)
	assert.Equal(t, want, dump(t, db))
	require.NoError(t, db.Close())
}

func TestSessionIDsAreNeverReused(t *testing.T) {
	dir := t.TempDir()
	opts := &zkembed.Options{Seed: 5}
	db, err := zkembed.Open(dir, opts)
	require.NoError(t, err)
	var highest int64
	for range 5 {
		s, err := db.NewSession(ctx, nil)
		require.NoError(t, err)
		highest = s.ID()
		require.NoError(t, s.Close(ctx))
	}
	_, err = db.Snapshot(ctx) // the closed sessions' records go with the log
	require.NoError(t, err)
	_, err = db.Snapshot(ctx)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	db, err = zkembed.Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	assert.Greater(t, s.ID(), highest)
}

func TestSnapshotOnDemand(t *testing.T) {
	_, err := newEnv(t).db.Snapshot(ctx)
	assert.ErrorIs(t, err, zkembed.ErrUnimplemented, "an in-memory engine has no snapshots")
	dir := t.TempDir()
	db, err := zkembed.Open(dir, nil)
	require.NoError(t, err)
	writeMany(t, db, 30)
	info, err := db.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, db.LastZxid(), info.Zxid)
	assert.Greater(t, info.Nodes, 4)
	require.NoError(t, db.Close())
	db, err = zkembed.Open(dir, &zkembed.Options{ResumeSessions: true})
	require.NoError(t, err)
	defer db.Close()
	assert.Equal(t, info.Zxid, db.Recovery().SnapshotZxid)
	assert.Equal(t, 0, db.Recovery().Replayed)
}

// Crashes while snapshots are written and the log is truncated: every
// acknowledged create must survive, and every writer's counter must be at
// least its last acknowledged value.
func TestCrashRecoveryWithSnapshots(t *testing.T) {
	trials := 16
	if testing.Short() {
		trials = 4
	}
	var lost int
	withSnapshot := 0
	for trial := range trials {
		rng := rand.New(rand.NewPCG(uint64(trial), 11))
		fs := vfs.NewCrashableMem()
		opts := &zkembed.Options{FS: fs, SnapshotEvery: 20 + rng.IntN(40), SnapshotRetain: 1 + rng.IntN(3)}
		db, err := zkembed.Open("/db", opts)
		require.NoError(t, err)
		const writers = 4
		var acked [writers]atomic.Int64 // highest acknowledged index per writer
		var total atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			s, err := db.NewSession(ctx, nil)
			require.NoError(t, err)
			mustCreate(t, s, fmt.Sprintf("/w%d", w), "0")
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 1; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.Create(ctx, fmt.Sprintf("/w%d/k%d", w, i), nil, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
						return
					}
					if _, err := s.SetData(ctx, fmt.Sprintf("/w%d", w), []byte(strconv.Itoa(i)), -1); err != nil {
						return
					}
					acked[w].Store(int64(i))
					total.Add(1)
				}
			}()
		}
		target := int64(20 + rng.IntN(300))
		for total.Load() < target {
			runtime.Gosched()
		}
		var mustHave [writers]int64
		for w := range mustHave {
			mustHave[w] = acked[w].Load()
		}
		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: []int{0, 50, 100}[trial%3], RNG: rand.New(rand.NewPCG(uint64(trial), 12))})
		close(stop)
		wg.Wait()
		require.NoError(t, db.Close())

		recovered, err := zkembed.Open("/db", &zkembed.Options{FS: clone, ResumeSessions: true})
		require.NoError(t, err, "trial %d: reopen after the crash", trial)
		if recovered.Recovery().SnapshotZxid > 0 {
			withSnapshot++
		}
		s, err := recovered.NewSession(ctx, nil)
		require.NoError(t, err)
		for w := range writers {
			data, _, err := s.GetData(ctx, fmt.Sprintf("/w%d", w))
			require.NoError(t, err)
			n, _ := strconv.Atoi(string(data))
			if int64(n) < mustHave[w] {
				lost++
			}
			assert.GreaterOrEqual(t, int64(n), mustHave[w], "trial %d writer %d", trial, w)
			for i := int64(1); i <= mustHave[w]; i++ {
				if !exists(t, s, fmt.Sprintf("/w%d/k%d", w, i)) {
					lost++
					t.Errorf("trial %d: acknowledged /w%d/k%d lost", trial, w, i)
				}
			}
		}
		require.NoError(t, recovered.Check())
		require.NoError(t, recovered.Close())
	}
	t.Logf("%d crashes with snapshots every 20-60 records: %d lost acknowledged writes; %d recovered from a snapshot", trials, lost, withSnapshot)
}

// On-demand snapshots never wait for writes to pause.
func TestSnapshotUnderLoad(t *testing.T) {
	dir := t.TempDir()
	db, err := zkembed.Open(dir, &zkembed.Options{NoSync: true})
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		s, err := db.NewSession(ctx, nil)
		require.NoError(t, err)
		mustCreate(t, s, fmt.Sprintf("/w%d", w), "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := s.SetData(ctx, fmt.Sprintf("/w%d", w), []byte(strconv.Itoa(i)), -1)
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	var infos []zkembed.SnapshotInfo
	for range 3 {
		info, err := db.Snapshot(ctx)
		require.NoError(t, err)
		infos = append(infos, info)
	}
	close(stop)
	wg.Wait()
	assert.Less(t, infos[0].Zxid, infos[2].Zxid, "writes went on between the snapshots")
	want := dump(t, db)
	require.NoError(t, db.Close())
	db, err = zkembed.Open(dir, &zkembed.Options{ResumeSessions: true})
	require.NoError(t, err)
	defer db.Close()
	assert.Equal(t, want, dump(t, db))
}

// A background snapshot that fails is reported and loses nothing.
func TestBackgroundSnapshotFailure(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var armed atomic.Bool
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if armed.Load() && strings.Contains(op.Path, "snapshot.") && op.Kind == errorfs.OpFileWrite {
			return syscall.ENOSPC
		}
		return nil
	}))
	db, err := zkembed.Open("/db", &zkembed.Options{FS: fs, SnapshotEvery: 10})
	require.NoError(t, err)
	armed.Store(true)
	writeMany(t, db, 60)
	require.NoError(t, db.Close()) // waits for the background writers
	assert.ErrorIs(t, db.SnapshotError(), syscall.ENOSPC)
	armed.Store(false)
	db, err = zkembed.Open("/db", &zkembed.Options{FS: fs, SnapshotEvery: 10, ResumeSessions: true})
	require.NoError(t, err)
	defer db.Close()
	assert.Zero(t, db.Recovery().SnapshotZxid, "no snapshot was written, so the whole log replays")
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	assert.True(t, exists(t, s, "/d/eph"))
}
