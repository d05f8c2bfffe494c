package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zkembed/zkembed"
)

// SnapshotImpactConfig sizes the snapshot-impact workload.
type SnapshotImpactConfig struct {
	Dir     string // parent for the data directory (default os.TempDir())
	Nodes   int    // znodes in the tree (default 1,000,000)
	Writers int    // concurrent synced writers (default 4)
	// Duration is the least length of a window with snapshots (default
	// 2s): snapshots are written back to back until it has passed, and the
	// window ends when the last one has.
	Duration time.Duration
	Rounds   int // window pairs (default 5)
	// Churn is how many setData calls, spread over the tree, run before
	// the windows (default 0). A tree fresh from its creates lies in
	// memory in path order; after a while of writes its nodes are all
	// over the heap, and a snapshot's walk of it takes two to three times
	// the CPU.
	Churn int
	// BytesPerSecond is the rate the snapshots are written at
	// (Options.SnapshotBytesPerSecond, which DB.Snapshot writes at);
	// default zkembed.DefaultSnapshotBytesPerSecond. An automatic snapshot
	// runs at a quarter of the default when writes are few: measure that
	// with a quarter here.
	BytesPerSecond int64
	// Every is Options.SnapshotEvery for AutoSnapshotImpact (default the
	// engine's); SnapshotImpact takes no automatic snapshots.
	Every int
}

// withDefaults returns c with its zero fields set to their defaults.
func (c SnapshotImpactConfig) withDefaults() SnapshotImpactConfig {
	if c.Nodes == 0 {
		c.Nodes = 1_000_000
	}
	if c.Writers == 0 {
		c.Writers = 4
	}
	if c.Duration == 0 {
		c.Duration = 2 * time.Second
	}
	if c.Rounds == 0 {
		c.Rounds = 5
	}
	if c.BytesPerSecond == 0 {
		c.BytesPerSecond = zkembed.DefaultSnapshotBytesPerSecond
	}
	return c
}

// SnapshotImpactWindow is one window of the snapshot-impact workload.
type SnapshotImpactWindow struct {
	During    bool          // snapshots were written in it
	Length    time.Duration // how long the writers ran
	Writes    int           // synced setData calls completed
	P50, P99  time.Duration
	Snapshots int     // snapshots completed in it
	Overlap   float64 // fraction of Length during which a DB.Snapshot call was in progress
	// MiBPerSecond is, for an automatic snapshot (AutoSnapshotImpact),
	// the rate it was written at: its size over the time its temporary
	// file existed.
	MiBPerSecond float64
}

// SnapshotImpactReport compares synced write latency with and without a
// snapshot being written, over alternating windows of the same run.
type SnapshotImpactReport struct {
	Windows []SnapshotImpactWindow // in the order they ran, the warm-up left out
	// Medians over the windows of each kind. A window's p99 is noisy on a
	// shared machine (another process's burst moves it by milliseconds),
	// so the report takes the median of several windows' p99s rather
	// than one long window's p99.
	P50Without, P99Without time.Duration
	P50During, P99During   time.Duration
	Ratio                  float64 // P99During ÷ P99Without
	// PairRatios are each round's during p99 ÷ the without p99 of the
	// window right after it.
	PairRatios     []float64
	Snapshots      int     // snapshots written in all (with Auto: seen ending, paired or not)
	MinOverlap     float64 // the least Overlap of a window with snapshots
	BytesPerSecond int64   // the rate snapshots were written at, or its cap if Auto
	Auto           bool    // the engine's automatic snapshots (AutoSnapshotImpact)
	// P99Before is, for AutoSnapshotImpact, the median p99 of windows as
	// long as a snapshot's that end where the next snapshot starts (cut
	// where the window without ends, left out if under half as long): a
	// baseline further from the last snapshot's after-effects. 0 if there
	// were none.
	P99Before     time.Duration
	BeforeWindows int // how many windows P99Before is the median of
}

// String renders the report on one line.
func (r SnapshotImpactReport) String() string {
	at := fmt.Sprintf("at %.4g MiB/s", float64(r.BytesPerSecond)/(1<<20))
	if r.Auto {
		at = fmt.Sprintf("(automatic, at most %.4g MiB/s)", float64(r.BytesPerSecond)/(1<<20))
	}
	return fmt.Sprintf("synced setData p50/p99 without a snapshot %v/%v, during snapshots %s %v/%v (medians of %d window pairs; %d snapshots; snapshots in progress ≥ %.1f%% of each during window): p99 ratio %.2f (pairs %s)",
		r.P50Without.Round(time.Microsecond), r.P99Without.Round(time.Microsecond), at,
		r.P50During.Round(time.Microsecond), r.P99During.Round(time.Microsecond),
		len(r.PairRatios), r.Snapshots, 100*r.MinOverlap, r.Ratio, ratioRange(r.PairRatios)) + r.before()
}

func (r SnapshotImpactReport) before() string {
	if r.P99Before == 0 {
		return ""
	}
	return fmt.Sprintf("; p99 right before the next snapshot %v (median of %d windows), ratio to it %.2f",
		r.P99Before.Round(time.Microsecond), r.BeforeWindows, float64(r.P99During)/float64(r.P99Before))
}

func ratioRange(rs []float64) string {
	if len(rs) == 0 {
		return "none"
	}
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(s, " ")
}

// SnapshotImpact measures synced setData latency on a tree of cfg.Nodes
// znodes, in cfg.Rounds pairs of windows in the same run: first a window
// in which whole snapshots of the tree are written back to back (at least
// cfg.Duration, and always to the end of the last snapshot, so that every
// cost of a snapshot — writing, fsync, pruning old ones, truncating the
// log — falls in it), then a window of the same length without. One
// window without, not counted, warms the engine up first. Each window's
// p50 and p99 are its own; the report gives the median of each kind.
func SnapshotImpact(cfg SnapshotImpactConfig) (SnapshotImpactReport, error) {
	cfg = cfg.withDefaults()
	parent, err := os.MkdirTemp(cfg.Dir, "zkembed-snapimpact-")
	if err != nil {
		return SnapshotImpactReport{}, err
	}
	defer os.RemoveAll(parent)
	dir := filepath.Join(parent, "data")
	db, _, err := buildTree(dir, cfg.Nodes, 100)
	if err != nil {
		return SnapshotImpactReport{}, err
	}
	if err := db.Close(); err != nil {
		return SnapshotImpactReport{}, err
	}
	db, err = zkembed.Open(dir, &zkembed.Options{SnapshotEvery: 1 << 30, SnapshotBytesPerSecond: cfg.BytesPerSecond}) // synced from here on
	if err != nil {
		return SnapshotImpactReport{}, err
	}
	defer db.Close()
	ctx := context.Background()
	rep := SnapshotImpactReport{BytesPerSecond: cfg.BytesPerSecond}
	if err := churn(ctx, db, cfg); err != nil {
		return rep, err
	}
	if _, err := impactWindow(ctx, db, cfg, cfg.Duration/2, false, 0); err != nil { // warm-up
		return rep, err
	}
	for round := range cfg.Rounds {
		during, err := impactWindow(ctx, db, cfg, cfg.Duration, true, round)
		if err != nil {
			return rep, err
		}
		without, err := impactWindow(ctx, db, cfg, during.Length, false, round)
		if err != nil {
			return rep, err
		}
		rep.Windows = append(rep.Windows, during, without)
		rep.PairRatios = append(rep.PairRatios, float64(during.P99)/float64(without.P99))
	}
	rep.summarize()
	return rep, nil
}

// summarize works out the medians, the ratio, the snapshot count and the
// least overlap from r.Windows.
func (r *SnapshotImpactReport) summarize() {
	var p50s, p99s [2][]time.Duration
	r.MinOverlap = 1
	for _, w := range r.Windows {
		k := 0
		if w.During {
			k = 1
			r.Snapshots += w.Snapshots
			r.MinOverlap = min(r.MinOverlap, w.Overlap)
		}
		p50s[k], p99s[k] = append(p50s[k], w.P50), append(p99s[k], w.P99)
	}
	r.P50Without, r.P99Without = median(p50s[0]), median(p99s[0])
	r.P50During, r.P99During = median(p50s[1]), median(p99s[1])
	r.Ratio = float64(r.P99During) / float64(r.P99Without)
}

// impactWindow runs cfg.Writers synced setData loops, each on a session of
// its own, for length; with snapshots, until at least length has passed
// and the snapshot then in progress has ended. Each round writes other
// nodes.
func impactWindow(ctx context.Context, db *zkembed.DB, cfg SnapshotImpactConfig, length time.Duration, snapshots bool, round int) (SnapshotImpactWindow, error) {
	stop := make(chan struct{})
	wait, errs := runWriters(ctx, db, cfg, stop, round*31)
	start := time.Now()
	var busy time.Duration // time inside DB.Snapshot calls
	taken := 0
	var err error
	if snapshots {
		for err == nil && time.Since(start) < length {
			t := time.Now()
			_, err = db.Snapshot(ctx)
			busy += time.Since(t)
			taken++
		}
	} else {
		time.Sleep(length)
	}
	close(stop)
	elapsed := time.Since(start)
	all := wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return SnapshotImpactWindow{}, err
	}
	win := windowOfAll(all, elapsed, snapshots)
	win.Snapshots, win.Overlap = taken, float64(busy)/float64(elapsed)
	return win, nil
}

// churn runs cfg.Churn setData calls on 32 sessions, over the whole tree.
func churn(ctx context.Context, db *zkembed.DB, cfg SnapshotImpactConfig) error {
	const writers = 32
	if cfg.Churn <= 0 {
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		s, err := db.NewSession(ctx, nil)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close(ctx)
			for i := w; i < cfg.Churn; i += writers {
				if _, err := s.SetData(ctx, Path((i*104729)%cfg.Nodes), []byte("x"), -1); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// String renders the window on one line.
func (w SnapshotImpactWindow) String() string {
	kind := "without"
	if w.During {
		kind = fmt.Sprintf("during %d snapshot(s), in progress %.1f%% of the window", w.Snapshots, 100*w.Overlap)
		if w.MiBPerSecond > 0 {
			kind = fmt.Sprintf("during an automatic snapshot written at %.1f MiB/s", w.MiBPerSecond)
		}
	}
	return fmt.Sprintf("%v window, %s: %d writes, p50 %v, p99 %v", w.Length.Round(time.Millisecond), kind, w.Writes,
		w.P50.Round(time.Microsecond), w.P99.Round(time.Microsecond))
}
