package recipe_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/recipe"
)

// Twenty goroutines on four sessions wait at a barrier; none passes until
// it is removed, and then all do.
func TestBarrier(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		path := b.root + "/barrier/gate" // Set creates the parent too
		require.NoError(t, recipe.NewBarrier(c, path).Wait(ctx), "a barrier never set")
		require.NoError(t, recipe.NewBarrier(c, path).Set(ctx))
		require.NoError(t, recipe.NewBarrier(c, path).Set(ctx), "set twice")

		var cs []*watchingClient
		for range 4 {
			cs = append(cs, &watchingClient{Client: b.client(t)})
		}
		const n = 20
		results := make([]chan error, n)
		for i := range n {
			results[i] = make(chan error, 1)
			bar := recipe.NewBarrier(cs[i%len(cs)], path)
			go func() { results[i] <- bar.Wait(ctx) }()
		}
		eventually(t, "20 waiters watching", func() bool {
			w := int32(0)
			for _, c := range cs {
				w += c.watches.Load()
			}
			return w >= n
		})
		cctx, cancel := context.WithCancel(ctx)
		cancelled := make(chan error, 1)
		go func() { cancelled <- recipe.NewBarrier(c, path).Wait(cctx) }()
		time.Sleep(20 * time.Millisecond) // give an early return a chance to show
		notReturned(t, "waiter", results...)
		cancel()
		require.ErrorIs(t, recvErr(t, cancelled), context.Canceled)
		notReturned(t, "waiter", results...)

		require.NoError(t, recipe.NewBarrier(c, path).Remove(ctx))
		for _, ch := range results {
			require.NoError(t, recvErr(t, ch))
		}
		require.NoError(t, recipe.NewBarrier(c, path).Remove(ctx), "removed twice")
		require.NoError(t, recipe.NewBarrier(c, path).Wait(ctx), "a removed barrier")
	})
}

// doubleBarrierRound runs 20 participants on four sessions through a
// double barrier of 20. Nobody returns from Enter before the last has
// entered, nor from Leave before the last has left. held picks, among the
// participants' nodes (sorted), the one to leave last, so that both sides
// of the lowest/highest algorithm are exercised.
func doubleBarrierRound(t *testing.T, b *backend, dir string, held func(sorted []string) string) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	c := b.client(t)
	var cs []recipe.Client
	for range 4 {
		cs = append(cs, b.client(t))
	}
	const n = 20
	type entry struct {
		i    int
		node string
	}
	var started, entered, leaving atomic.Int32
	nodes := make(chan entry, n)
	leaveGo := make([]chan struct{}, n)
	left := make([]chan error, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // first: a failed check must not leave participants waiting
	run := func(i int) {
		leaveGo[i], left[i] = make(chan struct{}), make(chan error, 1)
		db := recipe.NewDoubleBarrier(cs[i%len(cs)], dir, n)
		started.Add(1)
		wg.Go(func() {
			if err := db.Enter(ctx); err != nil {
				t.Errorf("participant %d: Enter: %v", i, err)
				nodes <- entry{i, ""}
				return
			}
			if s := started.Load(); s != n {
				t.Errorf("participant %d entered when only %d had started", i, s)
			}
			entered.Add(1)
			nodes <- entry{i, db.Node()}
			select {
			case <-leaveGo[i]:
			case <-ctx.Done():
			}
			leaving.Add(1)
			err := db.Leave(ctx)
			if l := leaving.Load(); err == nil && l != n {
				t.Errorf("participant %d left when only %d were leaving", i, l)
			}
			left[i] <- err
		})
	}
	for i := range n - 1 {
		run(i)
	}
	eventually(t, "19 participants", func() bool { return len(barrierNodes(c, dir)) == n-1 })
	time.Sleep(20 * time.Millisecond) // give an early return a chance to show
	require.Zero(t, entered.Load(), "entered before the last participant came")
	run(n - 1)

	owner := map[string]int{}
	var sorted []string
	for range n {
		select {
		case e := <-nodes:
			require.NotEmpty(t, e.node, "participant %d did not enter", e.i)
			owner[e.node] = e.i
			sorted = append(sorted, e.node)
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d entered", len(sorted), n)
		}
	}
	slices.Sort(sorted)
	last := owner[held(sorted)]
	for i := range n {
		if i != last {
			close(leaveGo[i])
		}
	}
	// Everyone but the lowest and the one held back goes at once; the
	// lowest stays until it is the last.
	want := []string{sorted[0]}
	if h := held(sorted); h != sorted[0] {
		want = append(want, h)
	}
	eventually(t, "the others gone", func() bool { return slices.Equal(barrierNodes(c, dir), want) })
	time.Sleep(20 * time.Millisecond) // give an early return a chance to show
	for i := range n {
		if i != last {
			notReturned(t, "Leave of participant", left[i])
		}
	}
	close(leaveGo[last])
	for i := range n {
		require.NoError(t, recvErr(t, left[i]), "participant %d", i)
	}
	require.Zero(t, countChildren(t, c, dir), "the participants' nodes and ready are gone")
}

// barrierNodes returns the paths of a double barrier's participants
// (every child but "ready"), sorted; nil if they cannot be read.
func barrierNodes(c recipe.Client, dir string) []string {
	names, _, err := c.GetChildren(context.Background(), dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, name := range names {
		if name != "ready" {
			out = append(out, dir+"/"+name)
		}
	}
	slices.Sort(out)
	return out
}

func TestDoubleBarrier(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		t.Run("lowest leaves last", func(t *testing.T) {
			doubleBarrierRound(t, b, b.root+"/double1", func(s []string) string { return s[0] })
		})
		t.Run("highest leaves last", func(t *testing.T) {
			doubleBarrierRound(t, b, b.root+"/double2", func(s []string) string { return s[len(s)-1] })
		})
		t.Run("middle leaves last", func(t *testing.T) {
			doubleBarrierRound(t, b, b.root+"/double3", func(s []string) string { return s[len(s)/2] })
		})
	})
}

// A participant whose Enter is cancelled leaves no node, and the count
// does not include it; count is a threshold: a participant coming after
// the barrier opened enters at once.
func TestDoubleBarrierCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/double-cancel"

		cctx, cancel := context.WithCancel(ctx)
		p := recipe.NewDoubleBarrier(b.client(t), dir, 3)
		done := make(chan error, 1)
		go func() { done <- p.Enter(cctx) }()
		waitChildren(t, c, dir, 1)
		cancel()
		require.ErrorIs(t, recvErr(t, done), context.Canceled)
		require.Zero(t, countChildren(t, c, dir), "the cancelled participant's node is gone when Enter returns")
		require.ErrorIs(t, p.Leave(ctx), recipe.ErrNotHeld)

		short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel2()
		require.ErrorIs(t, recipe.NewDoubleBarrier(c, dir, 3).Enter(short), context.DeadlineExceeded)
		require.Zero(t, countChildren(t, c, dir))

		// Two enter and wait: the cancelled ones did not count.
		var ps []*recipe.DoubleBarrier
		results := make([]chan error, 4)
		for i := range 4 {
			ps = append(ps, recipe.NewDoubleBarrier(b.client(t), dir, 3))
			results[i] = make(chan error, 1)
		}
		for i := range 2 {
			go func() { results[i] <- ps[i].Enter(ctx) }()
		}
		waitChildren(t, c, dir, 2)
		time.Sleep(20 * time.Millisecond) // give an early return a chance to show
		notReturned(t, "Enter", results[:2]...)
		require.NoError(t, ps[2].Enter(ctx), "the third")
		require.ErrorIs(t, ps[2].Enter(ctx), recipe.ErrEntered)
		require.NoError(t, recvErr(t, results[0]))
		require.NoError(t, recvErr(t, results[1]))
		require.NoError(t, ps[3].Enter(ctx), "a fourth, after the barrier opened")

		for i := range 4 {
			go func() { results[i] <- ps[i].Leave(ctx) }()
		}
		for i := range 4 {
			require.NoError(t, recvErr(t, results[i]))
		}
		require.Zero(t, countChildren(t, c, dir))
		require.ErrorIs(t, ps[0].Leave(ctx), recipe.ErrNotHeld)
	})
}
