package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Plan is a series of runs: every workload, at every read ratio (mixed
// only) and every client count, each on every target right after the
// other, so that a ratio between two targets compares runs made seconds
// apart on the same machine.
type Plan struct {
	Targets   []Target
	Workloads []string  // WorkloadNames
	Clients   []int     // client counts (default 1); SessionSweep makes a sweep
	ReadRatio []float64 // the mixed workload's read ratios (default 0.9); ReadRatioSweep makes a sweep
	// Warmup, if positive, runs the mixed workload (50% reads) on each
	// target for this long before the plan, results discarded: a JVM
	// server's first seconds are spent compiling.
	Warmup time.Duration
	// Base holds the other RunConfig fields (Duration, Ops, DataSize,
	// Children, Progress); its Target, Workload, Clients and ReadRatio
	// are ignored.
	Base RunConfig
}

// ReadRatioSweep is the ZooKeeper paper's sweep: 0%, 10%, ..., 100% reads.
func ReadRatioSweep() []float64 {
	out := make([]float64, 11)
	for i := range out {
		out[i] = float64(i) / 10
	}
	return out
}

// SessionSweep is 1, 2, 4, ... up to max (max included even if it is not
// a power of two).
func SessionSweep(max int) []int {
	var out []int
	for n := 1; n < max; n *= 2 {
		out = append(out, n)
	}
	return append(out, max)
}

// Configs lists the plan's runs in the order RunPlan runs them.
func (p Plan) Configs() []RunConfig {
	clients := p.Clients
	if len(clients) == 0 {
		clients = []int{1}
	}
	ratios := p.ReadRatio
	if len(ratios) == 0 {
		ratios = []float64{0.9}
	}
	var out []RunConfig
	for _, w := range p.Workloads {
		rs := []float64{0}
		if w == WorkMixed {
			rs = ratios
		}
		for _, n := range clients {
			for _, r := range rs {
				for _, t := range p.Targets {
					c := p.Base
					c.Target, c.Workload, c.Clients, c.ReadRatio = t, w, n, r
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// RunPlan runs the plan's runs one after the other and returns their
// results in order; onResult, if not nil, sees each as it is measured. It
// stops at the first run that fails.
func RunPlan(ctx context.Context, p Plan, onResult func(Result)) ([]Result, error) {
	if p.Warmup > 0 {
		clients := slices.Max(append([]int{1}, p.Clients...))
		for _, t := range p.Targets {
			c := RunConfig{Target: t, Workload: WorkMixed, ReadRatio: 0.5, Clients: clients, Duration: p.Warmup, DataSize: p.Base.DataSize}
			if _, err := Run(ctx, c); err != nil {
				return nil, fmt.Errorf("warmup: %w", err)
			}
		}
	}
	var out []Result
	for _, c := range p.Configs() {
		r, err := Run(ctx, c)
		if err != nil {
			return out, err
		}
		if onResult != nil {
			onResult(r)
		}
		out = append(out, r)
	}
	return out, nil
}

// key identifies the measurement a result is of, whatever the target.
func (r Result) key() string {
	return fmt.Sprintf("%s/%g/%d", r.Workload, r.ReadRatio, r.Clients)
}

// Ratios returns, for each result, its ops/s divided by that of the
// result of target peer with the same workload, read ratio and clients;
// 0 where there is none (and for peer's own results, 1).
func Ratios(results []Result, peer string) []float64 {
	ref := map[string]float64{}
	for _, r := range results {
		if r.Target == peer {
			ref[r.key()] = r.OpsPerSec
		}
	}
	out := make([]float64, len(results))
	for i, r := range results {
		if v := ref[r.key()]; v > 0 {
			out[i] = r.OpsPerSec / v
		}
	}
	return out
}
