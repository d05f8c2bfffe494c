package bench_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/bench"
)

// TestWorkloads runs every workload small, so they cannot rot. Set
// ZKEMBED_BENCH=1 for the full sizes of BENCHMARKS.md.
func TestWorkloads(t *testing.T) {
	cfg := bench.Config{Nodes: 2000}
	mem := bench.Config{Nodes: 20_000}
	if os.Getenv("ZKEMBED_BENCH") != "" {
		cfg, mem = bench.Config{}, bench.Config{Nodes: 1_000_000}
	} else if testing.Short() {
		t.Skip("benchmark workloads are slow in -short mode")
	}
	for _, g := range []int{1, 2} {
		c := cfg
		c.Goroutines = g
		reads, err := bench.Reads(c)
		require.NoError(t, err)
		for _, r := range reads {
			t.Log(r)
			require.Greater(t, r.Ratio, 0.0)
		}
	}
	ar, err := bench.ACL(cfg)
	require.NoError(t, err)
	t.Log(ar)
	require.Positive(t, ar.Check.NsPerOp)
	writes, err := bench.Writes(cfg)
	require.NoError(t, err)
	for _, w := range writes {
		t.Log(w)
	}
	durable := []bench.DurableConfig{
		{Writers: 2, Duration: 300 * time.Millisecond},
		{Writers: 2, Duration: 300 * time.Millisecond, RawWork: []time.Duration{5 * time.Microsecond}},
	}
	if os.Getenv("ZKEMBED_BENCH") != "" {
		durable = []bench.DurableConfig{{Writers: 1}, {Writers: 16}, {Writers: 64}}
	}
	for _, d := range durable {
		cmp, err := bench.Durable(d)
		require.NoError(t, err)
		// create and setData against raw pebble, then against each RawWork.
		require.Len(t, cmp, 2*(1+len(d.RawWork)))
		for _, c := range cmp {
			t.Log(c)
			require.Greater(t, c.Engine.Ops, int64(0))
			require.Greater(t, c.Raw.Ops, int64(0))
			require.Len(t, c.Ratios, 3, "one ratio per round")
			require.GreaterOrEqual(t, c.Ratio, slices.Min(c.Ratios))
			require.LessOrEqual(t, c.Ratio, slices.Max(c.Ratios))
		}
		for i, w := range d.RawWork {
			require.Contains(t, cmp[2+2*i].Raw.Name, w.String())
		}
	}
	rcfg := bench.RecoveryConfig{Nodes: 5000, LogRecords: 500}
	if os.Getenv("ZKEMBED_BENCH") != "" {
		rcfg = bench.RecoveryConfig{}
	}
	rep, err := bench.Recovery(rcfg)
	require.NoError(t, err)
	t.Log(rep)
	require.Positive(t, rep.Recovery.SnapshotZxid, "recovery starts from the snapshot")
	require.Equal(t, rep.LogRecords, rep.Recovery.Replayed, "and replays exactly the log after it")
	icfg := bench.SnapshotImpactConfig{Nodes: 5000, Writers: 2, Duration: 200 * time.Millisecond, Rounds: 2}
	if os.Getenv("ZKEMBED_BENCH") != "" {
		icfg = bench.SnapshotImpactConfig{}
	}
	impact, err := bench.SnapshotImpact(icfg)
	require.NoError(t, err)
	t.Log(impact)
	require.Positive(t, impact.Snapshots)
	require.Len(t, impact.Windows, 2*2)
	require.Greater(t, impact.MinOverlap, 0.5, "the during windows are mostly snapshot writing")
	icfg = bench.SnapshotImpactConfig{Nodes: 20_000, Writers: 2, Rounds: 2, Every: 5000}
	if os.Getenv("ZKEMBED_BENCH") != "" {
		icfg = bench.SnapshotImpactConfig{}
	}
	auto, err := bench.AutoSnapshotImpact(icfg)
	require.NoError(t, err)
	t.Log(auto)
	for _, w := range auto.Windows {
		t.Log(w)
	}
	require.True(t, auto.Auto)
	require.NotEmpty(t, auto.PairRatios)
	for i, w := range auto.Windows {
		require.Equal(t, i%2 == 0, w.During, "windows alternate, with a snapshot first")
		require.Positive(t, w.Writes, "writes go on in every window")
		if w.During {
			require.Positive(t, w.MiBPerSecond, "a snapshot's rate is known once renamed")
			require.LessOrEqual(t, w.MiBPerSecond, float64(zkembed.DefaultSnapshotBytesPerSecond>>20)*1.5, "the pace holds to about its cap")
		}
	}
	wcfg := bench.WatchConfig{Sessions: 500, Samples: 200, Watches: 2000, Others: 500, Rounds: 1}
	if os.Getenv("ZKEMBED_BENCH") != "" {
		wcfg = bench.WatchConfig{}
	}
	wr, err := bench.Watches(wcfg)
	require.NoError(t, err)
	t.Log(wr)
	require.Positive(t, wr.BytesPerOneShot)
	m, err := bench.Memory(mem)
	require.NoError(t, err)
	t.Log(m)
	require.Greater(t, m.HeapPerNode, float64(m.DataSize), "the data itself is on the heap")
}

// The lock workload runs on both engines and counts real handoffs (it
// fails if two contenders ever hold the lock at once).
func TestLockWorkload(t *testing.T) {
	rs, err := bench.Lock(bench.LockConfig{Contenders: 8, Duration: 200 * time.Millisecond, DurableDir: t.TempDir()})
	require.NoError(t, err)
	require.Len(t, rs, 2)
	for _, r := range rs {
		t.Log(r)
		require.Positive(t, r.Handoffs, r.Target)
	}
}

func TestDiskSync(t *testing.T) {
	dir := t.TempDir()
	r, err := bench.DiskSync(dir, 50*time.Millisecond)
	require.NoError(t, err)
	require.Positive(t, r.Syncs)
	require.LessOrEqual(t, r.P50, r.P99)
	require.Positive(t, r.PerSec)
	require.Contains(t, r.String(), "fdatasync")
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "DiskSync removes its file")
}
