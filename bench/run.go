package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// RunConfig is one measurement: one workload on one target with a number
// of clients.
type RunConfig struct {
	Target   Target
	Workload string // one of WorkloadNames
	// Clients is the number of concurrent clients, each its own session
	// and goroutine (default 1). The watch workload adds one writer
	// session; its Clients are the watchers.
	Clients int
	// ReadRatio is the fraction of reads (0 to 1) of the mixed workload;
	// other workloads ignore it.
	ReadRatio float64
	// Duration bounds the run (default 2s unless Ops is set).
	Duration time.Duration
	// Ops, if positive, ends the run after this many operations over all
	// clients (or at Duration, whichever comes first).
	Ops int64
	// DataSize is the bytes of data per write (default 100).
	DataSize int
	// Children is the number of children under each client's node, the
	// nodes get, set, exists and mixed visit in turn and children lists
	// (default 10).
	Children int
	// Progress, if not nil, shows the run's advance.
	Progress *Progress
}

func (c RunConfig) withDefaults() RunConfig {
	if c.Clients <= 0 {
		c.Clients = 1
	}
	if c.Duration <= 0 {
		c.Duration = 2 * time.Second
		if c.Ops > 0 {
			c.Duration = time.Hour
		}
	}
	if c.DataSize <= 0 {
		c.DataSize = 100
	}
	if c.Children <= 0 {
		c.Children = 10
	}
	return c
}

// Result is what one run measured. Latencies are of single operations
// (for watch: from the start of the write to the event's receipt by a
// watcher; for lock: from calling Lock to holding the lock), recorded in
// an HDR histogram with 3 significant digits.
type Result struct {
	Target    string
	Workload  string
	Clients   int
	ReadRatio float64 // mixed only: fraction of reads
	Ops       int64   // operations that succeeded
	Errors    int64   // operations that failed
	OpsPerSec float64 // Ops ÷ Elapsed
	P50us     float64
	P99us     float64
	P999us    float64
	MaxUs     float64
	Elapsed   time.Duration
	// FirstError is the first failure's message, empty if none.
	FirstError string
	// RoundOpsPerSec is each round's ops/s when a Plan measured the run
	// in several rounds (Plan.Rounds) and merged them into this result;
	// nil for a single run.
	RoundOpsPerSec []float64

	hist *hdrhistogram.Histogram // the latencies of Ops, for merging rounds
}

// fromHist sets Ops, OpsPerSec and the latency figures from r.hist and
// r.Elapsed.
func (r *Result) fromHist() {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	h := r.hist
	r.Ops = h.TotalCount()
	r.OpsPerSec = float64(r.Ops) / r.Elapsed.Seconds()
	r.P50us, r.P99us, r.P999us = us(h.ValueAtQuantile(50)), us(h.ValueAtQuantile(99)), us(h.ValueAtQuantile(99.9))
	r.MaxUs = us(h.Max())
}

// addRound merges round, a later run of the same measurement on the same
// target, into r: operations, errors and time add up, and the percentiles
// are those of every operation of both. r's histogram is merged into.
func (r *Result) addRound(round Result) {
	if round.Target != r.Target || round.key() != r.key() {
		panic(fmt.Sprintf("bench: merging a round of %s %s into %s %s", round.Target, round.key(), r.Target, r.key()))
	}
	if r.RoundOpsPerSec == nil {
		r.RoundOpsPerSec = []float64{r.OpsPerSec}
	}
	r.RoundOpsPerSec = append(r.RoundOpsPerSec, round.OpsPerSec)
	r.hist.Merge(round.hist)
	r.Errors += round.Errors
	r.Elapsed += round.Elapsed
	r.fromHist()
	if r.FirstError == "" {
		r.FirstError = round.FirstError
	}
}

// Label names the workload with its read ratio ("mixed 90% reads").
func (r Result) Label() string {
	if r.Workload == WorkMixed {
		return fmt.Sprintf("mixed %d%%r", int(r.ReadRatio*100+0.5))
	}
	return r.Workload
}

// Histogram bounds: 1 ns to 60 s, 3 significant digits (about 200 KB).
const (
	histMin     = 1
	histMax     = int64(60 * time.Second)
	histSigFigs = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigFigs) }

// env is what a workload's code sees of a run in progress.
type env struct {
	cfg      RunConfig
	clients  []Client
	root     string
	data     []byte
	deadline time.Time
	hists    []*hdrhistogram.Histogram // one per client goroutine: no locking
	errs     []int64                   // per client
	done     atomic.Int64              // operations finished, for progress and Ops
	firstErr atomic.Value              // error
	reads    []*rand.Rand              // mixed: per client, decides reads
}

// more reports whether the run goes on, and counts one more operation
// against cfg.Ops.
func (e *env) more() bool {
	if e.cfg.Ops > 0 && e.done.Load() >= e.cfg.Ops {
		return false
	}
	return time.Now().Before(e.deadline)
}

// record files one operation of client c that started at start.
func (e *env) record(c int, start time.Time, err error) {
	if err != nil {
		e.errs[c]++
		e.firstErr.CompareAndSwap(nil, err)
		return
	}
	d := int64(time.Since(start))
	if d > histMax {
		d = histMax
	}
	_ = e.hists[c].RecordValue(max(d, histMin))
	e.done.Add(1)
}

// fail stops counting the run as valid.
func (e *env) fail(err error) { e.firstErr.CompareAndSwap(nil, err) }

// Run runs one workload on one target and returns what it measured. The
// target's clients are opened before and closed after the measured time;
// every goroutine Run starts has ended when it returns, but for what the
// target keeps between runs (see Target), which CloseTargets ends. Operations that
// fail are counted in Result.Errors; Run returns an error only when the
// run could not be set up, or when the watch or lock workload broke (a
// lost event, two lock holders).
func Run(ctx context.Context, cfg RunConfig) (Result, error) {
	cfg = cfg.withDefaults()
	w, ok := workloads[cfg.Workload]
	if t, own := cfg.Target.(workloadTarget); ok && own {
		if tw, has := t.workload(cfg.Workload); has {
			w = tw
		}
	}
	if !ok {
		return Result{}, fmt.Errorf("bench: unknown workload %q (known: %v)", cfg.Workload, WorkloadNames)
	}
	if cfg.ReadRatio < 0 || cfg.ReadRatio > 1 {
		return Result{}, fmt.Errorf("bench: read ratio %v out of [0, 1]", cfg.ReadRatio)
	}
	clients, closeAll, err := cfg.Target.Open(ctx, cfg.Clients+w.extra)
	if err != nil {
		return Result{}, err
	}
	defer closeAll()
	e := &env{
		cfg:     cfg,
		clients: clients,
		root:    fmt.Sprintf("/zkbench-%d-%d", time.Now().UnixNano(), runSeq.Add(1)),
		data:    make([]byte, cfg.DataSize),
		hists:   make([]*hdrhistogram.Histogram, len(clients)),
		errs:    make([]int64, len(clients)),
	}
	for i := range e.hists {
		e.hists[i] = newHist()
	}
	if err := w.setup(ctx, e); err != nil {
		return Result{}, fmt.Errorf("%s on %s: setup: %w", cfg.Workload, cfg.Target.Name(), err)
	}
	label := fmt.Sprintf("%s %s %d clients", cfg.Target.Name(), Result{Workload: cfg.Workload, ReadRatio: cfg.ReadRatio}.Label(), cfg.Clients)
	stopProgress := cfg.Progress.run(label, cfg.Duration, cfg.Ops, &e.done)
	start := time.Now()
	e.deadline = start.Add(cfg.Duration)
	if w.loop != nil {
		w.loop(ctx, e)
	} else {
		var wg sync.WaitGroup
		for c := range cfg.Clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; e.more(); i++ {
					t := time.Now()
					e.record(c, t, w.op(ctx, e, c, i))
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	stopProgress()
	r := summarize(e, elapsed)
	if w.loop != nil && r.FirstError != "" {
		return r, fmt.Errorf("%s on %s: %s", cfg.Workload, cfg.Target.Name(), r.FirstError)
	}
	if r.Ops == 0 {
		return r, fmt.Errorf("%s on %s: no operation succeeded: %s", cfg.Workload, cfg.Target.Name(), r.FirstError)
	}
	return r, nil
}

var runSeq atomic.Int64

// workloadTarget is a Target that runs some workloads its own way, where
// the same operations through Client cannot be had (etcd's multi, watch
// and lock).
type workloadTarget interface {
	Target
	workload(name string) (workload, bool)
}

func summarize(e *env, elapsed time.Duration) Result {
	h := newHist()
	var errs int64
	for i, x := range e.hists {
		h.Merge(x)
		errs += e.errs[i]
	}
	r := Result{
		Target: e.cfg.Target.Name(), Workload: e.cfg.Workload, Clients: e.cfg.Clients,
		Errors: errs, Elapsed: elapsed, hist: h,
	}
	r.fromHist()
	if e.cfg.Workload == WorkMixed {
		r.ReadRatio = e.cfg.ReadRatio
	}
	if err, ok := e.firstErr.Load().(error); ok {
		r.FirstError = err.Error()
	}
	return r
}
