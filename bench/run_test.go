package bench_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed/bench"
	"github.com/zkembed/zkembed/znode"
)

// target returns the embedded target name, closed when the test ends.
func target(t *testing.T, name string) bench.Target {
	tg, err := bench.NewTarget(name, t.TempDir(), nil)
	require.NoError(t, err)
	closeAtEnd(t, tg)
	return tg
}

// closeAtEnd stops what tg keeps between runs when the test ends.
func closeAtEnd(t *testing.T, tg bench.Target) {
	t.Cleanup(func() { require.NoError(t, bench.CloseTargets([]bench.Target{tg})) })
}

// noLeaks checks, once the test and its cleanups (targets closed) are
// done, that it left no goroutine running. Call it first: cleanups run
// last-registered first.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

func checkResult(t *testing.T, r bench.Result) {
	t.Helper()
	t.Logf("%s %s %d clients: %.0f ops/s p50 %.1fµs p99 %.1fµs p999 %.1fµs errors %d", r.Target, r.Label(), r.Clients, r.OpsPerSec, r.P50us, r.P99us, r.P999us, r.Errors)
	require.Positive(t, r.Ops, r.FirstError)
	require.Zero(t, r.Errors, r.FirstError)
	require.Positive(t, r.OpsPerSec)
	require.Positive(t, r.P50us)
	require.LessOrEqual(t, r.P50us, r.P99us)
	require.LessOrEqual(t, r.P99us, r.P999us)
	require.LessOrEqual(t, r.P999us, r.MaxUs)
}

// Every workload runs on the in-memory engine with a few clients, gives
// non-zero throughput and ordered percentiles, and leaves no goroutine
// behind.
func TestRunEveryWorkload(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	mem := target(t, bench.TargetMem)
	for _, w := range bench.WorkloadNames {
		t.Run(w, func(t *testing.T) {
			r, err := bench.Run(ctx, bench.RunConfig{Target: mem, Workload: w, Clients: 3, ReadRatio: 0.5, Duration: 60 * time.Millisecond})
			require.NoError(t, err)
			checkResult(t, r)
			require.Equal(t, w, r.Workload)
			require.Equal(t, 3, r.Clients)
		})
	}
}

// Ops bounds a run by operation count instead of time.
func TestRunOps(t *testing.T) {
	r, err := bench.Run(context.Background(), bench.RunConfig{Target: target(t, bench.TargetMem), Workload: bench.WorkSet, Clients: 2, Ops: 500})
	require.NoError(t, err)
	require.InDelta(t, 500, r.Ops, 2, "each client stops once the count is reached")
}

// The go-zookeeper targets (in-process dialer, TCP) and the durable engine
// run the same code.
func TestRunOtherTargets(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	for _, name := range []string{bench.TargetDurable, bench.TargetDialer, bench.TargetServe} {
		for _, w := range []string{bench.WorkMulti, bench.WorkWatch} {
			r, err := bench.Run(ctx, bench.RunConfig{Target: target(t, name), Workload: w, Clients: 2, Duration: 80 * time.Millisecond})
			require.NoError(t, err, name)
			checkResult(t, r)
			require.Equal(t, name, r.Target)
		}
	}
}

func TestUnknownNames(t *testing.T) {
	_, err := bench.NewTarget("nope", "", nil)
	require.ErrorContains(t, err, "unknown target")
	_, err = bench.Run(context.Background(), bench.RunConfig{Target: target(t, bench.TargetMem), Workload: "nope"})
	require.ErrorContains(t, err, "unknown workload")
}

// A plan with both sweeps has one run per workload, ratio, client count
// and target, in that nesting, targets innermost.
func TestPlanSweeps(t *testing.T) {
	require.Equal(t, []int{1, 2, 4, 8, 16}, bench.SessionSweep(16))
	require.Equal(t, []int{1, 2, 4, 6}, bench.SessionSweep(6))
	rr := bench.ReadRatioSweep()
	require.Len(t, rr, 11)
	require.Equal(t, 0.0, rr[0])
	require.Equal(t, 1.0, rr[10])
	require.InDelta(t, 0.3, rr[3], 1e-9)

	a, b := target(t, bench.TargetMem), target(t, bench.TargetDurable)
	p := bench.Plan{Targets: []bench.Target{a, b}, Workloads: []string{bench.WorkGet, bench.WorkMixed},
		Clients: []int{1, 2}, ReadRatio: []float64{0, 0.5, 1}}
	cs := p.Configs()
	require.Len(t, cs, 2*2+2*3*2)
	require.Equal(t, bench.WorkGet, cs[0].Workload)
	require.Equal(t, "mem", cs[0].Target.Name())
	require.Equal(t, "durable", cs[1].Target.Name())
	last := cs[len(cs)-1]
	require.Equal(t, bench.WorkMixed, last.Workload)
	require.Equal(t, 2, last.Clients)
	require.Equal(t, 1.0, last.ReadRatio)
}

// A read-ratio sweep of the mixed workload produces one point per ratio
// and target; ops are mostly reads or writes as asked.
func TestReadRatioSweepRuns(t *testing.T) {
	noLeaks(t)
	p := bench.Plan{Targets: []bench.Target{target(t, bench.TargetMem)}, Workloads: []string{bench.WorkMixed},
		Clients: []int{2}, ReadRatio: []float64{0, 0.5, 1}, Base: bench.RunConfig{Duration: 50 * time.Millisecond}}
	var seen int
	rs, err := bench.RunPlan(context.Background(), p, func(bench.Result) { seen++ })
	require.NoError(t, err)
	require.Len(t, rs, 3)
	require.Equal(t, 3, seen)
	for i, r := range rs {
		checkResult(t, r)
		require.Equal(t, p.ReadRatio[i], r.ReadRatio)
	}
}

func sampleResults() []bench.Result {
	return []bench.Result{
		{Target: "zookeeper", Workload: "get", Clients: 1, OpsPerSec: 1000, P50us: 900, P99us: 2000, P999us: 5000, MaxUs: 6000, Ops: 2000, Elapsed: 2 * time.Second},
		{Target: "mem", Workload: "get", Clients: 1, OpsPerSec: 50000, P50us: 1.5, P99us: 9, P999us: 30, MaxUs: 40, Ops: 100000, Elapsed: 2 * time.Second},
		{Target: "mem", Workload: "mixed", ReadRatio: 0.9, Clients: 16, OpsPerSec: 20000, P50us: 10, P99us: 90, P999us: 300, MaxUs: 400, Ops: 40000, Elapsed: 2 * time.Second},
	}
}

// -json is one object per line with the field names.
func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, bench.WriteJSON(&b, sampleResults(), "zookeeper"))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, `{"target":"zookeeper","workload":"get","clients":1,"ops_per_sec":1000,"p50_us":900,"p99_us":2000,"p999_us":5000,"max_us":6000,"ops":2000,"errors":0,"seconds":2,"ratio":1,"ratio_to":"zookeeper"}`, lines[0])
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &m))
	for _, f := range []string{"target", "workload", "clients", "ops_per_sec", "p50_us", "p99_us", "p999_us"} {
		require.Contains(t, m, f)
	}
	require.Equal(t, 50.0, m["ratio"])
	require.NotContains(t, m, "read_ratio", "only mixed has a read ratio")
	m = nil
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &m))
	require.Equal(t, 0.9, m["read_ratio"])
	require.NotContains(t, m, "ratio", "no peer result to compare with")
}

// -csv has a header row and one row per result.
func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, bench.WriteCSV(&b, sampleResults(), "zookeeper"))
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 4)
	require.Equal(t, bench.CSVHeader, rows[0])
	require.Equal(t, []string{"mem", "get", "", "1", "50000.0", "1.500", "9.000", "30.000", "40.000", "100000", "0", "2.000", "50.000"}, rows[2])
	require.Equal(t, "0.90", rows[3][2])
	require.Equal(t, "", rows[3][len(rows[3])-1])
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, bench.WriteTable(&b, sampleResults(), "zookeeper"))
	t.Log("\n" + b.String())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 4)
	require.Contains(t, lines[0], "× zookeeper")
	require.Contains(t, lines[2], "50.00x")
	require.Contains(t, lines[3], "mixed 90%r")
}

// The chart is well-formed XML with one polyline per target in each
// panel, and says so when there is no sweep to draw.
func TestWriteChart(t *testing.T) {
	var rs []bench.Result
	for _, tg := range []string{"zookeeper", "mem", "durable"} {
		for i, rr := range bench.ReadRatioSweep() {
			rs = append(rs, bench.Result{Target: tg, Workload: bench.WorkMixed, ReadRatio: rr, Clients: 16, OpsPerSec: float64(1000*(i+1)) * float64(len(tg))})
		}
		for _, n := range bench.SessionSweep(64) {
			rs = append(rs, bench.Result{Target: tg, Workload: bench.WorkGet, Clients: n, OpsPerSec: float64(5000 * n * len(tg))})
		}
	}
	var b bytes.Buffer
	require.NoError(t, bench.WriteChart(&b, rs))
	counts := map[string]int{}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
	require.Equal(t, 1, counts["svg"])
	require.Equal(t, 2*3, counts["polyline"], "two panels, one polyline per target")
	require.Equal(t, 3*(11+7), counts["circle"], "a marker per point")
	if dir := os.Getenv("ZKEMBED_CHART_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "chart-test.svg"), b.Bytes(), 0o644))
	}

	err := bench.WriteChart(io.Discard, sampleResults())
	require.ErrorIs(t, err, bench.ErrNothingToChart)
}

// The progress bar redraws one line with \r and never writes a newline;
// Close erases it.
func TestProgress(t *testing.T) {
	noLeaks(t)
	var b bytes.Buffer
	p := bench.NewProgress(&b, 2)
	for range 2 {
		_, err := bench.Run(context.Background(), bench.RunConfig{Target: target(t, bench.TargetMem), Workload: bench.WorkGet, Duration: 50 * time.Millisecond, Progress: p})
		require.NoError(t, err)
	}
	p.Close()
	out := b.String()
	require.Contains(t, out, "\r[")
	require.Contains(t, out, "/2 mem get 1 clients")
	require.NotContains(t, out, "\n")
	require.True(t, strings.HasSuffix(out, "\r"), "Close leaves the cursor at the start of an erased line")
}

// With rounds, each measurement runs on every target in turn, the order
// reversed every other round, before the next measurement.
func TestPlanRoundsAlternate(t *testing.T) {
	a, b := target(t, bench.TargetMem), target(t, bench.TargetDurable)
	p := bench.Plan{Targets: []bench.Target{a, b}, Workloads: []string{bench.WorkCreate}, Clients: []int{1, 2}, Rounds: 3}
	var got []string
	for _, c := range p.Configs() {
		got = append(got, fmt.Sprintf("%d:%s", c.Clients, c.Target.Name()))
	}
	require.Equal(t, []string{
		"1:mem", "1:durable", "1:durable", "1:mem", "1:mem", "1:durable",
		"2:mem", "2:durable", "2:durable", "2:mem", "2:mem", "2:durable",
	}, got)
}

// RunPlan merges a target's rounds into one result: every round's rate
// kept, and the whole's rate that of all operations over all the time, so
// between the slowest and the fastest round.
func TestRunPlanMergesRounds(t *testing.T) {
	noLeaks(t)
	p := bench.Plan{Targets: []bench.Target{target(t, bench.TargetMem), target(t, bench.TargetDurable)},
		Workloads: []string{bench.WorkCreate}, Clients: []int{2}, Rounds: 3, Base: bench.RunConfig{Duration: 50 * time.Millisecond}}
	var seen int
	rs, err := bench.RunPlan(context.Background(), p, func(bench.Result) { seen++ })
	require.NoError(t, err)
	require.Len(t, rs, 2)
	require.Equal(t, 2, seen)
	// In memory, creates run tens of times faster than synced ones: a
	// round merged into the other target's result would show.
	require.Greater(t, slices.Min(rs[0].RoundOpsPerSec), 2*slices.Max(rs[1].RoundOpsPerSec), "mem's rounds against durable's")
	for i, r := range rs {
		checkResult(t, r)
		require.Equal(t, p.Targets[i].Name(), r.Target)
		require.Len(t, r.RoundOpsPerSec, 3)
		require.GreaterOrEqual(t, r.Elapsed, 150*time.Millisecond)
		require.InDelta(t, float64(r.Ops)/r.Elapsed.Seconds(), r.OpsPerSec, 1e-6)
		require.GreaterOrEqual(t, r.OpsPerSec, slices.Min(r.RoundOpsPerSec)*(1-1e-9))
		require.LessOrEqual(t, r.OpsPerSec, slices.Max(r.RoundOpsPerSec)*(1+1e-9))
	}
}

// Each round's ratio divides the same round of the peer's; a result
// measured once, or in another number of rounds, has none. The table
// shows them beside the whole's ratio.
func TestRoundRatios(t *testing.T) {
	rs := []bench.Result{
		{Target: "zookeeper", Workload: "create", Clients: 1, OpsPerSec: 1500, RoundOpsPerSec: []float64{1000, 2000}},
		{Target: "durable", Workload: "create", Clients: 1, OpsPerSec: 2500, RoundOpsPerSec: []float64{3000, 2000}},
		{Target: "mem", Workload: "create", Clients: 1, OpsPerSec: 9000},
		{Target: "durable", Workload: "create", Clients: 16, OpsPerSec: 9000, RoundOpsPerSec: []float64{9000, 9000}},
	}
	got := bench.RoundRatios(rs, "zookeeper")
	require.Equal(t, [][]float64{{1, 1}, {3, 1}, nil, nil}, got)

	var b bytes.Buffer
	require.NoError(t, bench.WriteTable(&b, rs, "zookeeper"))
	t.Log("\n" + b.String())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.NotContains(t, lines[1], "rounds", "the peer's own row")
	require.Contains(t, lines[2], "1.67x (rounds 3.00 1.00)")
	require.NotContains(t, lines[3], "rounds")
}

// A durable target keeps its engine between runs, as a server stays up:
// the second run finds the first run's nodes (each run works under its
// own root). Closed, it starts afresh; the in-memory target always does.
func TestDurableTargetKeepsItsEngine(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	count := func(tg bench.Target) int {
		cs, closeAll, err := tg.Open(ctx, 1)
		require.NoError(t, err)
		defer closeAll()
		kids, _, err := cs[0].GetChildren(ctx, "/")
		require.NoError(t, err)
		return len(kids)
	}
	for _, tc := range []struct {
		name  string
		keeps bool
	}{{bench.TargetDurable, true}, {bench.TargetServe, true}, {bench.TargetMem, false}} {
		tg := target(t, tc.name)
		before := count(tg)
		_, err := bench.Run(ctx, bench.RunConfig{Target: tg, Workload: bench.WorkCreate, Clients: 1, Ops: 10})
		require.NoError(t, err)
		after := count(tg)
		if tc.keeps {
			require.Equal(t, before+1, after, "%s: the run's root is still there", tc.name)
			require.NoError(t, bench.CloseTargets([]bench.Target{tg}))
			require.Equal(t, before, count(tg), "%s: closed, the target starts afresh", tc.name)
		} else {
			require.Equal(t, before, after, "%s: a fresh engine for every run", tc.name)
		}
	}
}

// A run's sessions end with the run, also on a target that keeps its
// engine: an ephemeral node of one run is gone when the next one starts.
func TestKeptTargetsEndARunsSessions(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	for _, name := range []string{bench.TargetDurable, bench.TargetDialer, bench.TargetServe} {
		tg := target(t, name)
		cs, closeAll, err := tg.Open(ctx, 2)
		require.NoError(t, err)
		_, err = cs[1].Create(ctx, "/ephemeral", nil, znode.ModeEphemeral, znode.OpenACL())
		require.NoError(t, err)
		closeAll()
		cs, closeAll, err = tg.Open(ctx, 1)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			ok, _, err := cs[0].Exists(ctx, "/ephemeral")
			return err == nil && !ok
		}, 5*time.Second, 10*time.Millisecond, "%s: the ephemeral node of a closed run's session", name)
		closeAll()
	}
}
