package zkembed

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSnapshotPace(t *testing.T) {
	const max = 64 << 20
	for _, tc := range []struct {
		name     string
		last     int64
		interval time.Duration
		max      int64
		want     int64
	}{
		{"unpaced stays unpaced", 160e6, 10 * time.Second, -1, -1},
		{"no snapshot yet: the cap", 0, 10 * time.Second, max, max},
		{"no interval: the cap", 160e6, 0, max, max},
		{"few writes: a quarter of the cap", 160e6, 100 * time.Second, max, max / 4},
		{"between: done in half the interval", 160e6, 10 * time.Second, max, 32e6},
		{"many writes: the cap", 160e6, 2 * time.Second, max, max},
		{"huge need: the cap, not an overflow", 1 << 62, time.Nanosecond, max, max},
		{"tiny cap: the floor is not 0 (unpaced)", 1, time.Hour, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, snapshotPace(tc.last, tc.interval, tc.max))
		})
	}
}

// An automatic snapshot is paced from the previous snapshot's size and the
// time since the last automatic one.
func TestAutomaticSnapshotPace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(dir, &Options{SnapshotEvery: 1 << 30})
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	_, err = s.Create(ctx, "/a", []byte("x"), ModePersistent, OpenACL())
	require.NoError(t, err)
	_, err = db.Snapshot(ctx)
	require.NoError(t, err)
	written := db.mu.lastSnapshotSize
	require.Positive(t, written, "the size of the snapshot just written")
	require.NoError(t, db.Close())

	db, err = Open(dir, &Options{SnapshotEvery: 1 << 30})
	require.NoError(t, err)
	defer db.Close()

	db.mu.Lock()
	defer db.mu.Unlock()
	require.Equal(t, written, db.mu.lastSnapshotSize, "the size of the snapshot Open loaded")
	// Between the floor (16.8e6 B/s) and the cap (67.1e6 B/s): 24 MB to
	// write in half of the ~1 s the last snapshot's records took.
	db.mu.lastSnapshotSize = 24e6
	db.mu.lastAutoSnapshot = time.Now().Add(-time.Second)
	db.mu.sinceSnapshot = db.opts.SnapshotEvery
	require.True(t, db.snapshotDueLocked(1))
	job := db.snapshotJobLocked(db.mu.working.Snapshot())
	db.mu.snapshotting = false
	require.InDelta(t, 48e6, float64(job.pace), 1.5e6)
	require.WithinDuration(t, time.Now(), db.mu.lastAutoSnapshot, time.Second)
}
