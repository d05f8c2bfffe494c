package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkembed/zkembed/bench"
)

// workloadFlags are the flags of the workload runner (bench.Run): any of
// them selects it instead of the fixed benchmark suite.
type workloadFlags struct {
	workloads  string
	clients    string
	readRatio  string
	sessions   string
	targets    string
	json, csv  bool
	chart      string
	duration   time.Duration
	warmup     time.Duration
	rounds     int
	ops        int64
	progress   bool
	rollover   bool
	counterBit int
	forcedBits int
}

// workloadFlagNames are the flags that select the workload runner.
var workloadFlagNames = []string{"workload", "clients", "readratio", "sessions", "target", "json", "csv", "chart", "duration", "warmup", "rounds", "ops", "progress", "rollover", "counter-bits", "rollover-bits"}

func (f *workloadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.workloads, "workload", "", "comma-separated workloads to run on every target, with ops/s and p50/p99/p999 latency: "+
		strings.Join(bench.WorkloadNames, ", ")+", or all (mixed is getData with probability -readratio, else setData)")
	fs.StringVar(&f.clients, "clients", "1,16", "comma-separated client counts (each client is its own session and goroutine)")
	fs.StringVar(&f.readRatio, "readratio", "", "read percentages of the mixed workload, comma-separated, or sweep for 0,10,...,100 (the ZooKeeper paper's sweep); adds mixed to -workload")
	fs.StringVar(&f.sessions, "sessions", "", "sweep the client count 1,2,4,...,N instead of -clients: N, or sweep for 64")
	fs.StringVar(&f.targets, "target", "mem,durable", "comma-separated embedded targets: mem (in memory), durable (data directory, synced), dialer (go-zookeeper through the in-process dialer), serve (go-zookeeper over loopback TCP); -vs adds a ZooKeeper, embedded etcd, or both")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per result (target, workload, clients, ops_per_sec, p50_us, p99_us, p999_us, ...) instead of a table")
	fs.BoolVar(&f.csv, "csv", false, "print CSV with a header row instead of a table")
	fs.StringVar(&f.chart, "chart", "", "write an SVG chart of throughput vs read ratio and vs sessions (needs -readratio or -sessions with several values) to this file")
	fs.DurationVar(&f.duration, "duration", 2*time.Second, "how long each workload runs per target and client count")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "before measuring, run the mixed workload this long on every target (a JVM compiles in its first seconds); 0 skips it")
	fs.IntVar(&f.rounds, "rounds", 1, "measure each workload and client count this many times on every target, the targets in turn and in reversed order every other round, and report each target's rounds merged (the table adds each round's ratio to -vs, JSON each round's ops/s)")
	fs.Int64Var(&f.ops, "ops", 0, "stop each run after this many operations (0: after -duration only)")
	fs.BoolVar(&f.progress, "progress", false, "draw a progress bar on stderr even when it is not a terminal")
	fs.BoolVar(&f.rollover, "rollover", false, "zxid rollover: project the time to the next epoch change at the measured write rate, then force epoch changes with -rollover-bits and report pauses and failed requests")
	fs.IntVar(&f.counterBit, "counter-bits", 32, "the configured zxid counter width the -rollover projection is made for, beside ZooKeeper's 32")
	fs.IntVar(&f.forcedBits, "rollover-bits", 10, "zxid counter width of the forced -rollover run (10: an epoch change every 1022 writes)")
}

// selected reports whether a workload-runner flag was given.
func (f *workloadFlags) selected(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || slices.Contains(workloadFlagNames, fl.Name) })
	return set
}

// plan turns the flags into a bench.Plan (without targets).
func (f *workloadFlags) plan() (bench.Plan, error) {
	var p bench.Plan
	for _, w := range splitList(f.workloads) {
		if w == "all" {
			p.Workloads = append(p.Workloads, bench.WorkloadNames...)
			continue
		}
		if !slices.Contains(bench.WorkloadNames, w) {
			return p, fmt.Errorf("-workload: unknown workload %q (known: %s, all)", w, strings.Join(bench.WorkloadNames, ", "))
		}
		p.Workloads = append(p.Workloads, w)
	}
	switch f.readRatio {
	case "":
	case "sweep":
		p.ReadRatio = bench.ReadRatioSweep()
	default:
		for _, v := range splitList(f.readRatio) {
			pct, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
			if err != nil || pct < 0 || pct > 100 {
				return p, fmt.Errorf("-readratio: %q is not a percentage from 0 to 100", v)
			}
			p.ReadRatio = append(p.ReadRatio, pct/100)
		}
	}
	if len(p.ReadRatio) > 0 && !slices.Contains(p.Workloads, bench.WorkMixed) {
		p.Workloads = append(p.Workloads, bench.WorkMixed)
	}
	p.Workloads = slices.Compact(p.Workloads)
	switch f.sessions {
	case "":
		for _, v := range splitList(f.clients) {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return p, fmt.Errorf("-clients: %q is not a positive count", v)
			}
			p.Clients = append(p.Clients, n)
		}
	case "sweep":
		p.Clients = bench.SessionSweep(64)
	default:
		n, err := strconv.Atoi(f.sessions)
		if err != nil || n < 1 {
			return p, fmt.Errorf("-sessions wants sweep or a positive count, got %q", f.sessions)
		}
		p.Clients = bench.SessionSweep(n)
	}
	if f.rounds < 1 {
		return p, fmt.Errorf("-rounds %d: must be at least 1", f.rounds)
	}
	p.Base = bench.RunConfig{Duration: f.duration, Ops: f.ops}
	p.Warmup, p.Rounds = f.warmup, f.rounds
	return p, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// runWorkloads runs the workload runner: the plan the flags describe on
// every target (the peers of -vs first, in its order: the ratios are to
// them), then -rollover.
func runWorkloads(f workloadFlags, vs string, dataSize int) error {
	if f.json && f.csv {
		return fmt.Errorf("-json and -csv: choose one")
	}
	if f.counterBit < 2 || f.counterBit > 48 || f.forcedBits < 2 || f.forcedBits > 48 {
		return fmt.Errorf("-counter-bits and -rollover-bits must be from 2 to 48 (zkembed.Options.ZxidCounterBits)")
	}
	p, err := f.plan()
	if err != nil {
		return err
	}
	p.Base.DataSize = dataSize
	if len(p.Workloads) == 0 && !f.rollover {
		return fmt.Errorf("nothing to run: give -workload (or -readratio, or -rollover)")
	}
	peers, err := parseVs(vs)
	if err != nil {
		return err
	}
	var peerNames []string
	for _, pr := range peers {
		tg := bench.EtcdTarget("")
		if pr.name == bench.TargetZK {
			tg = bench.ZooKeeperTarget(pr.name, pr.addr)
		}
		p.Targets = append(p.Targets, tg)
		peerNames = append(peerNames, pr.name)
	}
	for _, name := range splitList(f.targets) {
		tg, err := bench.NewTarget(name, "", nil)
		if err != nil {
			closeTargets(p.Targets)
			return fmt.Errorf("-target: %w", err)
		}
		p.Targets = append(p.Targets, tg)
	}
	defer closeTargets(p.Targets)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stderrTTY := isTerminal(os.Stderr)
	if len(p.Workloads) > 0 {
		if f.progress || stderrTTY {
			p.Base.Progress = bench.NewProgress(os.Stderr, len(p.Configs()))
		}
		results, err := bench.RunPlan(ctx, p, nil)
		p.Base.Progress.Close()
		if err != nil {
			// What was measured before the failure is still worth seeing.
			printResults(os.Stdout, f, results, peerNames)
			return err
		}
		if err := printResults(os.Stdout, f, results, peerNames); err != nil {
			return err
		}
		if f.chart != "" {
			if err := writeChart(f.chart, results); err != nil {
				return err
			}
		}
	}
	if f.rollover {
		return runRollover(ctx, f, p)
	}
	return nil
}

// closeTargets stops what the targets kept between runs, reporting a
// failure on stderr (the results are already printed).
func closeTargets(targets []bench.Target) {
	if err := bench.CloseTargets(targets); err != nil {
		fmt.Fprintln(os.Stderr, "bench: closing targets:", err)
	}
}

// printResults prints the results with ratios to each peer (JSON and CSV:
// to the first), then, with etcd among the targets, how the workloads map
// onto it (on stderr beside JSON or CSV, which stay parseable).
func printResults(w io.Writer, f workloadFlags, results []bench.Result, peers []string) error {
	first := ""
	if len(peers) > 0 {
		first = peers[0]
	}
	var err error
	switch {
	case f.json:
		err = bench.WriteJSON(w, results, first)
	case f.csv:
		err = bench.WriteCSV(w, results, first)
	default:
		err = bench.WriteTable(w, results, peers...)
	}
	if err == nil && slices.Contains(peers, bench.TargetEtcd) {
		note := w
		if f.json || f.csv {
			note = os.Stderr
		}
		_, err = fmt.Fprintln(note, "\n"+bench.EtcdNote)
	}
	return err
}

func writeChart(file string, results []bench.Result) error {
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := bench.WriteChart(out, results); err != nil {
		out.Close()
		os.Remove(file)
		return err
	}
	return out.Close()
}

// runRollover measures the setData rate on each target with the most
// clients of the plan, projects the time to the next epoch change for
// ZooKeeper's 32-bit counter and for -counter-bits, then forces epoch
// changes on the in-memory and durable engines with -rollover-bits.
func runRollover(ctx context.Context, f workloadFlags, p bench.Plan) error {
	writers := slices.Max(p.Clients)
	out := os.Stdout
	fmt.Fprintf(out, "zxid rollover: time to the next epoch change at the setData rate of %d clients\n", writers)
	for _, tg := range p.Targets {
		if tg.Name() == bench.TargetEtcd {
			fmt.Fprintf(out, "  %-10s skipped: revisions are 64-bit, there is no epoch to roll over\n", tg.Name())
			continue
		}
		cfg := p.Base
		cfg.Target, cfg.Workload, cfg.Clients, cfg.Progress = tg, bench.WorkSet, writers, nil
		r, err := bench.Run(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-10s %9.0f writes/s: 32-bit counter (ZooKeeper's) %s; configured %d-bit counter %s\n",
			tg.Name(), r.OpsPerSec, bench.FormatSpan(bench.ProjectRollover(r.OpsPerSec, 32)),
			f.counterBit, bench.FormatSpan(bench.ProjectRollover(r.OpsPerSec, f.counterBit)))
	}
	closeTargets(p.Targets) // their background work stays out of the forced runs
	for _, durable := range []bool{false, true} {
		rep, err := bench.Rollover(ctx, bench.RolloverConfig{CounterBits: f.forcedBits, Writers: writers, Duration: f.duration, Durable: durable})
		fmt.Fprintln(out, rep)
		if err != nil {
			return err
		}
	}
	return nil
}

// peer is a server of -vs: a ZooKeeper at an address, or etcd embedded.
type peer struct{ name, addr string }

// parseVs parses -vs: "", or a comma-separated list of zookeeper=HOST:PORT
// and etcd, each at most once.
func parseVs(vs string) ([]peer, error) {
	var peers []peer
	for _, v := range splitList(vs) {
		p := peer{name: bench.TargetEtcd}
		if v != bench.TargetEtcd {
			addr, err := zookeeperAddr(v)
			if err != nil {
				return nil, fmt.Errorf("-vs wants zookeeper=HOST:PORT, etcd, or both comma-separated, got %q", v)
			}
			p = peer{name: bench.TargetZK, addr: addr}
		}
		if slices.ContainsFunc(peers, func(q peer) bool { return q.name == p.name }) {
			return nil, fmt.Errorf("-vs: %s given twice", p.name)
		}
		peers = append(peers, p)
	}
	return peers, nil
}

// vsWantsRunner reports whether -vs names etcd, which only the workload
// runner can run.
func vsWantsRunner(vs string) bool {
	return slices.Contains(splitList(vs), bench.TargetEtcd)
}

// isTerminal reports whether f is a character device (a terminal), the
// only place a progress bar redrawn with \r belongs.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
