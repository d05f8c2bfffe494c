package main

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/bench"
)

func parseWorkloadFlags(t *testing.T, args ...string) (workloadFlags, *flag.FlagSet) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var f workloadFlags
	f.register(fs)
	fs.Bool("wire", false, "")
	require.NoError(t, fs.Parse(args))
	return f, fs
}

// The old commands keep their meaning: only the runner's flags select it.
func TestWorkloadFlagsSelect(t *testing.T) {
	f, fs := parseWorkloadFlags(t, "-wire")
	require.False(t, f.selected(fs))
	f, fs = parseWorkloadFlags(t, "-json")
	require.True(t, f.selected(fs))
}

func TestWorkloadFlagsPlan(t *testing.T) {
	f, _ := parseWorkloadFlags(t, "-workload", "get, set", "-readratio", "sweep", "-sessions", "8", "-duration", "1s", "-warmup", "0")
	p, err := f.plan()
	require.NoError(t, err)
	require.Equal(t, []string{bench.WorkGet, bench.WorkSet, bench.WorkMixed}, p.Workloads, "-readratio adds mixed")
	require.Equal(t, []int{1, 2, 4, 8}, p.Clients)
	require.Len(t, p.ReadRatio, 11)
	require.Equal(t, time.Second, p.Base.Duration)
	require.Zero(t, p.Warmup)

	f, _ = parseWorkloadFlags(t, "-workload", "all", "-clients", "3", "-readratio", "0,95%")
	p, err = f.plan()
	require.NoError(t, err)
	require.Equal(t, bench.WorkloadNames, p.Workloads)
	require.Equal(t, []int{3}, p.Clients)
	require.Equal(t, []float64{0, 0.95}, p.ReadRatio)

	for _, bad := range [][]string{{"-workload", "nope"}, {"-clients", "0"}, {"-readratio", "101"}, {"-sessions", "x"}} {
		f, _ = parseWorkloadFlags(t, bad...)
		_, err = f.plan()
		require.Error(t, err, bad)
	}
}

func TestParseVs(t *testing.T) {
	peers, err := parseVs("zookeeper=127.0.0.1:2181")
	require.NoError(t, err)
	require.Equal(t, []peer{{name: bench.TargetZK, addr: "127.0.0.1:2181"}}, peers)
	peers, err = parseVs("etcd")
	require.NoError(t, err)
	require.Equal(t, []peer{{name: bench.TargetEtcd}}, peers)
	peers, err = parseVs("zookeeper=127.0.0.1:2181, etcd")
	require.NoError(t, err)
	require.Equal(t, []peer{{name: bench.TargetZK, addr: "127.0.0.1:2181"}, {name: bench.TargetEtcd}}, peers, "in the order given")
	peers, err = parseVs("")
	require.NoError(t, err)
	require.Empty(t, peers)
	for _, bad := range []string{"etcd=1.2.3.4:2379", "zookeeper", "etcd,etcd", "zk=1.2.3.4:2181"} {
		_, err = parseVs(bad)
		require.Error(t, err, bad)
	}
	require.True(t, vsWantsRunner("zookeeper=127.0.0.1:2181,etcd"))
	require.False(t, vsWantsRunner("zookeeper=127.0.0.1:2181"))
}
