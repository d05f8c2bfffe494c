package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/bench"
	"github.com/zkembed/zkembed/internal/zkserver"
)

// The same workloads run on a real ZooKeeper 3.8 beside the embedded
// engine, and the ratios compare them. Skipped when ZooKeeper is not
// installed, unless ZKEMBED_ZK_REQUIRED=1.
func TestWorkloadsOnZooKeeper(t *testing.T) {
	srv := zkserver.Start(t)
	zk := bench.ZooKeeperTarget(bench.TargetZK, srv.Addr)
	p := bench.Plan{
		Targets:   []bench.Target{zk, target(t, bench.TargetMem)},
		Workloads: []string{bench.WorkGet, bench.WorkMulti, bench.WorkWatch, bench.WorkLock, bench.WorkMixed},
		Clients:   []int{2}, ReadRatio: []float64{0.5},
		Base: bench.RunConfig{Duration: 150 * time.Millisecond},
	}
	rs, err := bench.RunPlan(context.Background(), p, nil)
	require.NoError(t, err)
	require.Len(t, rs, 10)
	ratios := bench.Ratios(rs, bench.TargetZK)
	for i, r := range rs {
		checkResult(t, r)
		require.Positive(t, ratios[i], "every result has ZooKeeper's beside it")
	}
}
