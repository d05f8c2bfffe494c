package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/zkembed/zkembed"
)

// LoadConfig sizes the load test: one engine holding Nodes znodes,
// Sessions open sessions and Watches one-shot watches, then Clients
// goroutines running a mix through those sessions (70% getData, 25%
// setData, 5% multi of two setData) for Duration.
type LoadConfig struct {
	Dir      string        // data directory; "" keeps the engine in memory
	Nodes    int           // default 1,000,000
	Sessions int           // default 10,000
	Watches  int           // default 100,000; negative: none
	Clients  int           // default 16
	Duration time.Duration // of the mix, default 5 s
	DataSize int           // bytes per znode, default 100
}

func (c LoadConfig) withDefaults() LoadConfig {
	if c.Nodes <= 0 {
		c.Nodes = 1_000_000
	}
	if c.Sessions <= 0 {
		c.Sessions = 10_000
	}
	if c.Watches < 0 {
		c.Watches = 0
	} else if c.Watches == 0 {
		c.Watches = 100_000
	}
	if c.Clients <= 0 {
		c.Clients = 16
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.DataSize <= 0 {
		c.DataSize = 100
	}
	return c
}

// LoadReport is what the load test measured.
type LoadReport struct {
	Cfg LoadConfig
	// Setup times: creating the nodes (multis of 1,000), opening the
	// sessions, setting the watches.
	NodesTime, SessionsTime, WatchesTime time.Duration
	// The mixed run.
	Ops, Errors          int64
	OpsPerSec            float64
	P50us, P99us, P999us float64
	Fired                int // watches the run's writes fired (each seen on its channel)
	HeapBytes            uint64
	HeapPerNode          float64 // HeapBytes ÷ Nodes: nodes, sessions and watches together
	Goroutines           int     // while loaded, idle
	GoroutinesAfterClose int
	GoroutinesBefore     int
	OversizeRejected     bool   // data over MaxDataSize: ErrBadArguments, no node
	OverflowEnded        bool   // a persistent watch nobody read ended with ErrWatchOverflow
	OverflowBacklog      int    // the backlog it overflowed
	FirstError           string // the run's first failed operation, if any
}

// String renders the report.
func (r LoadReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load: %d znodes (%v), %d sessions (%v), %d watches (%v); heap %.1f MiB (%.0f B per znode), %d goroutines idle\n",
		r.Cfg.Nodes, r.NodesTime.Round(time.Millisecond), r.Cfg.Sessions, r.SessionsTime.Round(time.Millisecond),
		r.Cfg.Watches, r.WatchesTime.Round(time.Millisecond), float64(r.HeapBytes)/(1<<20), r.HeapPerNode, r.Goroutines)
	fmt.Fprintf(&b, "load: %d clients, 70%% get / 25%% set / 5%% multi for %v: %.0f ops/s, p50 %.1f µs, p99 %.1f µs, p999 %.1f µs, %d errors, %d watches fired\n",
		r.Cfg.Clients, r.Cfg.Duration, r.OpsPerSec, r.P50us, r.P99us, r.P999us, r.Errors, r.Fired)
	fmt.Fprintf(&b, "load: limits: data over MaxDataSize rejected=%v; unread persistent watch ended with ErrWatchOverflow at %d events=%v; goroutines after Close %d (before %d)",
		r.OversizeRejected, r.OverflowBacklog, r.OverflowEnded, r.GoroutinesAfterClose, r.GoroutinesBefore)
	return b.String()
}

// Load runs the load test. It returns an error if the engine could not be
// set up or a limit did not hold.
func Load(cfg LoadConfig) (LoadReport, error) {
	cfg = cfg.withDefaults()
	r := LoadReport{Cfg: cfg, GoroutinesBefore: runtime.NumGoroutine()}
	ctx := context.Background()
	const backlog = 1 << 12 // small enough for the run to overflow it
	r.OverflowBacklog = backlog
	db, err := zkembed.Open(cfg.Dir, &zkembed.Options{WatchBacklog: backlog})
	if err != nil {
		return r, err
	}
	closed := false
	defer func() {
		if !closed {
			db.Close()
		}
	}()
	settle()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// The nodes: /load/<i>, in multis of 1,000.
	admin, err := db.NewSession(ctx, nil)
	if err != nil {
		return r, err
	}
	start := time.Now()
	data := make([]byte, cfg.DataSize)
	if _, err := admin.Create(ctx, "/load", nil, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
		return r, err
	}
	path := func(i int) string { return fmt.Sprintf("/load/%d", i) }
	for i := 0; i < cfg.Nodes; i += 1000 {
		var ops []zkembed.Op
		for j := i; j < min(i+1000, cfg.Nodes); j++ {
			ops = append(ops, &zkembed.CreateOp{Path: path(j), Data: data, Mode: zkembed.ModePersistent, ACL: zkembed.OpenACL()})
		}
		if _, err := admin.Multi(ctx, ops...); err != nil {
			return r, err
		}
	}
	r.NodesTime = time.Since(start)

	start = time.Now()
	sessions := make([]*zkembed.Session, cfg.Sessions)
	for i := range sessions {
		if sessions[i], err = db.NewSession(ctx, nil); err != nil {
			return r, err
		}
	}
	r.SessionsTime = time.Since(start)

	start = time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	watches := make([]<-chan zkembed.Event, cfg.Watches)
	for i := range watches {
		s := sessions[rng.IntN(len(sessions))]
		if _, _, watches[i], err = s.GetW(ctx, path(rng.IntN(cfg.Nodes))); err != nil {
			return r, err
		}
	}
	r.WatchesTime = time.Since(start)

	settle()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	r.HeapBytes = after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	r.HeapPerNode = float64(r.HeapBytes) / float64(cfg.Nodes)
	r.Goroutines = runtime.NumGoroutine()

	// A persistent watch nobody reads: the run's writes must end it with
	// ErrWatchOverflow once it is backlog events behind, not grow.
	unread, err := admin.AddWatch(ctx, "/load", true)
	if err != nil {
		return r, err
	}

	if err := r.run(ctx, cfg, sessions, path, data); err != nil {
		return r, err
	}
	for _, ch := range watches {
		select {
		case <-ch:
			r.Fired++
		default:
		}
	}

	// The limits.
	big := make([]byte, zkembed.DefaultMaxDataSize+1)
	_, bigErr := admin.Create(ctx, "/load-big", big, zkembed.ModePersistent, zkembed.OpenACL())
	made, _, err := admin.Exists(ctx, "/load-big")
	if err != nil {
		return r, err
	}
	r.OversizeRejected = errors.Is(bigErr, zkembed.ErrBadArguments) && !made
	// However many events the run made, more than the backlog come now;
	// then the watch must have ended with ErrWatchOverflow.
	for i := range backlog + 1 {
		if _, err := admin.SetData(ctx, path(i%cfg.Nodes), data, -1); err != nil {
			return r, err
		}
	}
	timeout := time.After(10 * time.Second)
drain:
	for {
		select {
		case ev, ok := <-unread.Events():
			if !ok {
				break drain
			}
			if errors.Is(ev.Err, zkembed.ErrWatchOverflow) {
				r.OverflowEnded = true
			}
		case <-timeout:
			break drain // reported below: the watch did not end
		}
	}

	closed = true
	if err := db.Close(); err != nil {
		return r, err
	}
	for range 100 { // goroutines end shortly after Close returns
		if r.GoroutinesAfterClose = runtime.NumGoroutine(); r.GoroutinesAfterClose <= r.GoroutinesBefore {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	switch {
	case !r.OversizeRejected:
		return r, fmt.Errorf("bench: load: data over MaxDataSize was not rejected with ErrBadArguments (%v)", bigErr)
	case !r.OverflowEnded:
		return r, errors.New("bench: load: an unread persistent watch did not end with ErrWatchOverflow")
	case r.GoroutinesAfterClose > r.GoroutinesBefore:
		return r, fmt.Errorf("bench: load: %d goroutines after Close, %d before", r.GoroutinesAfterClose, r.GoroutinesBefore)
	}
	return r, nil
}

// run is the mixed part of the load test.
func (r *LoadReport) run(ctx context.Context, cfg LoadConfig, sessions []*zkembed.Session, path func(int) string, data []byte) error {
	hists := make([]*hdrhistogram.Histogram, cfg.Clients)
	var errs atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(cfg.Duration)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range cfg.Clients {
		hists[c] = newHist()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 3))
			for time.Now().Before(deadline) {
				s := sessions[rng.IntN(len(sessions))]
				p := path(rng.IntN(cfg.Nodes))
				t := time.Now()
				var err error
				switch x := rng.IntN(100); {
				case x < 70:
					_, _, err = s.GetData(ctx, p)
				case x < 95:
					_, err = s.SetData(ctx, p, data, -1)
				default:
					_, err = s.Multi(ctx, &zkembed.SetDataOp{Path: p, Data: data, Version: -1},
						&zkembed.SetDataOp{Path: path(rng.IntN(cfg.Nodes)), Data: data, Version: -1})
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_ = hists[c].RecordValue(max(int64(time.Since(t)), histMin))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	h := newHist()
	for _, x := range hists {
		h.Merge(x)
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	r.Ops, r.Errors = h.TotalCount(), errs.Load()
	r.OpsPerSec = float64(r.Ops) / elapsed.Seconds()
	r.P50us, r.P99us, r.P999us = us(h.ValueAtQuantile(50)), us(h.ValueAtQuantile(99)), us(h.ValueAtQuantile(99.9))
	if s, ok := firstErr.Load().(string); ok {
		r.FirstError = s
	}
	return nil
}
