package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/bench"
)

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	nodes := fs.Int("nodes", 100_000, "znodes in the tree for the read and write workloads")
	dataSize := fs.Int("data", 100, "bytes of data per znode")
	memNodes := fs.Int("mem-nodes", 1_000_000, "znodes for the memory workload (0 skips it)")
	durable := fs.Duration("durable", 2*time.Second, "how long each durable write workload runs")
	recoveryNodes := fs.Int("recovery-nodes", 1_000_000, "znodes for the recovery and snapshot-impact workloads (0 skips them)")
	watchSessions := fs.Int("watch-sessions", 10_000, "sessions fired by one write in the watch workload")
	wireOnly := fs.Bool("wire", false, "run only the client-protocol workloads (go-zookeeper against zkembed serve)")
	vs := fs.String("vs", "", "zookeeper=HOST:PORT: also run the client-protocol workloads (with -lock, the lock workload; with -workload and the other workload flags, those workloads) on a real ZooKeeper in the same run and print ratios to it; "+
		"etcd (with -workload and the other workload flags only): also run them on an etcd server embedded in the process, through its in-process client, and print ratios to it; zookeeper=HOST:PORT,etcd: both")
	lockOnly := fs.Bool("lock", false, "run only the lock-contention workload (recipe.Lock handoffs)")
	contenders := fs.Int("contenders", 50, "contending sessions in the lock workload")
	load := fs.Bool("load", false, "run only the load test: -load-nodes znodes, -load-sessions sessions and -load-watches watches in one process, then -load-clients clients on a get/set/multi mix for -load-duration (heap, goroutines, latency, limits)")
	loadNodes := fs.Int("load-nodes", 1_000_000, "znodes of the load test")
	loadSessions := fs.Int("load-sessions", 10_000, "open sessions of the load test")
	loadWatches := fs.Int("load-watches", 100_000, "one-shot watches of the load test")
	loadClients := fs.Int("load-clients", 16, "concurrent clients of the load test's mix")
	loadDuration := fs.Duration("load-duration", 5*time.Second, "how long the load test's mix runs")
	loadDir := fs.String("load-dir", "", "data directory of the load test's engine (default: in memory)")
	snapImpact := fs.Bool("snapshot-impact", false, "run only the snapshot-impact workload: synced setData p99 with and without snapshots of a -recovery-nodes tree, in -snapshot-rounds alternating window pairs")
	snapRounds := fs.Int("snapshot-rounds", 5, "window pairs of the snapshot-impact workload")
	snapRate := fs.Int64("snapshot-rate", zkembed.DefaultSnapshotBytesPerSecond>>20, "MiB/s the snapshot-impact workload writes its snapshots at (DB.Snapshot's rate; an automatic snapshot may go as slowly as a quarter of the default)")
	snapAuto := fs.Bool("snapshot-auto", false, "with -snapshot-impact: measure the engine's automatic snapshots (every -snapshot-every records, at the pace the engine picks, -snapshot-rate at most) instead of DB.Snapshot calls at -snapshot-rate, the writes never pausing")
	snapEvery := fs.Int("snapshot-every", zkembed.DefaultSnapshotEvery, "with -snapshot-auto: logged records between automatic snapshots (Options.SnapshotEvery)")
	snapWriters := fs.Int("snapshot-writers", 4, "synced setData sessions of the snapshot-impact workload")
	snapChurn := fs.Int("snapshot-churn", 0, "setData calls over the tree before the snapshot-impact windows (a tree written to for a while is slower to walk)")
	durableOnly := fs.Bool("durable-writes", false, "run only the durable write comparison: synced create and setData with 1, 16 and 64 sessions beside raw pebble synced commits, in -durable-rounds alternating windows")
	durableRounds := fs.Int("durable-rounds", 3, "alternating windows of the durable write comparison (each side runs -durable in all)")
	rawWork := fs.String("raw-work", "", "comma-separated CPU times (e.g. 5us,10us) that extra raw pebble sides of the durable write comparison (the default run and -durable-writes) spend per write before committing")
	var wf workloadFlags
	wf.register(fs)
	fs.Parse(args)
	work, err := parseDurations(*rawWork)
	if err != nil {
		return fmt.Errorf("-raw-work: %w", err)
	}
	if *durableRounds < 1 {
		return fmt.Errorf("-durable-rounds %d: must be at least 1", *durableRounds)
	}
	if *snapWriters < 1 {
		return fmt.Errorf("-snapshot-writers %d: must be at least 1", *snapWriters)
	}
	if *snapEvery < 1 {
		return fmt.Errorf("-snapshot-every %d: must be at least 1", *snapEvery)
	}
	if *snapRate < 1 || *snapRate > 1<<20 {
		return fmt.Errorf("-snapshot-rate %d: must be 1 to %d MiB/s", *snapRate, 1<<20)
	}
	if *load {
		r, err := bench.Load(bench.LoadConfig{Dir: *loadDir, Nodes: *loadNodes, Sessions: *loadSessions, Watches: *loadWatches,
			Clients: *loadClients, Duration: *loadDuration, DataSize: *dataSize})
		fmt.Println(r)
		return err
	}
	if *snapImpact {
		cfg := bench.SnapshotImpactConfig{Nodes: *recoveryNodes, Rounds: *snapRounds, Churn: *snapChurn, BytesPerSecond: *snapRate << 20, Every: *snapEvery, Writers: *snapWriters}
		run := bench.SnapshotImpact
		if *snapAuto {
			run = bench.AutoSnapshotImpact
		}
		r, err := run(cfg)
		for _, w := range r.Windows {
			fmt.Println(" ", w)
		}
		fmt.Println(r)
		return err
	}
	durableWrites := func() error {
		for _, w := range []int{1, 16, 64} {
			cmp, err := bench.Durable(bench.DurableConfig{Writers: w, Duration: *durable, DataSize: *dataSize, Rounds: *durableRounds, RawWork: work})
			if err != nil {
				return err
			}
			for _, c := range cmp {
				fmt.Println(c)
			}
		}
		return nil
	}
	if *durableOnly {
		if err := durableWrites(); err != nil {
			return err
		}
		disk, err := bench.DiskSync("", *durable)
		fmt.Println(disk)
		return err
	}
	if wf.selected(fs) || vsWantsRunner(*vs) {
		return runWorkloads(wf, *vs, *dataSize)
	}
	if *lockOnly {
		return runLockBench(*vs, *contenders, *durable)
	}
	if *wireOnly || *vs != "" {
		return runWireBench(*vs, *durable, *dataSize)
	}
	for _, g := range []int{1, 2} {
		reads, err := bench.Reads(bench.Config{Nodes: *nodes, DataSize: *dataSize, Goroutines: g})
		if err != nil {
			return err
		}
		for _, r := range reads {
			fmt.Println(r)
		}
	}
	aclRep, err := bench.ACL(bench.Config{Nodes: *nodes, DataSize: *dataSize})
	if err != nil {
		return err
	}
	fmt.Println(aclRep)
	writes, err := bench.Writes(bench.Config{Nodes: *nodes, DataSize: *dataSize})
	if err != nil {
		return err
	}
	for _, w := range writes {
		fmt.Println(w)
	}
	if err := durableWrites(); err != nil {
		return err
	}
	disk, err := bench.DiskSync("", *durable)
	if err != nil {
		return err
	}
	fmt.Println(disk)
	if *recoveryNodes > 0 {
		rep, err := bench.Recovery(bench.RecoveryConfig{Nodes: *recoveryNodes, LogRecords: *recoveryNodes / 10, DataSize: *dataSize})
		if err != nil {
			return err
		}
		fmt.Println(rep)
		impact, err := bench.SnapshotImpact(bench.SnapshotImpactConfig{Nodes: *recoveryNodes})
		if err != nil {
			return err
		}
		fmt.Println(impact)
	}
	wr, err := bench.Watches(bench.WatchConfig{Sessions: *watchSessions})
	if err != nil {
		return err
	}
	fmt.Println(wr)
	if *memNodes > 0 {
		m, err := bench.Memory(bench.Config{Nodes: *memNodes, DataSize: *dataSize})
		if err != nil {
			return err
		}
		fmt.Println(m)
	}
	return nil
}

// zookeeperAddr parses -vs: "" or zookeeper=HOST:PORT.
func zookeeperAddr(vs string) (string, error) {
	if vs == "" {
		return "", nil
	}
	name, addr, ok := strings.Cut(vs, "=")
	if !ok || name != "zookeeper" || addr == "" {
		return "", fmt.Errorf("-vs wants zookeeper=HOST:PORT, got %q", vs)
	}
	return addr, nil
}

func runLockBench(vs string, contenders int, d time.Duration) error {
	addr, err := zookeeperAddr(vs)
	if err != nil {
		return err
	}
	results, err := bench.Lock(bench.LockConfig{ZooKeeper: addr, Contenders: contenders, Duration: d})
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Println(r)
	}
	return nil
}

// runWireBench runs go-zookeeper's getData, setData and create against
// zkembed's wire server (TCP and in process) and, with vs, a real
// ZooKeeper in the same run.
func runWireBench(vs string, d time.Duration, dataSize int) error {
	addr, err := zookeeperAddr(vs)
	if err != nil {
		return err
	}
	targets, stop, err := bench.WireEngine("")
	if err != nil {
		return err
	}
	defer stop()
	if addr != "" {
		targets = append([]bench.WireTarget{{Name: "zookeeper", Addr: addr}}, targets...)
	}
	results, err := bench.Wire(bench.WireConfig{Targets: targets, Duration: d, DataSize: dataSize})
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Println(r)
	}
	if vs != "" {
		fmt.Print(bench.WireRatios(results, "zookeeper"))
		// The disk's scale for writes, in the same run: each client
		// waits for an fsync per write, on ZooKeeper's side as on ours.
		for _, w := range []int{1, 16} {
			raw, err := bench.RawSyncedCommits("", w, d, dataSize)
			if err != nil {
				return err
			}
			fmt.Printf("for scale: %s %8.0f ops/s\n", raw.Name, raw.OpsPerSec)
		}
		disk, err := bench.DiskSync("", d)
		if err != nil {
			return err
		}
		fmt.Println("for scale:", disk)
	}
	return nil
}

// parseDurations parses a comma-separated list of durations ("" is none).
func parseDurations(list string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil {
			return nil, err
		}
		if d <= 0 {
			return nil, fmt.Errorf("%v is not a positive duration", d)
		}
		out = append(out, d)
	}
	return out, nil
}
