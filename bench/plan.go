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
	// Rounds, if more than 1, measures every workload, read ratio and
	// client count this many times on every target, the targets in turn
	// and their order reversed every other round (A B, B A, A B, ...), so
	// that each side runs as often right after the other, and through the
	// same spells of a shared disk. Each target's rounds are merged into
	// one Result (Result.RoundOpsPerSec keeps each round's rate).
	Rounds int
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
	var out []RunConfig
	for _, st := range p.schedule() {
		out = append(out, st.cfg)
	}
	return out
}

// step is one run of the plan: measurement group's run on target (an
// index into p.Targets) in round round.
type step struct {
	group, target, round int
	cfg                  RunConfig
}

// schedule lists the plan's runs in order: each measurement's rounds, in
// each round every target (see Rounds), before the next measurement.
// Configs and RunPlan both follow it.
func (p Plan) schedule() []step {
	var out []step
	for gi, g := range p.groups() {
		for round := range max(p.Rounds, 1) {
			for _, ti := range roundOrder(len(g), round) {
				out = append(out, step{group: gi, target: ti, round: round, cfg: g[ti]})
			}
		}
	}
	return out
}

// groups lists the plan's measurements, each as its runs on every target,
// in the order of p.Targets.
func (p Plan) groups() [][]RunConfig {
	clients := p.Clients
	if len(clients) == 0 {
		clients = []int{1}
	}
	ratios := p.ReadRatio
	if len(ratios) == 0 {
		ratios = []float64{0.9}
	}
	var out [][]RunConfig
	for _, w := range p.Workloads {
		rs := []float64{0}
		if w == WorkMixed {
			rs = ratios
		}
		for _, n := range clients {
			for _, r := range rs {
				var g []RunConfig
				for _, t := range p.Targets {
					c := p.Base
					c.Target, c.Workload, c.Clients, c.ReadRatio = t, w, n, r
					g = append(g, c)
				}
				out = append(out, g)
			}
		}
	}
	return out
}

// roundOrder is the order of n targets in round round: forward in even
// rounds, backward in odd ones.
func roundOrder(n, round int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
		if round%2 == 1 {
			order[i] = n - 1 - i
		}
	}
	return order
}

// RunPlan runs the plan's runs one after the other and returns their
// results, one per measurement and target, in the order of Configs
// without repeated rounds; onResult, if not nil, sees each once all its
// rounds are measured. It stops at the first run that fails, returning
// what it measured before, the measurement in progress included (its
// targets that ran, merged over the rounds they ran).
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
	var merged []Result // the current measurement's, by target ("" Target: not run yet)
	flush := func() {
		for _, r := range merged {
			if r.Target == "" {
				continue // not run: the plan stopped first
			}
			r.hist = nil // merged: no need to keep ~200 KB per result
			if onResult != nil {
				onResult(r)
			}
			out = append(out, r)
		}
		merged = nil
	}
	sched := p.schedule()
	for k, st := range sched {
		if merged == nil {
			merged = make([]Result, len(p.Targets))
		}
		r, err := Run(ctx, st.cfg)
		if err != nil {
			flush() // what was measured is still worth seeing
			return out, err
		}
		if st.round == 0 {
			merged[st.target] = r
		} else {
			merged[st.target].addRound(r)
		}
		if k == len(sched)-1 || sched[k+1].group != st.group {
			flush()
		}
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

// RoundRatios returns, for each result measured in rounds, each round's
// ops/s divided by that of the same round of peer's result for the same
// measurement; nil where either was measured once, or in a different
// number of rounds.
func RoundRatios(results []Result, peer string) [][]float64 {
	ref := map[string][]float64{}
	for _, r := range results {
		if r.Target == peer {
			ref[r.key()] = r.RoundOpsPerSec
		}
	}
	out := make([][]float64, len(results))
	for i, r := range results {
		p := ref[r.key()]
		if len(r.RoundOpsPerSec) == 0 || len(p) != len(r.RoundOpsPerSec) {
			continue
		}
		out[i] = make([]float64, len(p))
		for j, v := range r.RoundOpsPerSec {
			if p[j] > 0 {
				out[i][j] = v / p[j]
			}
		}
	}
	return out
}
