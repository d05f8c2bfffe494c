package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/zkembed/zkembed"
)

// DurableConfig sizes the durable write workload.
type DurableConfig struct {
	Dir      string        // parent for the data directories (default os.TempDir())
	Writers  int           // concurrent sessions, and raw pebble writers (default 1)
	Duration time.Duration // how long each side runs (default 2s)
	DataSize int           // bytes of data per write (default 100)
}

// Throughput is a measured rate.
type Throughput struct {
	Name      string
	Ops       int64
	OpsPerSec float64
}

// DurableComparison is durable engine writes beside raw synced pebble
// commits of one record each, with the same number of writers.
type DurableComparison struct {
	Engine, Raw Throughput
	Ratio       float64 // engine ops/s ÷ raw ops/s
}

// String renders the comparison on one line, engine first.
func (c DurableComparison) String() string {
	return fmt.Sprintf("%-30s %8.0f ops/s | %-32s %8.0f ops/s | ratio %.2f",
		c.Engine.Name, c.Engine.OpsPerSec, c.Raw.Name, c.Raw.OpsPerSec, c.Ratio)
}

// Durable measures synced creates and setData on a data directory beside
// raw pebble: each raw writer commits one record of the same size per
// pebble.Sync batch, which is the physical limit of one write per sync.
func Durable(cfg DurableConfig) ([]DurableComparison, error) {
	if cfg.Writers == 0 {
		cfg.Writers = 1
	}
	if cfg.Duration == 0 {
		cfg.Duration = 2 * time.Second
	}
	if cfg.DataSize == 0 {
		cfg.DataSize = 100
	}
	parent, err := os.MkdirTemp(cfg.Dir, "zkembed-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(parent)

	raw, err := rawPebble(filepath.Join(parent, "raw"), cfg)
	if err != nil {
		return nil, err
	}
	db, err := zkembed.Open(filepath.Join(parent, "engine"), nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx := context.Background()
	sessions := make([]*zkembed.Session, cfg.Writers)
	for i := range sessions {
		if sessions[i], err = db.NewSession(ctx, nil); err != nil {
			return nil, err
		}
		if _, err := sessions[i].Create(ctx, fmt.Sprintf("/w%d", i), nil, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
			return nil, err
		}
	}
	data := make([]byte, cfg.DataSize)
	created := make([]int, cfg.Writers) // each writer counts its own creates
	create, err := run(fmt.Sprintf("durable create (%d sessions)", cfg.Writers), cfg, func(w, i int) error {
		_, err := sessions[w].Create(ctx, fmt.Sprintf("/w%d/n%d", w, i), data, zkembed.ModePersistent, zkembed.OpenACL())
		if err == nil {
			created[w] = i + 1
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	set, err := run(fmt.Sprintf("durable setData (%d sessions)", cfg.Writers), cfg, func(w, i int) error {
		if created[w] == 0 {
			_, err := sessions[w].SetData(ctx, fmt.Sprintf("/w%d", w), data, -1)
			return err
		}
		_, err := sessions[w].SetData(ctx, fmt.Sprintf("/w%d/n%d", w, i%min(created[w], 1000)), data, -1)
		return err
	})
	if err != nil {
		return nil, err
	}
	return []DurableComparison{
		{Engine: create, Raw: raw, Ratio: create.OpsPerSec / raw.OpsPerSec},
		{Engine: set, Raw: raw, Ratio: set.OpsPerSec / raw.OpsPerSec},
	}, nil
}

// run calls op(writer, i) from cfg.Writers goroutines for cfg.Duration.
func run(name string, cfg DurableConfig, op func(w, i int) error) (Throughput, error) {
	var ops atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := op(w, i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return Throughput{}, fmt.Errorf("%s: %w", name, err)
	}
	n := ops.Load()
	return Throughput{Name: name, Ops: n, OpsPerSec: float64(n) / time.Since(start).Seconds()}, nil
}

// RawSyncedCommits measures synced pebble commits of one record of
// dataSize bytes each, from writers goroutines, for d, on a fresh pebble
// DB under dir: the scale of what the disk gives a store that fsyncs
// every acknowledged write. It is not a hard ceiling: one client through
// the in-process dialer has measured faster (6.1k against 4.8k writes/s,
// 2026-11-25), for reasons not investigated.
func RawSyncedCommits(dir string, writers int, d time.Duration, dataSize int) (Throughput, error) {
	parent, err := os.MkdirTemp(dir, "zkembed-rawsync-")
	if err != nil {
		return Throughput{}, err
	}
	defer os.RemoveAll(parent)
	return rawPebble(filepath.Join(parent, "raw"), DurableConfig{Writers: writers, Duration: d, DataSize: dataSize})
}

// rawPebble measures one-record synced commits on a pebble DB created the
// way txnlog creates its own.
func rawPebble(dir string, cfg DurableConfig) (Throughput, error) {
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: quietLogger{}})
	if err != nil {
		return Throughput{}, err
	}
	defer db.Close()
	value := make([]byte, cfg.DataSize+50) // about a create record's size
	var seq atomic.Uint64
	return run(fmt.Sprintf("raw pebble synced commit (%d writers)", cfg.Writers), cfg, func(_, _ int) error {
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], seq.Add(1))
		b := db.NewBatch()
		if err := b.Set(key[:], value, nil); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	})
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(string, ...any)        {}
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
