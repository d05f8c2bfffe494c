package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/bench"
)

// With a small counter, concurrent writers go through epoch changes and
// no request fails, in memory and on disk.
func TestRolloverRun(t *testing.T) {
	noLeaks(t)
	for _, durable := range []bool{false, true} {
		r, err := bench.Rollover(context.Background(), bench.RolloverConfig{CounterBits: 6, Writers: 4, Duration: 150 * time.Millisecond, Durable: durable, Dir: t.TempDir()})
		require.NoError(t, err)
		t.Log(r)
		require.Zero(t, r.Failed)
		require.GreaterOrEqual(t, r.EpochChanges, int64(1))
		require.Positive(t, r.BoundaryWrites)
		require.LessOrEqual(t, r.P99us, r.MaxUs)
		require.LessOrEqual(t, r.BoundaryMaxUs, r.MaxUs)
	}
}

func TestProjectRollover(t *testing.T) {
	require.Equal(t, 62.0, bench.CountersPerEpoch(6))
	// ZooKeeper's 2^32-2 counters at 10,000 writes/s: about 4.97 days.
	d := bench.ProjectRollover(10_000, 32)
	require.InDelta(t, float64(4294967294)/10_000, d.Seconds(), 1e-3)
	require.Equal(t, "5.0 days", bench.FormatSpan(d))
	require.Equal(t, "> 290 years", bench.FormatSpan(bench.ProjectRollover(1, 48)))
	require.Equal(t, "1.022s", bench.FormatSpan(bench.ProjectRollover(1000, 10)))
}
