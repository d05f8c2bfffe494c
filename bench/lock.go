package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
)

// LockConfig sizes the lock-contention workload.
type LockConfig struct {
	// ZooKeeper is a real ZooKeeper's host:port (an IP literal); empty
	// skips it.
	ZooKeeper   string
	Contenders  int           // goroutines, each with its own session (default 50)
	Duration    time.Duration // per target (default 2s)
	DurableDir  string        // parent of the durable engine's directory (default os.TempDir())
	SkipDurable bool          // measure only the in-memory engine (and ZooKeeper)
}

// LockResult is the lock handoff rate on one target.
type LockResult struct {
	Target     string
	Contenders int
	Handoffs   int64
	PerSec     float64
	RatioVsZK  float64 // PerSec ÷ ZooKeeper's in the same run; 0 without ZooKeeper
}

// String renders the result on one line.
func (r LockResult) String() string {
	s := fmt.Sprintf("lock handoffs %-28s %3d contenders %9.0f /s", r.Target, r.Contenders, r.PerSec)
	if r.RatioVsZK > 0 {
		s += fmt.Sprintf("  (%.1fx ZooKeeper)", r.RatioVsZK)
	}
	return s
}

// Lock measures handoffs of one recipe.Lock among cfg.Contenders
// contenders, each its own session looping Lock, Unlock: on an in-memory
// engine, on a durable one (synced, as ZooKeeper), and on a real ZooKeeper
// through go-zookeeper when cfg.ZooKeeper is set. A handoff is one
// acquisition; every release wakes exactly one waiter (the recipe watches
// only its predecessor), so the rate is bound by the latency of a delete,
// its notification and the next holder's read.
func Lock(cfg LockConfig) ([]LockResult, error) {
	if cfg.Contenders == 0 {
		cfg.Contenders = 50
	}
	if cfg.Duration == 0 {
		cfg.Duration = 2 * time.Second
	}
	var out []LockResult
	mem, err := lockOnEngine("zkembed in memory", "", cfg)
	if err != nil {
		return nil, err
	}
	out = append(out, mem)
	if !cfg.SkipDurable {
		parent, err := os.MkdirTemp(cfg.DurableDir, "zkembed-lockbench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(parent)
		dur, err := lockOnEngine("zkembed durable", filepath.Join(parent, "data"), cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, dur)
	}
	if cfg.ZooKeeper != "" {
		z, err := lockOnZooKeeper(cfg)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].RatioVsZK = out[i].PerSec / z.PerSec
		}
		out = append(out, z)
	}
	return out, nil
}

func lockOnEngine(name, dir string, cfg LockConfig) (LockResult, error) {
	db, err := zkembed.Open(dir, nil)
	if err != nil {
		return LockResult{}, err
	}
	defer db.Close()
	clients := make([]recipe.Client, cfg.Contenders)
	for i := range clients {
		s, err := db.NewSession(context.Background(), nil)
		if err != nil {
			return LockResult{}, err
		}
		clients[i] = s.RecipeClient()
	}
	return lockRun(name, clients, "/bench-lock", cfg)
}

func lockOnZooKeeper(cfg LockConfig) (LockResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]recipe.Client, cfg.Contenders)
	for i := range clients {
		c, err := recipe.Connect(ctx, []string{cfg.ZooKeeper}, 10*time.Second, nil)
		if err != nil {
			return LockResult{}, fmt.Errorf("zookeeper %s: %w", cfg.ZooKeeper, err)
		}
		defer c.Close()
		clients[i] = c
	}
	dir := fmt.Sprintf("/bench-lock-%d", time.Now().UnixNano())
	r, err := lockRun("zookeeper "+cfg.ZooKeeper, clients, dir, cfg)
	// Leave the server as we found it: the directory is empty again.
	_ = clients[0].Delete(context.Background(), dir, -1)
	return r, err
}

func lockRun(name string, clients []recipe.Client, dir string, cfg LockConfig) (LockResult, error) {
	ctx := context.Background()
	if _, err := clients[0].Create(ctx, dir, nil, zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
		return LockResult{}, err
	}
	var handoffs atomic.Int64
	var firstErr atomic.Value
	var holders atomic.Int32
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := recipe.NewLock(c, dir, nil)
			for time.Now().Before(deadline) {
				if err := l.Lock(ctx); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if holders.Add(1) != 1 {
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s: two holders at once", name))
				}
				handoffs.Add(1)
				holders.Add(-1)
				if err := l.Unlock(ctx); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		return LockResult{}, fmt.Errorf("lock bench on %s: %w", name, err)
	}
	n := handoffs.Load()
	return LockResult{Target: name, Contenders: len(clients), Handoffs: n, PerSec: float64(n) / elapsed.Seconds()}, nil
}
