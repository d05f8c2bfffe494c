package recipe_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
	"github.com/zkembed/zkembed/znode"
)

// exclusion records critical sections and fails on overlap.
type exclusion struct {
	inside  atomic.Int32
	overlap atomic.Int32
	entered atomic.Int32
}

func (e *exclusion) critical() {
	if e.inside.Add(1) != 1 {
		e.overlap.Add(1)
	}
	e.entered.Add(1)
	time.Sleep(200 * time.Microsecond) // long enough for an overlap to show
	e.inside.Add(-1)
}

// contend runs goroutines contenders on the clients (round robin), each
// taking the lock at dir once, and checks that none overlapped, all got
// it, and the directory is empty afterwards.
func contend(t *testing.T, clients []recipe.Client, dir string, goroutines int) {
	ctx := ctxFor(t)
	var ex exclusion
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := recipe.NewLock(clients[i%len(clients)], dir, nil)
			if err := l.Lock(ctx); err != nil {
				errs <- err
				return
			}
			ex.critical()
			errs <- l.Unlock(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, ex.overlap.Load(), "overlapping critical sections")
	require.EqualValues(t, goroutines, ex.entered.Load())
	names, _, err := clients[0].GetChildren(ctx, dir)
	require.NoError(t, err)
	require.Empty(t, names, "lock directory after every contender unlocked")
}

func TestLockMutualExclusion(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		t.Run("50 goroutines, one session", func(t *testing.T) {
			contend(t, []recipe.Client{b.client(t)}, b.root+"/lock1", 50)
		})
		t.Run("5 sessions", func(t *testing.T) {
			var cs []recipe.Client
			for range 5 {
				cs = append(cs, b.client(t))
			}
			contend(t, cs, b.root+"/lock5", 50)
		})
	})
}

// Contenders acquire in the order they queued, and each waits on its
// predecessor only: a release wakes one waiter.
func TestLockFIFO(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/fifo"
		first := recipe.NewLock(c, dir, nil)
		require.NoError(t, first.Lock(ctx))
		const n = 8
		order := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			l := recipe.NewLock(b.client(t), dir, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := l.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				order <- i
				_ = l.Unlock(ctx)
			}()
			waitChildren(t, c, dir, i+2) // queued before the next one starts
		}
		require.NoError(t, first.Unlock(ctx))
		wg.Wait()
		close(order)
		var got []int
		for i := range order {
			got = append(got, i)
		}
		require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, got)
	})
}

func waitChildren(t *testing.T, c recipe.Client, dir string, n int) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		names, _, err := c.GetChildren(context.Background(), dir)
		if err == nil && len(names) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d children, have %v (%v)", dir, n, names, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestLockTryLockTokenAndData(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c1, c2 := b.client(t), b.client(t)
		dir := b.root + "/try"
		a := recipe.NewLock(c1, dir, &recipe.LockOptions{Data: []byte("holder-a")})
		ok, err := a.TryLock(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		data, st, err := c2.GetData(ctx, a.Node())
		require.NoError(t, err)
		require.Equal(t, "holder-a", string(data))
		require.Equal(t, st.Czxid, a.Token(), "the token is the node's czxid")
		require.Equal(t, c1.SessionID(), st.EphemeralOwner)
		_, err = a.TryLock(ctx)
		require.ErrorIs(t, err, recipe.ErrLockHeld)

		bl := recipe.NewLock(c2, dir, nil)
		ok, err = bl.TryLock(ctx)
		require.NoError(t, err)
		require.False(t, ok, "TryLock while held")
		waitChildren(t, c1, dir, 1) // the failed TryLock left nothing behind

		first := a.Token()
		require.NoError(t, a.Unlock(ctx))
		require.ErrorIs(t, a.Unlock(ctx), recipe.ErrNotHeld)
		require.Zero(t, a.Token())
		ok, err = bl.TryLock(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		require.Greater(t, bl.Token(), first, "fencing tokens grow")
		require.NoError(t, bl.Unlock(ctx))
	})
}

// A waiter whose context ends gives up and leaves no node behind.
func TestLockCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/cancel"
		holder := recipe.NewLock(c, dir, nil)
		require.NoError(t, holder.Lock(ctx))

		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		waiter := recipe.NewLock(b.client(t), dir, nil)
		go func() { done <- waiter.Lock(wctx) }()
		waitChildren(t, c, dir, 2)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		waitChildren(t, c, dir, 1)

		short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel2()
		require.ErrorIs(t, recipe.NewLock(c, dir, nil).Lock(short), context.DeadlineExceeded)
		waitChildren(t, c, dir, 1)
		require.NoError(t, holder.Unlock(ctx))
		waitChildren(t, c, dir, 0)
	})
}

// A holder whose session expires loses the lock (Lost is closed) and the
// next waiter gets it.
func TestLockHolderExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		hc := b.client(t)
		dir := b.root + "/expiry"
		holder := recipe.NewLock(hc, dir, nil)
		require.NoError(t, holder.Lock(ctx))

		wc := b.client(t)
		waiter := recipe.NewLock(wc, dir, nil)
		got := make(chan error, 1)
		go func() { got <- waiter.Lock(ctx) }()
		waitChildren(t, wc, dir, 2)
		select {
		case err := <-got:
			t.Fatalf("waiter got the lock while it was held: %v", err)
		case <-time.After(50 * time.Millisecond):
		}

		b.expire(t, hc)
		select {
		case <-holder.Lost():
		default:
			t.Fatal("Lost not closed after the holder's session expired")
		}
		require.NoError(t, <-got)
		require.ErrorIs(t, holder.Unlock(ctx), recipe.ErrSessionLost)
		require.NoError(t, waiter.Unlock(ctx))
	})
}

// lossyClient loses the reply of its first create: the create happens, the
// caller sees connection loss.
type lossyClient struct {
	recipe.Client
	lost atomic.Bool
}

func (c *lossyClient) Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL) (string, error) {
	p, err := c.Client.Create(ctx, path, data, mode, acl)
	if err == nil && c.lost.CompareAndSwap(false, true) {
		return "", &znode.OpError{Op: "create", Path: path, Err: znode.ErrConnectionLoss}
	}
	return p, err
}

// A create whose reply is lost is found by its protected prefix: the lock
// is taken with that node and no second node is made.
func TestLockProtectedCreate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/protected"
		_, err := c.Create(ctx, dir, nil, zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		lc := &lossyClient{Client: c}
		l := recipe.NewLock(lc, dir, nil)
		require.NoError(t, l.Lock(ctx))
		require.True(t, lc.lost.Load())
		names, _, err := c.GetChildren(ctx, dir)
		require.NoError(t, err)
		require.Len(t, names, 1)
		require.Equal(t, dir+"/"+names[0], l.Node())
		require.NoError(t, l.Unlock(ctx))
		waitChildren(t, c, dir, 0)
	})
}

// go-zookeeper's own Lock and ours exclude each other on the same path.
func TestLockExcludesGoZookeeperLock(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		c := b.client(t)
		zc, ok := b.client(t).(*recipe.ZK)
		if !ok {
			t.Skip("needs a go-zookeeper connection") // the embedded backend: covered by the other two
		}
		ctx := ctxFor(t)
		dir := b.root + "/interop"
		theirs := zk.NewLock(zc.Conn(), dir, zk.WorldACL(zk.PermAll))
		require.NoError(t, theirs.Lock())
		ours := recipe.NewLock(c, dir, nil)
		ok, err := ours.TryLock(ctx)
		require.NoError(t, err)
		require.False(t, ok, "ours while go-zookeeper's is held")

		got := make(chan error, 1)
		go func() { got <- ours.Lock(ctx) }()
		waitChildren(t, c, dir, 2)
		require.NoError(t, theirs.Unlock())
		require.NoError(t, <-got)

		theirsDone := make(chan error, 1)
		go func() { theirsDone <- theirs.Lock() }()
		waitChildren(t, c, dir, 2)
		select {
		case err := <-theirsDone:
			t.Fatalf("go-zookeeper's lock taken while ours is held (%v)", err)
		case <-time.After(100 * time.Millisecond):
		}
		require.NoError(t, ours.Unlock(ctx))
		require.NoError(t, <-theirsDone)
		require.NoError(t, theirs.Unlock())
	})
}
