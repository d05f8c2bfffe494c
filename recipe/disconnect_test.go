package recipe_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
)

// After its session expired, go-zookeeper opens a new session by itself.
// The Client must not work in it (its Done is closed, so nothing made
// there would be known to the recipes): a Lock then fails and leaves no
// node.
func TestNoWorkAfterExpiryOnSameClient(t *testing.T) {
	db := openEngine(t)
	srv := zkembed.NewServer(db, nil)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	ctx := ctxFor(t)
	c, err := recipe.Connect(ctx, []string{"127.0.0.1:2181"}, 10*time.Second, srv.Dial)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	other, err := db.NewSession(ctx, nil)
	require.NoError(t, err)

	require.NoError(t, db.ExpireSession(ctx, c.SessionID()))
	waitDone(t, c)
	time.Sleep(3 * time.Second) // go-zookeeper would have a new session by now

	l := recipe.NewLock(c, "/lk", nil)
	require.Error(t, l.Lock(ctx))
	names, _, err := other.GetChildren(ctx, "/lk")
	if err == nil {
		require.Empty(t, names)
	} else {
		require.ErrorIs(t, err, zkembed.ErrNoNode)
	}
}

// A contender whose ctx ends while its connection is down must still
// delete its node: the session survives the disconnection, and a node
// left behind would queue for the lock for ever.
func TestAbandonDuringDisconnect(t *testing.T) {
	db := openEngine(t)
	srv := zkembed.NewServer(db, nil)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	ctx := ctxFor(t)
	holderS, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	holder := recipe.NewLock(holderS.RecipeClient(), "/lk", nil)
	require.NoError(t, holder.Lock(ctx))

	d := &cutDialer{inner: srv.Dial}
	c, err := recipe.Connect(ctx, []string{"127.0.0.1:2181"}, 10*time.Second, d.dial)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	waiter := recipe.NewLock(c, "/lk", nil)
	wctx, cancel := context.WithCancel(ctx)
	res := make(chan error, 1)
	go func() { res <- waiter.Lock(wctx) }()
	require.Eventually(t, func() bool {
		names, _, _ := holderS.GetChildren(ctx, "/lk")
		return len(names) == 2
	}, 5*time.Second, 5*time.Millisecond)

	d.cut()
	cancel()
	go func() { time.Sleep(1500 * time.Millisecond); d.restore() }()
	err = <-res
	t.Logf("waiter.Lock: %v", err)
	require.Eventually(t, func() bool {
		_, _, err := c.GetChildren(ctx, "/lk")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	select {
	case <-c.Done():
		t.Fatal("session lost: not the scenario")
	default:
	}

	require.NoError(t, holder.Unlock(ctx))
	thirdS, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	third := recipe.NewLock(thirdS.RecipeClient(), "/lk", nil)
	ok, err := third.TryLock(ctx)
	require.NoError(t, err)
	names, _, _ := thirdS.GetChildren(ctx, "/lk")
	t.Logf("children after holder's Unlock: %v; third TryLock = %v", names, ok)
	require.True(t, ok)
}

// Unlock during a disconnection deletes the node once the connection is
// back, rather than forgetting it with the lock held by nobody.
func TestUnlockDuringDisconnect(t *testing.T) {
	db := openEngine(t)
	srv := zkembed.NewServer(db, nil)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	ctx := ctxFor(t)
	d := &cutDialer{inner: srv.Dial}
	c, err := recipe.Connect(ctx, []string{"127.0.0.1:2181"}, 10*time.Second, d.dial)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	l := recipe.NewLock(c, "/lk", nil)
	require.NoError(t, l.Lock(ctx))
	d.cut()
	go func() { time.Sleep(1500 * time.Millisecond); d.restore() }()
	err = l.Unlock(ctx)
	t.Logf("Unlock while cut off: %v", err)
	require.Eventually(t, func() bool {
		_, _, err := c.GetChildren(ctx, "/lk")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	ok, err := recipe.NewLock(s2.RecipeClient(), "/lk", nil).TryLock(ctx)
	require.NoError(t, err)
	names, _, _ := s2.GetChildren(ctx, "/lk")
	t.Logf("children: %v; TryLock = %v", names, ok)
	require.True(t, ok)
}

// Connect's round trip in the new session (see Connect) must give way to
// ctx: here the server gets the connect request and nothing after it, so
// the round trip would wait for go-zookeeper's own timeouts.
func TestConnectGivesUpWithCtxDuringItsRoundTrip(t *testing.T) {
	db := openEngine(t)
	srv := zkembed.NewServer(db, nil)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	dial := func(network, addr string, timeout time.Duration) (net.Conn, error) {
		c, err := srv.Dial(network, addr, timeout)
		if err != nil {
			return nil, err
		}
		return &afterFirstWrite{Conn: c}, nil
	}
	ctx, cancel := context.WithTimeout(ctxFor(t), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := recipe.Connect(ctx, []string{"127.0.0.1:2181"}, 10*time.Second, dial)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Nil(t, c)
	require.Less(t, time.Since(start), 3*time.Second, "Connect waited past its ctx")
}

// afterFirstWrite passes its first Write (go-zookeeper's connect request)
// and drops every later one.
type afterFirstWrite struct {
	net.Conn
	wrote atomic.Bool
}

func (c *afterFirstWrite) Write(p []byte) (int, error) {
	if c.wrote.Swap(true) {
		return len(p), nil
	}
	return c.Conn.Write(p)
}
