// Package bench measures zkembed beside its physical limits. Each workload
// runs the engine and a raw tidwall/btree Map on the same keys in the same
// process, one right after the other, and reports the ratio: on a shared
// machine a single absolute time means little, a ratio measured in one run
// means more.
//
// Workloads are plain functions over a Config, so tests, the zkembed command
// and `go test -bench` all run the same code.
//
// Beside those, Run measures one client workload (create, set, get, exists,
// children, multi, watch fan-out, lock contention, or mixed reads and writes
// at a read ratio) on one Target — the embedded engine in memory or on disk,
// go-zookeeper to zkembed's wire server, go-zookeeper to a real ZooKeeper,
// or an etcd server embedded in the process through its in-process client
// (EtcdTarget) — with every operation's latency in an HDR histogram. A Plan runs sweeps
// over targets, client counts and read ratios, targets innermost so that
// ratios compare neighbouring runs; WriteTable, WriteJSON, WriteCSV and
// WriteChart render the results, and Rollover forces zxid epoch changes.
// Every goroutine a run starts has ended when it returns, but for the
// engines and servers targets keep between runs, which CloseTargets ends.
package bench

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/btree"
	"github.com/zkembed/zkembed"
)

// Config sizes a workload.
type Config struct {
	Nodes      int // znodes in the tree before measuring (default 100,000)
	DataSize   int // bytes of data per znode (default 100)
	Goroutines int // concurrent readers (default 1)
}

func (c Config) withDefaults() Config {
	if c.Nodes == 0 {
		c.Nodes = 100_000
	}
	if c.DataSize == 0 {
		c.DataSize = 100
	}
	if c.Goroutines == 0 {
		c.Goroutines = 1
	}
	return c
}

// Measure is one measured operation.
type Measure struct {
	Name        string
	NsPerOp     float64
	AllocsPerOp int64
	BytesPerOp  int64
}

// Comparison is an engine operation beside the raw B-tree operation it is
// bounded by. Ratio = raw ns/op ÷ engine ns/op: 1 would be as fast as the
// bare data structure.
type Comparison struct {
	Engine, Raw Measure
	Ratio       float64
}

// String renders the comparison on one line, engine first.
func (c Comparison) String() string {
	return fmt.Sprintf("%-34s %9.0f ns/op %3d allocs/op | %-22s %7.0f ns/op | ratio %.2f",
		c.Engine.Name, c.Engine.NsPerOp, c.Engine.AllocsPerOp, c.Raw.Name, c.Raw.NsPerOp, c.Ratio)
}

func compare(engine, raw Measure) Comparison {
	return Comparison{Engine: engine, Raw: raw, Ratio: raw.NsPerOp / engine.NsPerOp}
}

func measure(name string, f func(b *testing.B)) Measure {
	r := testing.Benchmark(f)
	return Measure{Name: name, NsPerOp: float64(r.T.Nanoseconds()) / float64(r.N), AllocsPerOp: r.AllocsPerOp(), BytesPerOp: r.AllocedBytesPerOp()}
}

// Path returns the path of the i-th benchmark node: 1000 parents of up to
// 1000 children each, so paths look like real ones and siblings share a
// prefix.
func Path(i int) string {
	return fmt.Sprintf("/bench/p%03d/n%07d", i/1000, i)
}

// fixture is an engine holding cfg.Nodes nodes, and a raw Map with the same
// keys and data.
type fixture struct {
	db    *zkembed.DB
	s     *zkembed.Session
	raw   *btree.Map[string, []byte]
	paths []string
	data  []byte
}

func newFixture(cfg Config) (*fixture, error) {
	ctx := context.Background()
	db, err := zkembed.Open("", nil)
	if err != nil {
		return nil, err
	}
	s, err := db.NewSession(ctx, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	f := &fixture{db: db, s: s, raw: new(btree.Map[string, []byte]), data: make([]byte, cfg.DataSize)}
	for i := range cfg.Nodes {
		p := Path(i)
		if i%1000 == 0 {
			if err := f.ensure(ctx, p[:strings.LastIndexByte(p, '/')]); err != nil {
				db.Close()
				return nil, err
			}
		}
		if _, err := s.Create(ctx, p, f.data, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
			db.Close()
			return nil, err
		}
		f.raw.Set(p, f.data)
		f.paths = append(f.paths, p)
	}
	return f, nil
}

// key returns the i-th key of a scattered walk over the fixture's keys
// (stride 104729, a prime), so that consecutive operations touch unrelated
// parts of the tree.
func (f *fixture) key(i int) string { return f.paths[(i*104729)%len(f.paths)] }

func (f *fixture) ensure(ctx context.Context, path string) error {
	for i := 1; i <= len(path); i++ {
		if i == len(path) || path[i] == '/' {
			_, err := f.s.Create(ctx, path[:i], nil, zkembed.ModePersistent, zkembed.OpenACL())
			if err != nil && !strings.Contains(err.Error(), "exists") {
				return err
			}
		}
	}
	return nil
}

// parallel runs op(i) b.N times over cfg.Goroutines goroutines, each
// starting at a different key.
func parallel(b *testing.B, goroutines int, op func(i int)) {
	if goroutines == 1 {
		for i := 0; i < b.N; i++ {
			op(i)
		}
		return
	}
	var next atomic.Int64
	b.SetParallelism(1)
	prev := runtime.GOMAXPROCS(goroutines)
	defer runtime.GOMAXPROCS(prev)
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			op(i)
			i++
		}
	})
}

// Reads compares GetData and Exists on a tree of cfg.Nodes nodes with a raw
// Map Get of the same keys, cfg.Goroutines readers at a time. Keys are
// visited in a scattered order so neither side enjoys a warm path.
func Reads(cfg Config) ([]Comparison, error) {
	cfg = cfg.withDefaults()
	f, err := newFixture(cfg)
	if err != nil {
		return nil, err
	}
	defer f.db.Close()
	ctx := context.Background()
	n, key := len(f.paths), f.key
	raw := measure(fmt.Sprintf("btree.Map Get (%dg)", cfg.Goroutines), func(b *testing.B) {
		parallel(b, cfg.Goroutines, func(i int) {
			if _, ok := f.raw.Get(key(i)); !ok {
				panic("missing key")
			}
		})
	})
	get := measure(fmt.Sprintf("GetData %dk nodes (%dg)", n/1000, cfg.Goroutines), func(b *testing.B) {
		b.ReportAllocs()
		parallel(b, cfg.Goroutines, func(i int) {
			if _, _, err := f.s.GetData(ctx, key(i)); err != nil {
				panic(err)
			}
		})
	})
	exists := measure(fmt.Sprintf("Exists %dk nodes (%dg)", n/1000, cfg.Goroutines), func(b *testing.B) {
		parallel(b, cfg.Goroutines, func(i int) {
			if ok, _, err := f.s.Exists(ctx, key(i)); err != nil || !ok {
				panic(err)
			}
		})
	})
	return []Comparison{compare(get, raw), compare(exists, raw)}, nil
}

// Writes compares in-memory Create and SetData with a raw Map Set of the
// same keys: new keys for creates, existing keys for setData.
func Writes(cfg Config) ([]Comparison, error) {
	cfg = cfg.withDefaults()
	f, err := newFixture(cfg)
	if err != nil {
		return nil, err
	}
	defer f.db.Close()
	ctx := context.Background()
	n, key := len(f.paths), f.key
	var created int
	newKeys := func(b *testing.B) []string {
		keys := make([]string, b.N)
		for i := range keys {
			created++
			keys[i] = fmt.Sprintf("%s-new%d", key(i), created)
		}
		return keys
	}
	rawSet := measure("btree.Map Set (new key)", func(b *testing.B) {
		keys := newKeys(b)
		b.ResetTimer()
		for _, k := range keys {
			f.raw.Set(k, f.data)
		}
	})
	create := measure(fmt.Sprintf("Create %dk nodes", n/1000), func(b *testing.B) {
		keys := newKeys(b)
		b.ReportAllocs()
		b.ResetTimer()
		for _, k := range keys {
			if _, err := f.s.Create(ctx, k, f.data, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
				panic(err)
			}
		}
	})
	rawReplace := measure("btree.Map Set (replace)", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f.raw.Set(key(i), f.data)
		}
	})
	set := measure(fmt.Sprintf("SetData %dk nodes", n/1000), func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := f.s.SetData(ctx, key(i), f.data, -1); err != nil {
				panic(err)
			}
		}
	})
	return []Comparison{compare(create, rawSet), compare(set, rawReplace)}, nil
}

// MemoryReport is the heap cost of znodes.
type MemoryReport struct {
	Nodes       int
	DataSize    int
	PathBytes   float64 // average path length
	HeapPerNode float64 // heap bytes per znode, everything included
	// Overhead is HeapPerNode minus the path and data bytes themselves:
	// what the engine spends per znode (node struct, B-tree slot,
	// allocator rounding).
	Overhead float64
	Elapsed  time.Duration
}

// String renders the report on one line.
func (m MemoryReport) String() string {
	return fmt.Sprintf("%d znodes with %d-byte data: %.1f heap bytes/znode, %.1f beyond the path (%.1f B) and data (%d B); built in %v",
		m.Nodes, m.DataSize, m.HeapPerNode, m.Overhead, m.PathBytes, m.DataSize, m.Elapsed.Round(time.Millisecond))
}

// Memory builds a tree of cfg.Nodes znodes with cfg.DataSize bytes of data
// each and reports the heap it takes.
func Memory(cfg Config) (MemoryReport, error) {
	cfg = cfg.withDefaults()
	settle()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f, err := newFixture(Config{Nodes: cfg.Nodes, DataSize: cfg.DataSize})
	if err != nil {
		return MemoryReport{}, err
	}
	elapsed := time.Since(start)
	// Only the engine's memory counts: drop the raw map and the key list.
	pathBytes := 0
	for _, p := range f.paths {
		pathBytes += len(p)
	}
	f.raw, f.paths = nil, nil
	settle()
	runtime.ReadMemStats(&after)
	defer f.db.Close()
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	perNode := heap / float64(cfg.Nodes)
	avgPath := float64(pathBytes) / float64(cfg.Nodes)
	runtime.KeepAlive(f)
	return MemoryReport{
		Nodes: cfg.Nodes, DataSize: cfg.DataSize, PathBytes: avgPath,
		HeapPerNode: perNode, Overhead: perNode - avgPath - float64(cfg.DataSize), Elapsed: elapsed,
	}, nil
}

// settle collects garbage until the heap stops shrinking: pool victim caches
// and finalizers need more than one cycle.
func settle() {
	var m runtime.MemStats
	prev := uint64(0)
	for range 5 {
		runtime.GC()
		runtime.ReadMemStats(&m)
		if m.HeapAlloc == prev {
			return
		}
		prev = m.HeapAlloc
	}
}
