package lincheck

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/zkembed/zkembed/znode"
)

// Config is a workload for Run. Zero fields take the defaults given.
type Config struct {
	Clients      int    // concurrent clients, each its own session; default 16
	OpsPerClient int    // default 2000
	Paths        int    // nodes directly under the run's directory; default 64
	Children     int    // child names under each of them; default 2
	Seed         uint64 // seeds each client's random stream
	// Root is the directory the run makes its own directory under (each run
	// a fresh one, so the tracked paths start absent); default "/lincheck".
	Root string
	// OpTimeout bounds each operation; a timed-out one is Unknown.
	// Default 0: no bound.
	OpTimeout time.Duration
	// CheckTimeout bounds porcupine's search; default 1 minute.
	CheckTimeout time.Duration
	// Visualize, if set, is where porcupine's HTML visualization of an
	// Illegal history is written.
	Visualize string
}

func (c *Config) defaults() {
	if c.Clients == 0 {
		c.Clients = 16
	}
	if c.OpsPerClient == 0 {
		c.OpsPerClient = 2000
	}
	if c.Paths == 0 {
		c.Paths = 64
	}
	if c.Children == 0 {
		c.Children = 2
	}
	if c.Root == "" {
		c.Root = "/lincheck"
	}
	if c.CheckTimeout == 0 {
		c.CheckTimeout = time.Minute
	}
}

// Report is what Run found.
type Report struct {
	History   []Operation
	Ops       int // operations recorded
	Unknown   int // of which with an unknown outcome
	RunTime   time.Duration
	Zxid      ZxidResult
	Porcupine PorcupineResult
}

// Ok reports whether both checkers passed (porcupine's Unknown, a
// timeout, is not a pass).
func (r *Report) Ok() bool { return r.Zxid.Ok() && r.Porcupine.Result == porcupine.Ok }

func (r *Report) String() string {
	z := "ok"
	if !r.Zxid.Ok() {
		z = "violation: " + r.Zxid.Violation.Rule
	}
	return fmt.Sprintf("ops=%d unknown=%d run=%v zxid-order=%s (%d reads replayed, %v) porcupine=%s (%d partitions, %v)",
		r.Ops, r.Unknown, r.RunTime.Round(time.Millisecond), z, r.Zxid.Reads, r.Zxid.Duration.Round(time.Millisecond),
		r.Porcupine.Result, r.Porcupine.Partitions, r.Porcupine.Duration.Round(time.Millisecond))
}

// Run drives cfg's workload through cfg.Clients clients made by
// newClient (closed at the end), records the history and checks it with
// both checkers. Client 0 first makes cfg.Root (if missing) and the run's
// directory under it. Each client issues a random mix of creates,
// deletes, setDatas (half of them conditional on the version it last
// saw), getDatas, exists, getChildren and multis of two or three sub-ops
// within one of the cfg.Paths subtrees, every write with a unique value.
func Run(ctx context.Context, cfg Config, newClient func(i int) (Client, error)) (*Report, error) {
	cfg.defaults()
	clients := make([]Client, 0, cfg.Clients)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range cfg.Clients {
		c, err := newClient(i)
		if err != nil {
			return nil, fmt.Errorf("lincheck: client %d: %w", i, err)
		}
		clients = append(clients, c)
	}
	if _, err := clients[0].Create(ctx, cfg.Root, nil); err != nil && !errors.Is(err, znode.ErrNodeExists) {
		return nil, fmt.Errorf("lincheck: create %s: %w", cfg.Root, err)
	}
	dir := znode.Join(cfg.Root, "run-"+strconv.FormatUint(cfg.Seed, 10)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if _, err := clients[0].Create(ctx, dir, nil); err != nil {
		return nil, fmt.Errorf("lincheck: create %s: %w", dir, err)
	}
	var h History
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		w := worker{id: i, cfg: &cfg, dir: dir, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), versions: map[string]int32{}}
		wg.Go(func() { w.run(ctx, c, &h) })
	}
	wg.Wait()
	r := &Report{RunTime: time.Since(start), History: h.Operations()}
	r.Ops = len(r.History)
	for _, o := range r.History {
		if o.Result.Unknown {
			r.Unknown++
		}
	}
	r.Zxid = CheckZxidOrder(r.History)
	var err error
	r.Porcupine, err = CheckPorcupine(r.History, cfg.CheckTimeout, cfg.Visualize)
	return r, err
}

// worker is one client's op generator. It is owned by one goroutine.
type worker struct {
	id       int
	cfg      *Config
	dir      string
	rng      *rand.Rand
	n        int
	versions map[string]int32 // the version this client last saw per path
}

func (w *worker) run(ctx context.Context, c Client, h *History) {
	for range w.cfg.OpsPerClient {
		if ctx.Err() != nil {
			return
		}
		op := w.next()
		h.Do(w.id, op, func() Result {
			octx := ctx
			if w.cfg.OpTimeout > 0 {
				var cancel context.CancelFunc
				octx, cancel = context.WithTimeout(ctx, w.cfg.OpTimeout)
				defer cancel()
			}
			r := Perform(octx, c, op)
			w.observe(op, r)
			return r
		})
	}
}

// observe remembers versions the client saw, for conditional writes.
func (w *worker) observe(op Op, r Result) {
	if r.Unknown || r.Code != 0 {
		return
	}
	switch op.Kind {
	case KindGetData, KindSetData, KindGetChildren, KindCreate:
		w.versions[op.Path] = r.Stat.Version
	case KindExists:
		if r.Exists {
			w.versions[op.Path] = r.Stat.Version
		}
	}
}

// value returns a data value no other write of the run uses.
func (w *worker) value() string {
	w.n++
	return fmt.Sprintf("c%d.%d", w.id, w.n)
}

// pick returns a random node of subtree g: the subtree's top node or one
// of its children.
func (w *worker) pick(g int) string {
	top := znode.Join(w.dir, fmt.Sprintf("n%02d", g))
	if w.rng.IntN(2) == 0 {
		return top
	}
	return znode.Join(top, fmt.Sprintf("c%d", w.rng.IntN(w.cfg.Children)))
}

// version returns -1 or, half the time, the version last seen of path.
func (w *worker) version(path string) int32 {
	v, ok := w.versions[path]
	if !ok || w.rng.IntN(2) == 0 {
		return -1
	}
	return v
}

func (w *worker) write(kind Kind, path string) Op {
	switch kind {
	case KindCreate:
		return Op{Kind: KindCreate, Path: path, Data: w.value()}
	case KindSetData:
		return Op{Kind: KindSetData, Path: path, Data: w.value(), Version: w.version(path)}
	}
	return Op{Kind: kind, Path: path, Version: w.version(path)}
}

func (w *worker) next() Op {
	g := w.rng.IntN(w.cfg.Paths)
	path := w.pick(g)
	switch x := w.rng.IntN(100); {
	case x < 25:
		return Op{Kind: KindGetData, Path: path}
	case x < 33:
		return Op{Kind: KindExists, Path: path}
	case x < 40:
		return Op{Kind: KindGetChildren, Path: path}
	case x < 55:
		return w.write(KindCreate, path)
	case x < 77:
		return w.write(KindSetData, path)
	case x < 90:
		return w.write(KindDelete, path)
	default:
		m := Op{Kind: KindMulti}
		seen := map[string]bool{}
		for range 2 + w.rng.IntN(2) {
			p := w.pick(g)
			if seen[p] {
				continue
			}
			seen[p] = true
			kinds := []Kind{KindCreate, KindSetData, KindSetData, KindDelete, KindCheck}
			m.Sub = append(m.Sub, w.write(kinds[w.rng.IntN(len(kinds))], p))
		}
		return m
	}
}
