package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/zkembed/zkembed"
)

// SnapshotImpactConfig sizes the snapshot-impact workload.
type SnapshotImpactConfig struct {
	Dir      string        // parent for the data directory (default os.TempDir())
	Nodes    int           // znodes in the tree (default 1,000,000)
	Writers  int           // concurrent synced writers (default 4)
	Duration time.Duration // each phase (default 3s)
}

// SnapshotImpactReport compares synced write latency with and without a
// snapshot being written.
type SnapshotImpactReport struct {
	Snapshots              int           // snapshots written during the second phase
	P50Without, P99Without time.Duration // writes alone
	P50During, P99During   time.Duration // writes while snapshots are written back to back
	Ratio                  float64       // P99During ÷ P99Without
}

// String renders the report on one line.
func (r SnapshotImpactReport) String() string {
	return fmt.Sprintf("synced setData p50/p99 without a snapshot %v/%v, during %d back-to-back snapshots %v/%v: p99 ratio %.2f",
		r.P50Without.Round(time.Microsecond), r.P99Without.Round(time.Microsecond), r.Snapshots,
		r.P50During.Round(time.Microsecond), r.P99During.Round(time.Microsecond), r.Ratio)
}

// SnapshotImpact measures synced setData latency on a tree of cfg.Nodes
// znodes, first alone, then while snapshots of the whole tree are written
// one after another.
func SnapshotImpact(cfg SnapshotImpactConfig) (SnapshotImpactReport, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 1_000_000
	}
	if cfg.Writers == 0 {
		cfg.Writers = 4
	}
	if cfg.Duration == 0 {
		cfg.Duration = 3 * time.Second
	}
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
	db, err = zkembed.Open(dir, &zkembed.Options{SnapshotEvery: 1 << 30}) // synced from here on
	if err != nil {
		return SnapshotImpactReport{}, err
	}
	defer db.Close()
	ctx := context.Background()
	var rep SnapshotImpactReport
	without, err := latencies(ctx, db, cfg, nil)
	if err != nil {
		return rep, err
	}
	during, err := latencies(ctx, db, cfg, func(stop <-chan struct{}) error {
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			if _, err := db.Snapshot(ctx); err != nil {
				return err
			}
			rep.Snapshots++
		}
	})
	if err != nil {
		return rep, err
	}
	rep.P50Without, rep.P99Without = percentile(without, 50), percentile(without, 99)
	rep.P50During, rep.P99During = percentile(during, 50), percentile(during, 99)
	rep.Ratio = float64(rep.P99During) / float64(rep.P99Without)
	return rep, nil
}

// latencies runs cfg.Writers synced setData loops for cfg.Duration (with
// background running beside them, if not nil) and returns every latency.
func latencies(ctx context.Context, db *zkembed.DB, cfg SnapshotImpactConfig, background func(stop <-chan struct{}) error) ([]time.Duration, error) {
	stop := make(chan struct{})
	bgErr := make(chan error, 1)
	if background != nil {
		go func() { bgErr <- background(stop) }()
	} else {
		bgErr <- nil
	}
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Writers)
	deadline := time.Now().Add(cfg.Duration)
	for w := range cfg.Writers {
		s, err := db.NewSession(ctx, nil)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				start := time.Now()
				if _, err := s.SetData(ctx, Path((w*7919+i*104729)%cfg.Nodes), []byte("x"), -1); err != nil {
					errs <- err
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-bgErr; err != nil {
		return nil, err
	}
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return all, nil
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
