package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// CountersPerEpoch is how many transactions one epoch holds with a zxid
// counter of counterBits bits: counter 0 is the epoch record's and the
// all-ones value is never used, as in ZooKeeper.
func CountersPerEpoch(counterBits int) float64 {
	return math.Exp2(float64(counterBits)) - 2
}

// ProjectRollover is how long the zxid counter of counterBits bits lasts
// at writesPerSec transactions a second: the time from one epoch change to
// the next. ZooKeeper's counter has 32 bits; zkembed's width is
// Options.ZxidCounterBits (default 32).
func ProjectRollover(writesPerSec float64, counterBits int) time.Duration {
	s := CountersPerEpoch(counterBits) / writesPerSec
	if s >= math.MaxInt64/float64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}

// FormatSpan renders a long duration in the largest unit that fits:
// "3.2 years", "11.4 days", "5.1 h", "42 s".
func FormatSpan(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == math.MaxInt64:
		return "> 290 years"
	case d >= 365*day:
		return fmt.Sprintf("%.1f years", d.Hours()/24/365)
	case d >= 2*day:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= 2*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= 2*time.Minute:
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return d.Round(time.Millisecond).String()
}

// RolloverConfig sizes the forced rollover run.
type RolloverConfig struct {
	// CounterBits is the engine's zxid counter width (default 10: an
	// epoch change every 1022 transactions).
	CounterBits int
	Writers     int           // concurrent sessions writing (default 8)
	Duration    time.Duration // default 2s
	// Durable runs on a data directory under Dir (default os.TempDir())
	// instead of in memory.
	Durable bool
	Dir     string
}

// RolloverReport is what the forced rollover run saw.
type RolloverReport struct {
	Target       string
	CounterBits  int
	Writers      int
	Writes       int64 // requests that succeeded
	Failed       int64 // requests that failed: must be 0
	WritesPerSec float64
	// EpochChanges counts the epochs the run went through (last epoch −
	// first epoch of the zxids the writers were given).
	EpochChanges int64
	// P99us and MaxUs are over all writes. BoundaryMaxUs is the longest
	// latency of a write whose zxid is among the first or last Writers
	// zxids of an epoch: those queued around the epoch record, so the
	// pause an epoch change causes, if any, shows there.
	// OtherMaxUs is the longest latency of the other writes.
	P99us, MaxUs, BoundaryMaxUs, OtherMaxUs float64
	BoundaryWrites                          int64
	// FirstError is the first failure's message, empty if none.
	FirstError string
}

// String renders the report on one line.
func (r RolloverReport) String() string {
	return fmt.Sprintf("forced rollover, %s, counterBits %d, %d writers: %d writes (%s/s), %d epoch changes, %d failed; write p99 %s µs, max %s µs; writes next to an epoch change (%d): max %s µs (%.2fx p99), other writes max %s µs",
		r.Target, r.CounterBits, r.Writers, r.Writes, human(r.WritesPerSec), r.EpochChanges, r.Failed,
		us(r.P99us), us(r.MaxUs), r.BoundaryWrites, us(r.BoundaryMaxUs), r.BoundaryMaxUs/r.P99us, us(r.OtherMaxUs))
}

// Rollover opens an engine with a small zxid counter, so that the epoch
// changes every few hundred transactions, and runs cfg.Writers sessions
// that create nodes, set data and run two-op multis for cfg.Duration. It
// reads the zxid of every write from its Stat, counts the epoch changes,
// and compares the latency of writes next to an epoch boundary with all
// writes. An epoch change is an event, not an outage: Rollover returns an
// error if any request failed or a writer saw its zxids go backwards.
func Rollover(ctx context.Context, cfg RolloverConfig) (RolloverReport, error) {
	if cfg.CounterBits == 0 {
		cfg.CounterBits = 10
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 8
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 2 * time.Second
	}
	name := TargetMem
	if cfg.Durable {
		name = TargetDurable
	}
	r := RolloverReport{Target: name, CounterBits: cfg.CounterBits, Writers: cfg.Writers}
	db, cleanup, err := openEngine(cfg.Dir, cfg.Durable, &zkembed.Options{ZxidCounterBits: cfg.CounterBits})
	if err != nil {
		return r, err
	}
	defer cleanup()
	defer db.Close()
	layout := znode.Layout{CounterBits: uint(cfg.CounterBits)}
	sessions := make([]*zkembed.Session, cfg.Writers)
	for i := range sessions {
		if sessions[i], err = db.NewSession(ctx, nil); err != nil {
			return r, err
		}
		if _, err := sessions[i].Create(ctx, fmt.Sprintf("/r%d", i), nil, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
			return r, err
		}
	}
	type write struct {
		zxid znode.Zxid
		ns   int64
	}
	logs := make([][]write, cfg.Writers)
	failed := make([]int64, cfg.Writers)
	var mu sync.Mutex
	var firstErr error
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := fmt.Sprintf("/r%d", w)
			for i := 0; time.Now().Before(deadline); i++ {
				t := time.Now()
				var z znode.Zxid
				var err error
				switch i % 3 {
				case 0:
					var st zkembed.Stat
					_, st, err = s.Create2(ctx, fmt.Sprintf("%s/n%d", base, i), nil, zkembed.ModePersistent, zkembed.OpenACL())
					z = st.Czxid
				case 1:
					var st zkembed.Stat
					st, err = s.SetData(ctx, base, []byte{byte(i)}, -1)
					z = st.Mzxid
				case 2:
					var res []zkembed.OpResult
					res, err = s.Multi(ctx, &zkembed.CheckOp{Path: base, Version: -1},
						&zkembed.SetDataOp{Path: base, Data: []byte("m"), Version: -1})
					if err == nil {
						z = res[1].Stat.Mzxid
					}
				}
				d := int64(time.Since(t))
				if err == nil && len(logs[w]) > 0 && z <= logs[w][len(logs[w])-1].zxid {
					err = fmt.Errorf("writer %d: zxid %v after %v", w, z, logs[w][len(logs[w])-1].zxid)
				}
				if err != nil {
					failed[w]++
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				logs[w] = append(logs[w], write{z, d})
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	all := hdrhistogram.New(histMin, histMax, histSigFigs)
	minEpoch, maxEpoch := int64(math.MaxInt64), int64(-1)
	near := int64(cfg.Writers)
	for w := range logs {
		r.Failed += failed[w]
		for _, x := range logs[w] {
			_ = all.RecordValue(min(max(x.ns, histMin), histMax))
			e, c := layout.Epoch(x.zxid), layout.Counter(x.zxid)
			minEpoch, maxEpoch = min(minEpoch, e), max(maxEpoch, e)
			if c <= near || c >= layout.MaxCounter()-1-near {
				r.BoundaryWrites++
				r.BoundaryMaxUs = max(r.BoundaryMaxUs, float64(x.ns)/1e3)
			} else {
				r.OtherMaxUs = max(r.OtherMaxUs, float64(x.ns)/1e3)
			}
		}
	}
	r.Writes = all.TotalCount()
	r.WritesPerSec = float64(r.Writes) / elapsed.Seconds()
	r.P99us, r.MaxUs = float64(all.ValueAtQuantile(99))/1e3, float64(all.Max())/1e3
	if maxEpoch >= 0 {
		r.EpochChanges = maxEpoch - minEpoch
	}
	if firstErr != nil {
		r.FirstError = firstErr.Error()
	}
	if r.Failed > 0 {
		return r, fmt.Errorf("rollover run on %s: %d requests failed, first: %v", name, r.Failed, firstErr)
	}
	if err := db.Check(); err != nil {
		return r, fmt.Errorf("rollover run on %s: %w", name, err)
	}
	return r, nil
}
