package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkembed/zkembed/recipe"
	"github.com/zkembed/zkembed/znode"
)

// Workload names, for RunConfig.Workload.
const (
	WorkCreate   = "create"   // create a new persistent node
	WorkSet      = "set"      // setData on one of the client's nodes
	WorkGet      = "get"      // getData of one of the client's nodes
	WorkExists   = "exists"   // exists of one of the client's nodes
	WorkChildren = "children" // getChildren of the client's node (Children names)
	WorkMulti    = "multi"    // one transaction: create a node, setData its parent, delete the node
	WorkWatch    = "watch"    // one writer's setData fires a one-shot watch on every client
	WorkLock     = "lock"     // every client loops recipe.Lock, Unlock on one lock
	WorkMixed    = "mixed"    // getData with probability ReadRatio, else setData (ZooKeeper paper, fig. 5)
)

// WorkloadNames lists the workloads in the order they are usually run.
var WorkloadNames = []string{WorkCreate, WorkSet, WorkGet, WorkExists, WorkChildren, WorkMulti, WorkWatch, WorkLock, WorkMixed}

// workload is how one workload sets itself up and runs. Most are one
// operation per loop turn (op); watch and lock coordinate their clients
// and run their own loop.
type workload struct {
	extra int // sessions beyond RunConfig.Clients (watch: its writer)
	setup func(ctx context.Context, e *env) error
	op    func(ctx context.Context, e *env, c, i int) error
	loop  func(ctx context.Context, e *env)
}

var workloads = map[string]workload{
	WorkCreate: {setup: setupTree, op: func(ctx context.Context, e *env, c, i int) error {
		_, err := e.clients[c].Create(ctx, fmt.Sprintf("%s/x%d", e.clientNode(c), i), e.data, znode.ModePersistent, znode.OpenACL())
		return err
	}},
	WorkSet: {setup: setupTree, op: func(ctx context.Context, e *env, c, i int) error {
		_, err := e.clients[c].SetData(ctx, e.leaf(c, i), e.data, -1)
		return err
	}},
	WorkGet: {setup: setupTree, op: func(ctx context.Context, e *env, c, i int) error {
		_, _, err := e.clients[c].GetData(ctx, e.leaf(c, i))
		return err
	}},
	WorkExists: {setup: setupTree, op: func(ctx context.Context, e *env, c, i int) error {
		ok, _, err := e.clients[c].Exists(ctx, e.leaf(c, i))
		if err == nil && !ok {
			err = fmt.Errorf("exists %s: %w", e.leaf(c, i), znode.ErrNoNode)
		}
		return err
	}},
	WorkChildren: {setup: setupTree, op: func(ctx context.Context, e *env, c, _ int) error {
		kids, _, err := e.clients[c].GetChildren(ctx, e.clientNode(c))
		if err == nil && len(kids) != e.cfg.Children {
			err = fmt.Errorf("getChildren %s: %d children, want %d", e.clientNode(c), len(kids), e.cfg.Children)
		}
		return err
	}},
	WorkMulti: {setup: setupTree, op: func(ctx context.Context, e *env, c, i int) error {
		n := fmt.Sprintf("%s/m%d", e.clientNode(c), i)
		return e.clients[c].Multi(ctx,
			MultiOp{Kind: MultiCreate, Path: n, Data: e.data},
			MultiOp{Kind: MultiSet, Path: e.clientNode(c), Data: e.data},
			MultiOp{Kind: MultiDelete, Path: n})
	}},
	WorkMixed: {setup: setupMixed, op: func(ctx context.Context, e *env, c, i int) error {
		if e.reads[c].Float64() < e.cfg.ReadRatio {
			_, _, err := e.clients[c].GetData(ctx, e.leaf(c, i))
			return err
		}
		_, err := e.clients[c].SetData(ctx, e.leaf(c, i), e.data, -1)
		return err
	}},
	WorkWatch: {extra: 1, setup: setupWatch, loop: watchLoop},
	WorkLock:  {setup: setupLock, loop: lockLoop},
}

// clientNode is client c's own node: each client works in its own
// subtree, so that clients do not contend on one znode.
func (e *env) clientNode(c int) string { return fmt.Sprintf("%s/c%d", e.root, c) }

// leaf is the i-th operation's node of client c: its children in turn.
func (e *env) leaf(c, i int) string { return fmt.Sprintf("%s/c%d/n%d", e.root, c, i%e.cfg.Children) }

// setupTree creates the root, a node per client and Children children
// under each, all with DataSize bytes of data.
func setupTree(ctx context.Context, e *env) error {
	c0 := e.clients[0]
	if _, err := c0.Create(ctx, e.root, nil, znode.ModePersistent, znode.OpenACL()); err != nil {
		return err
	}
	for c := range e.cfg.Clients {
		if _, err := c0.Create(ctx, e.clientNode(c), e.data, znode.ModePersistent, znode.OpenACL()); err != nil {
			return err
		}
		for j := range e.cfg.Children {
			if _, err := c0.Create(ctx, e.leaf(c, j), e.data, znode.ModePersistent, znode.OpenACL()); err != nil {
				return err
			}
		}
	}
	return nil
}

// setupMixed is setupTree, and a random source per client that decides
// its reads: seeded by the client's index, so the sequence of reads and
// writes is the same on every target.
func setupMixed(ctx context.Context, e *env) error {
	e.reads = make([]*rand.Rand, e.cfg.Clients)
	for c := range e.reads {
		e.reads[c] = rand.New(rand.NewPCG(uint64(c), 0x7a6b))
	}
	return setupTree(ctx, e)
}

func (e *env) fanNode() string { return e.root + "/fan" }

func setupWatch(ctx context.Context, e *env) error {
	c0 := e.clients[0]
	if _, err := c0.Create(ctx, e.root, nil, znode.ModePersistent, znode.OpenACL()); err != nil {
		return err
	}
	_, err := c0.Create(ctx, e.fanNode(), e.data, znode.ModePersistent, znode.OpenACL())
	return err
}

// watchTimeout bounds how long the watch workload waits for its watchers:
// past it an event counts as lost and the run fails.
const watchTimeout = 10 * time.Second

// watchLoop: clients 0..Clients-1 watch one node with one-shot getData
// watches, the last client writes it. Each round the writer waits until
// every watcher has (re)armed its watch, writes, and each watcher records
// the time from the write's start to its event. An operation is one
// delivered event.
func watchLoop(ctx context.Context, e *env) {
	n := e.cfg.Clients
	writer := e.clients[n]
	ready := make(chan error, n) // one per watcher per round
	stop := make(chan struct{})
	var writeStart atomic.Int64 // unix nanos of the current write
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, _, ch, err := e.clients[c].GetW(ctx, e.fanNode())
				ready <- err
				if err != nil {
					return
				}
				select {
				case ev, ok := <-ch:
					if !ok || ev.Type != znode.EventNodeDataChanged {
						ready <- fmt.Errorf("watcher %d: unexpected event %+v", c, ev)
						return
					}
					e.record(c, time.Unix(0, writeStart.Load()), nil)
				case <-stop:
					return
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	fireRounds(e, n, ready, &writeStart, func() error {
		_, err := writer.SetData(ctx, e.fanNode(), e.data, -1)
		return err
	})
}

// fireRounds is the watch workload's writer: it waits until all n watchers
// are ready (each reports on ready once per round), then notes the time
// and writes once to fire them all, until the run ends or an event is
// lost.
func fireRounds(e *env, n int, ready <-chan error, writeStart *atomic.Int64, write func() error) {
	timer := time.NewTimer(watchTimeout)
	defer timer.Stop()
	for {
		timer.Reset(watchTimeout)
		for range n {
			select {
			case err := <-ready:
				if err != nil {
					e.fail(err)
					return
				}
			case <-timer.C:
				e.fail(fmt.Errorf("watchers not ready after %v: an event was lost", watchTimeout))
				return
			}
		}
		if !e.more() {
			return
		}
		writeStart.Store(time.Now().UnixNano())
		if err := write(); err != nil {
			e.fail(err)
			return
		}
	}
}

func setupLock(ctx context.Context, e *env) error {
	_, err := e.clients[0].Create(ctx, e.root, nil, znode.ModePersistent, znode.OpenACL())
	return err
}

// lockLoop: every client loops Lock, Unlock on one recipe.Lock.
func lockLoop(ctx context.Context, e *env) {
	contend(ctx, e, func(c int) locker { return recipe.NewLock(e.clients[c], e.root, nil) })
}

// locker is a lock a client holds in turn: recipe.Lock, or etcd's
// concurrency.Mutex.
type locker interface {
	Lock(ctx context.Context) error
	Unlock(ctx context.Context) error
}

// contend runs the lock workload: every client loops Lock, Unlock on its
// own handle (newLock) of one lock. An operation is one acquisition, its
// latency the wait for the lock. Two holders at once fail the run.
func contend(ctx context.Context, e *env, newLock func(c int) locker) {
	var holders atomic.Int32
	var wg sync.WaitGroup
	for c := range e.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := newLock(c)
			for e.more() {
				t := time.Now()
				if err := l.Lock(ctx); err != nil {
					e.fail(err)
					return
				}
				if holders.Add(1) != 1 {
					e.fail(fmt.Errorf("two holders of the lock at once"))
				}
				e.record(c, t, nil)
				holders.Add(-1)
				if err := l.Unlock(ctx); err != nil {
					e.fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
