package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	Duration time.Duration // how long each side runs in all (default 2s)
	DataSize int           // bytes of data per write (default 100)

	// Rounds splits each side's Duration into this many windows, run in
	// turn (raw, create, setData, the RawWork sides, then the next round
	// in the reverse order), so that a disk whose speed drifts during the
	// run slows every side alike; the RawWork sides run further from the
	// engine's than plain raw pebble does. Each ratio is the median of the
	// rounds' ratios. Default 3; Duration/Rounds must be at least 10 ms.
	Rounds int

	// RawWork, if set, adds raw pebble sides whose writers also spend this
	// much CPU (a busy loop, outside any lock) before each commit: what the
	// disk gives writers that do some work of their own per write, as the
	// engine's do. Raw pebble's rate with many writers is very sensitive
	// to it (BENCHMARKS.md, 2026-12-06 session 8).
	RawWork []time.Duration
}

// Throughput is a measured rate.
type Throughput struct {
	Name      string
	Ops       int64
	OpsPerSec float64
	Elapsed   time.Duration // wall time the ops took
}

// DurableComparison is durable engine writes beside raw synced pebble
// commits of one record each, with the same number of writers.
type DurableComparison struct {
	Engine, Raw Throughput
	Ratio       float64   // median of the rounds' engine ÷ raw ratios
	Ratios      []float64 // each round's ratio, in the order run
}

// String renders the comparison on one line, engine first.
func (c DurableComparison) String() string {
	rounds := ""
	if len(c.Ratios) > 1 {
		parts := make([]string, len(c.Ratios))
		for i, r := range c.Ratios {
			parts[i] = fmt.Sprintf("%.2f", r)
		}
		rounds = " (rounds " + strings.Join(parts, " ") + ")"
	}
	return fmt.Sprintf("%-30s %8.0f ops/s | %-44s %8.0f ops/s | ratio %.2f%s",
		c.Engine.Name, c.Engine.OpsPerSec, c.Raw.Name, c.Raw.OpsPerSec, c.Ratio, rounds)
}

// minWindow is the shortest window Durable runs a side for: a shorter one
// may see no write complete at all (a synced write takes milliseconds on
// a slow disk).
const minWindow = 10 * time.Millisecond

// Durable measures synced creates and setData on a data directory beside
// raw pebble: each raw writer commits one record of the same size per
// pebble.Sync batch, which is the physical limit of one write per sync.
// The sides take turns in cfg.Rounds windows each; a side's ops/s is over
// all its windows, a ratio the median of the per-round ratios. It returns
// create and setData against raw pebble, then, for each cfg.RawWork,
// create and setData against raw pebble with that much work per write.
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
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	window := cfg.Duration / time.Duration(cfg.Rounds)
	if window < minWindow {
		return nil, fmt.Errorf("bench: durable windows of %v (%v in %d rounds) are shorter than %v", window, cfg.Duration, cfg.Rounds, minWindow)
	}
	for _, work := range cfg.RawWork {
		if work <= 0 {
			return nil, fmt.Errorf("bench: raw work %v per write: must be positive", work)
		}
	}
	parent, err := os.MkdirTemp(cfg.Dir, "zkembed-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(parent)

	rawDB, err := openRawPebble(filepath.Join(parent, "raw"))
	if err != nil {
		return nil, err
	}
	defer rawDB.Close()
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
	var seq atomic.Uint64               // raw pebble's keys, across rounds
	sides := []side{
		{name: fmt.Sprintf("raw pebble synced commit (%d writers)", cfg.Writers), op: rawCommit(rawDB, &seq, cfg.DataSize, 0)},
		{name: fmt.Sprintf("durable create (%d sessions)", cfg.Writers), op: func(w, _ int) error {
			i := created[w]
			_, err := sessions[w].Create(ctx, fmt.Sprintf("/w%d/n%d", w, i), data, zkembed.ModePersistent, zkembed.OpenACL())
			if err == nil {
				created[w] = i + 1
			}
			return err
		}},
		{name: fmt.Sprintf("durable setData (%d sessions)", cfg.Writers), op: func(w, i int) error {
			if created[w] == 0 {
				_, err := sessions[w].SetData(ctx, fmt.Sprintf("/w%d", w), data, -1)
				return err
			}
			_, err := sessions[w].SetData(ctx, fmt.Sprintf("/w%d/n%d", w, i%min(created[w], 1000)), data, -1)
			return err
		}},
	}
	for _, work := range cfg.RawWork {
		sides = append(sides, side{
			name: fmt.Sprintf("raw pebble + %v work (%d writers)", work, cfg.Writers),
			op:   rawCommit(rawDB, &seq, cfg.DataSize, work),
		})
	}
	for r := range cfg.Rounds {
		order := make([]int, len(sides))
		for i := range order {
			order[i] = i
		}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			t, err := run(sides[i].name, cfg.Writers, window, sides[i].op)
			if err != nil {
				return nil, err
			}
			if t.Ops == 0 {
				return nil, fmt.Errorf("bench: %s completed nothing in a %v window", sides[i].name, window)
			}
			sides[i].add(t)
		}
	}
	// Sides 1 and 2 are the engine's; the others are references.
	refs := append([]side{sides[0]}, sides[3:]...)
	var out []DurableComparison
	for _, ref := range refs {
		for _, eng := range sides[1:3] {
			out = append(out, compareSides(eng, ref))
		}
	}
	return out, nil
}

// side is one measured workload of Durable, with its windows.
type side struct {
	name    string
	op      func(w, i int) error
	ops     int64
	elapsed time.Duration
	rates   []float64 // ops/s of each window
}

func (s *side) add(t Throughput) {
	s.ops += t.Ops
	s.elapsed += t.Elapsed
	s.rates = append(s.rates, t.OpsPerSec)
}

func (s *side) throughput() Throughput {
	return Throughput{Name: s.name, Ops: s.ops, OpsPerSec: float64(s.ops) / s.elapsed.Seconds(), Elapsed: s.elapsed}
}

// compareSides pairs an engine side with a reference side round by round.
func compareSides(eng, ref side) DurableComparison {
	c := DurableComparison{Engine: eng.throughput(), Raw: ref.throughput()}
	for i := range eng.rates {
		c.Ratios = append(c.Ratios, eng.rates[i]/ref.rates[i])
	}
	sorted := slices.Clone(c.Ratios)
	slices.Sort(sorted)
	if n := len(sorted); n%2 == 1 {
		c.Ratio = sorted[n/2]
	} else {
		c.Ratio = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return c
}

// run calls op(writer, i) from writers goroutines for d; i counts each
// writer's calls from 0.
func run(name string, writers int, d time.Duration, op func(w, i int) error) (Throughput, error) {
	var ops atomic.Int64
	var errOnce sync.Once
	var firstErr error
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := op(w, i); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return Throughput{}, fmt.Errorf("%s: %w", name, firstErr)
	}
	n := ops.Load()
	elapsed := time.Since(start)
	return Throughput{Name: name, Ops: n, OpsPerSec: float64(n) / elapsed.Seconds(), Elapsed: elapsed}, nil
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

// rawPebble measures one-record synced commits on a fresh pebble DB in dir.
func rawPebble(dir string, cfg DurableConfig) (Throughput, error) {
	db, err := openRawPebble(dir)
	if err != nil {
		return Throughput{}, err
	}
	defer db.Close()
	var seq atomic.Uint64
	return run(fmt.Sprintf("raw pebble synced commit (%d writers)", cfg.Writers), cfg.Writers, cfg.Duration, rawCommit(db, &seq, cfg.DataSize, 0))
}

// openRawPebble creates a pebble DB the way txnlog creates its own.
func openRawPebble(dir string) (*pebble.DB, error) {
	return pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: quietLogger{}})
}

// rawCommit returns a writer's op that spends work of CPU, then commits one
// record of about a create record's size (dataSize+50 bytes) in its own
// synced batch, under the next key of seq.
func rawCommit(db *pebble.DB, seq *atomic.Uint64, dataSize int, work time.Duration) func(w, i int) error {
	value := make([]byte, dataSize+50)
	return func(_, _ int) error {
		if work > 0 {
			spin(work)
		}
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], seq.Add(1))
		b := db.NewBatch()
		if err := b.Set(key[:], value, nil); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	}
}

// spinSink keeps spin's arithmetic from being optimized away.
var spinSink atomic.Uint64

// spin keeps a CPU busy for about d, yielding only where the Go scheduler
// preempts it, as a writer computing something would.
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for range 32 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	spinSink.Add(x)
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(string, ...any)        {}
func (quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
