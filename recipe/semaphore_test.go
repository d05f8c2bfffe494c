package recipe_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/recipe"
)

// leaseNode is the name of a lease node as Curator names it.
var leaseNode = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-lease-[0-9]{10}$`)

// holders counts who holds a lease and remembers the most at once.
type holders struct {
	mu      sync.Mutex
	now     int
	most    int
	entered int
}

func (h *holders) enter() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now++
	h.entered++
	h.most = max(h.most, h.now)
}

func (h *holders) leave() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now--
}

// Fifteen goroutines on five sessions share three leases: never more than
// three hold one at once, everyone gets one, and nothing is left behind.
func TestSemaphoreBound(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		var cs []recipe.Client
		for range 5 {
			cs = append(cs, b.client(t))
		}
		dir := b.root + "/bound"
		const goroutines, maxLeases = 15, 3
		var h holders
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			s := recipe.NewSemaphore(cs[g%len(cs)], dir, maxLeases, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := s.Acquire(ctx)
				if err != nil {
					errs <- err
					return
				}
				h.enter()
				time.Sleep(20 * time.Millisecond) // long enough for acquirers to pile up on every backend
				h.leave()
				errs <- l.Release(ctx)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.LessOrEqual(t, h.most, maxLeases, "leases held at once")
		require.Equal(t, goroutines, h.entered)
		t.Logf("at most %d leases held at once", h.most)
		waitChildren(t, cs[0], dir+"/leases", 0)
		waitChildren(t, cs[0], dir+"/locks", 0)
	})
}

// With every lease held an acquirer waits and a release wakes it;
// TryAcquire does not wait; AcquireN takes all it asks for or nothing.
func TestSemaphoreWaitsForRelease(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/wait"
		leases := dir + "/leases"
		var held []*recipe.Lease
		for range 3 {
			s := recipe.NewSemaphore(b.client(t), dir, 3, &recipe.SemaphoreOptions{Data: []byte("holder")})
			l, err := s.Acquire(ctx)
			require.NoError(t, err)
			held = append(held, l)
		}
		_, base := splitPath(held[0].Node())
		require.Regexp(t, leaseNode, base)
		data, _, err := c.GetData(ctx, held[0].Node())
		require.NoError(t, err)
		require.Equal(t, "holder", string(data))

		s := recipe.NewSemaphore(c, dir, 3, nil)
		l, err := s.TryAcquire(ctx)
		require.NoError(t, err)
		require.Nil(t, l, "TryAcquire with every lease held")
		waitChildren(t, c, leases, 3) // the failed TryAcquire left nothing behind

		got := make(chan *recipe.Lease, 1)
		gotErr := make(chan error, 1)
		go func() {
			l, err := s.Acquire(ctx)
			gotErr <- err
			got <- l
		}()
		waitChildren(t, c, leases, 4) // the waiter's lease node, not yet counted in
		waitChildren(t, c, dir+"/locks", 1)
		select {
		case err := <-gotErr:
			t.Fatalf("a fourth lease granted (%v)", err)
		case <-time.After(100 * time.Millisecond):
		}
		require.NoError(t, held[1].Release(ctx))
		require.ErrorIs(t, held[1].Release(ctx), recipe.ErrNotHeld)
		require.NoError(t, <-gotErr)
		waiter := <-got
		waitChildren(t, c, dir+"/locks", 0) // its turn is over
		held[1] = waiter
		for _, l := range held {
			require.NoError(t, l.Release(ctx))
		}
		waitChildren(t, c, leases, 0)

		_, err = s.AcquireN(ctx, 4)
		require.ErrorIs(t, err, recipe.ErrLeaseCount)
		_, err = recipe.NewSemaphore(c, dir, 0, nil).Acquire(ctx)
		require.ErrorIs(t, err, recipe.ErrLeaseCount)
		one, err := s.Acquire(ctx)
		require.NoError(t, err)
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err = s.AcquireN(short, 3)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		waitChildren(t, c, leases, 1) // all or nothing: the two it had got are returned
		require.NoError(t, one.Release(ctx))
		three, err := s.AcquireN(ctx, 3)
		require.NoError(t, err)
		require.Len(t, three, 3)
		l, err = s.TryAcquire(ctx)
		require.NoError(t, err)
		require.Nil(t, l)
		for _, l := range three {
			require.NoError(t, l.Release(ctx))
		}
		waitChildren(t, c, leases, 0)
	})
}

// An acquirer whose context ends gives up, leaving no node in leases or
// locks, and lets the next acquirer have its turn.
func TestSemaphoreCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/cancel"
		s := recipe.NewSemaphore(c, dir, 1, nil)
		holder, err := s.Acquire(ctx)
		require.NoError(t, err)

		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := recipe.NewSemaphore(b.client(t), dir, 1, nil).Acquire(wctx)
			done <- err
		}()
		waitChildren(t, c, dir+"/leases", 2)
		// A second waiter queues for its turn behind the first.
		next := make(chan error, 1)
		go func() {
			l, err := recipe.NewSemaphore(b.client(t), dir, 1, nil).Acquire(ctx)
			if err == nil {
				err = l.Release(ctx)
			}
			next <- err
		}()
		waitChildren(t, c, dir+"/locks", 2)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		// The second now has its turn and waits with its own lease node.
		waitChildren(t, c, dir+"/locks", 1)
		waitChildren(t, c, dir+"/leases", 2)

		require.NoError(t, holder.Release(ctx))
		require.NoError(t, <-next)
		waitChildren(t, c, dir+"/leases", 0)
		waitChildren(t, c, dir+"/locks", 0)
	})
}

// A holder whose session expires loses its lease (Lost is closed) and the
// acquirer waiting for it gets the lease.
func TestSemaphoreHolderExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		hc, wc := b.client(t), b.client(t)
		dir := b.root + "/expiry"
		holder, err := recipe.NewSemaphore(hc, dir, 1, nil).Acquire(ctx)
		require.NoError(t, err)

		got := make(chan error, 1)
		var waiter *recipe.Lease
		go func() {
			var err error
			waiter, err = recipe.NewSemaphore(wc, dir, 1, nil).Acquire(ctx)
			got <- err
		}()
		waitChildren(t, wc, dir+"/leases", 2)
		select {
		case err := <-got:
			t.Fatalf("waiter got a lease while the only one was held: %v", err)
		case <-time.After(50 * time.Millisecond):
		}

		b.expire(t, hc)
		select {
		case <-holder.Lost():
		default:
			t.Fatal("Lost not closed after the holder's session expired")
		}
		require.NoError(t, <-got)
		require.ErrorIs(t, holder.Release(ctx), recipe.ErrSessionLost)
		require.NoError(t, waiter.Release(ctx))
		waitChildren(t, wc, dir+"/leases", 0)
		waitChildren(t, wc, dir+"/locks", 0)
	})
}
