package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/bench"
)

// Every workload runs on embedded etcd with two clients, gives non-zero
// throughput and ordered percentiles, and the server and its goroutines
// are gone once the target is closed.
func TestEtcdEveryWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd server")
	}
	noLeaks(t)
	ctx := context.Background()
	etcd := bench.EtcdTarget(t.TempDir())
	closeAtEnd(t, etcd)
	for _, w := range bench.WorkloadNames {
		t.Run(w, func(t *testing.T) {
			r, err := bench.Run(ctx, bench.RunConfig{Target: etcd, Workload: w, Clients: 2, ReadRatio: 0.5, Duration: 100 * time.Millisecond})
			require.NoError(t, err)
			checkResult(t, r)
			require.Equal(t, bench.TargetEtcd, r.Target)
			require.Equal(t, w, r.Workload)
		})
	}
}

// A plan with etcd and the in-memory engine has ratios to etcd for every
// row, in one table column.
func TestEtcdRatios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd server")
	}
	noLeaks(t)
	etcd := bench.EtcdTarget(t.TempDir())
	closeAtEnd(t, etcd)
	p := bench.Plan{Targets: []bench.Target{etcd, target(t, bench.TargetMem)},
		Workloads: []string{bench.WorkGet}, Clients: []int{1}, Base: bench.RunConfig{Duration: 50 * time.Millisecond}}
	rs, err := bench.RunPlan(context.Background(), p, nil)
	require.NoError(t, err)
	require.Len(t, rs, 2)
	for _, r := range bench.Ratios(rs, bench.TargetEtcd) {
		require.Positive(t, r)
	}
}

// With two peers the table has a ratio column for each.
func TestWriteTableTwoPeers(t *testing.T) {
	rs := []bench.Result{
		{Target: bench.TargetZK, Workload: bench.WorkGet, Clients: 1, OpsPerSec: 1000},
		{Target: bench.TargetEtcd, Workload: bench.WorkGet, Clients: 1, OpsPerSec: 4000},
		{Target: bench.TargetMem, Workload: bench.WorkGet, Clients: 1, OpsPerSec: 80000},
	}
	var b bytes.Buffer
	require.NoError(t, bench.WriteTable(&b, rs, bench.TargetZK, bench.TargetEtcd))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 4)
	require.Contains(t, lines[0], "× zookeeper  × etcd")
	require.Regexp(t, `80\.00x +20\.00x$`, lines[3])
	require.Regexp(t, `4\.00x +1\.00x$`, lines[2])
}
