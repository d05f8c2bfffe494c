package lincheck_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/lincheck"
)

// summary collects the figures of the summary line TestMain prints.
var summary struct {
	sync.Mutex
	seeds, ops, violations int
	durableSeeds           int // of seeds, run on a durable engine
	zxidBad, porcupineBad  int
	checkTime              time.Duration
	mutants                map[string][2]int // caught, tried
	ran                    bool
}

// TestMain prints the summary line, and appends it to the file
// $ZKEMBED_SUMMARY names, which .ci/run prints at its end (go test shows
// a passing package's output only with -v).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if line := summaryLine(); line != "" {
			fmt.Println(line)
			// CI prints the file $ZKEMBED_SUMMARY names at its end.
			if path := summaryPath.Load(); path != nil && *path != "" {
				if f, err := os.OpenFile(*path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
					fmt.Fprintln(f, line)
					f.Close()
				}
			}
		}
		os.Exit(code)
	}))
}

func summaryLine() string {
	summary.Lock()
	defer summary.Unlock()
	if !summary.ran {
		return ""
	}
	z, p := "ok", "ok"
	if summary.zxidBad > 0 {
		z = fmt.Sprintf("%d violations", summary.zxidBad)
	}
	if summary.porcupineBad > 0 {
		p = fmt.Sprintf("%d not ok", summary.porcupineBad)
	}
	line := fmt.Sprintf("lincheck: seeds=%d (%d durable) ops=%d violations=%d (porcupine %s, zxid-order %s; check time %v)",
		summary.seeds, summary.durableSeeds, summary.ops, summary.violations, p, z, summary.checkTime.Round(time.Millisecond))
	for _, name := range []string{"stale", "lost-write"} {
		if c, ok := summary.mutants[name]; ok {
			line += fmt.Sprintf("; %s variant caught %d/%d", name, c[0], c[1])
		}
	}
	return line
}

// run runs cfg against a fresh in-memory engine, wrapping each session's
// client with wrap if not nil.
func run(t *testing.T, cfg lincheck.Config, wrap func(c lincheck.Client, i int) lincheck.Client) *lincheck.Report {
	t.Helper()
	return runOn(t, "", &zkembed.Options{Seed: cfg.Seed}, cfg, wrap)
}

// runOn runs cfg against a fresh engine opened on dir with opts.
func runOn(t *testing.T, dir string, opts *zkembed.Options, cfg lincheck.Config, wrap func(c lincheck.Client, i int) lincheck.Client) *lincheck.Report {
	t.Helper()
	db, err := zkembed.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r, err := lincheck.Run(ctx, cfg, func(i int) (lincheck.Client, error) {
		s, err := db.NewSession(ctx, nil)
		if err != nil {
			return nil, err
		}
		var c lincheck.Client = lincheck.Session{S: s}
		if wrap != nil {
			c = wrap(c, i)
		}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// summaryPath is $ZKEMBED_SUMMARY, read by a test: go test's cache then
// knows the result depends on it (read in TestMain, it would not, and a
// cached run would print nothing).
var summaryPath atomic.Pointer[string]

func TestEmbeddedIsLinearizable(t *testing.T) {
	ops := 2000
	if testing.Short() {
		ops = 300
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		record(t, seed, false, run(t, lincheck.Config{Seed: seed, OpsPerClient: ops}, nil))
	}
}

// The durable engine: the commit pipeline with group commit, and read
// roots published by sync leaders or brought up to date by readers. The
// log is not synced: the pipeline is the same, and the run shorter.
func TestDurableIsLinearizable(t *testing.T) {
	ops := 2000
	if testing.Short() {
		ops = 300
	}
	for seed := uint64(1); seed <= durableSeeds; seed++ {
		cfg := lincheck.Config{Seed: seed, OpsPerClient: ops}
		opts := &zkembed.Options{Seed: seed, NoSync: true}
		record(t, seed, true, runOn(t, t.TempDir(), opts, cfg, nil))
	}
}

// durableSeeds is how many seeds the durable engine runs.
const durableSeeds = 2

// record checks a run of the unbroken engine and adds it to the summary.
func record(t *testing.T, seed uint64, durable bool, r *lincheck.Report) {
	t.Helper()
	path := os.Getenv("ZKEMBED_SUMMARY")
	summaryPath.Store(&path)
	t.Logf("seed %d: %s", seed, r)
	summary.Lock()
	defer summary.Unlock()
	summary.ran = true
	summary.seeds++
	if durable {
		summary.durableSeeds++
	}
	summary.ops += r.Ops
	summary.checkTime += r.Zxid.Duration + r.Porcupine.Duration
	if !r.Zxid.Ok() {
		summary.zxidBad++
		t.Errorf("seed %d: zxid order: %s", seed, r.Zxid.Violation)
	}
	if r.Porcupine.Result != porcupine.Ok {
		summary.porcupineBad++
		t.Errorf("seed %d: porcupine: %s", seed, r.Porcupine.Result)
	}
	if !r.Ok() {
		summary.violations++
	}
}

// mutant runs the workload through a broken client on several seeds and
// requires both checkers to catch it every time.
func mutant(t *testing.T, name string, wrap func(c lincheck.Client, i int, seed uint64) lincheck.Client) {
	caught := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		cfg := lincheck.Config{Seed: seed, OpsPerClient: 250}
		if seed == 1 {
			// Writing the visualization takes a while; once shows it works.
			cfg.Visualize = filepath.Join(t.TempDir(), "history.html")
		}
		r := run(t, cfg, func(c lincheck.Client, i int) lincheck.Client { return wrap(c, i, seed) })
		t.Logf("seed %d: %s", seed, r)
		if r.Zxid.Ok() {
			t.Errorf("seed %d: the zxid-order checker missed the %s variant", seed, name)
		} else if seed == 1 {
			t.Logf("first violation: %s", r.Zxid.Violation)
		}
		if r.Porcupine.Result != porcupine.Illegal {
			t.Errorf("seed %d: porcupine gave %s for the %s variant", seed, r.Porcupine.Result, name)
		} else if _, err := os.Stat(r.Porcupine.Visualization); seed == 1 && err != nil {
			t.Errorf("seed %d: no visualization: %v", seed, err)
		}
		if !r.Zxid.Ok() && r.Porcupine.Result == porcupine.Illegal {
			caught++
		}
	}
	t.Logf("%s variant caught %d/%d", name, caught, seeds)
	summary.Lock()
	if summary.mutants == nil {
		summary.mutants = map[string][2]int{}
	}
	summary.mutants[name] = [2]int{caught, seeds}
	summary.Unlock()
}

func TestStaleReadsAreCaught(t *testing.T) {
	mutant(t, "stale", func(c lincheck.Client, i int, seed uint64) lincheck.Client {
		return lincheck.Stale(c, 0.2, seed*100+uint64(i))
	})
}

func TestLostWritesAreCaught(t *testing.T) {
	mutant(t, "lost-write", func(c lincheck.Client, i int, seed uint64) lincheck.Client {
		return lincheck.LostWrite(c, 0.05, seed*100+uint64(i))
	})
}
