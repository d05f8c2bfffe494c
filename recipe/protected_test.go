package recipe_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/recipe"
	"github.com/zkembed/zkembed/znode"
)

// flaky is an embedded client whose first create of a lock node is applied
// but "loses its reply", and whose next GetChildren fails: a connection
// that drops after a create and is still down for the lookup.
type flaky struct {
	recipe.Client
	lostCreate, lostList atomic.Bool
}

func (f *flaky) Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL) (string, error) {
	p, err := f.Client.Create(ctx, path, data, mode, acl)
	if err == nil && strings.Contains(path, "lock-") && f.lostCreate.CompareAndSwap(false, true) {
		f.lostList.Store(true)
		return "", fmt.Errorf("reply lost: %w", znode.ErrConnectionLoss)
	}
	return p, err
}

func (f *flaky) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	if f.lostList.CompareAndSwap(true, false) {
		return nil, znode.Stat{}, fmt.Errorf("still down: %w", znode.ErrConnectionLoss)
	}
	return f.Client.GetChildren(ctx, path)
}

// A create whose reply is lost, followed by a lookup that fails too, must
// not create a second node: the contender would wait for its own first
// node for ever, and that node would block everyone.
func TestProtectedCreateLookupFails(t *testing.T) {
	db := openEngine(t)
	ctx := ctxFor(t)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	c := &flaky{Client: s.RecipeClient()}
	l := recipe.NewLock(c, "/lk", nil)
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, l.Lock(lctx), "a free lock")
	names, _, err := s.GetChildren(ctx, "/lk")
	require.NoError(t, err)
	require.Len(t, names, 1, "one node for one contender")
	require.NoError(t, l.Unlock(ctx))
	names, _, err = s.GetChildren(ctx, "/lk")
	require.NoError(t, err)
	require.Empty(t, names)
}

// lossy is an embedded client whose first create of a node under dir is
// applied but "loses its reply", and which then fails every request for
// down: a connection that drops after a create and stays down a while.
type lossy struct {
	recipe.Client
	dir       string
	down      time.Duration
	lost      atomic.Bool
	downUntil atomic.Int64
}

func (l *lossy) isDown() bool { return time.Now().UnixNano() < l.downUntil.Load() }

func (l *lossy) Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL) (string, error) {
	if l.isDown() {
		return "", fmt.Errorf("down: %w", znode.ErrConnectionLoss)
	}
	p, err := l.Client.Create(ctx, path, data, mode, acl)
	if err == nil && strings.HasPrefix(path, l.dir+"/") && l.lost.CompareAndSwap(false, true) {
		l.downUntil.Store(time.Now().Add(l.down).UnixNano())
		return "", fmt.Errorf("reply lost: %w", znode.ErrConnectionLoss)
	}
	return p, err
}

func (l *lossy) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	if l.isDown() {
		return nil, znode.Stat{}, fmt.Errorf("down: %w", znode.ErrConnectionLoss)
	}
	return l.Client.GetChildren(ctx, path)
}

// A barrier participant whose create lost its reply while the connection
// stayed down for a while finds its node once the connection is back:
// it enters with it, and leaves deleting it. (It used to give up after ten
// immediate retries, leaving a node that counted as a participant for the
// whole session and that Leave could not delete.)
func TestDoubleBarrierJoinAfterLostReply(t *testing.T) {
	db := openEngine(t)
	ctx := ctxFor(t)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	c := &lossy{Client: s.RecipeClient(), dir: "/db", down: 200 * time.Millisecond}
	b := recipe.NewDoubleBarrier(c, "/db", 1)
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, b.Enter(ectx))
	names, _, err := s.GetChildren(ctx, "/db")
	require.NoError(t, err)
	require.Len(t, names, 2, "our node and ready: %v", names)
	require.NotEmpty(t, b.Node())
	require.NoError(t, b.Leave(ectx))
	names, _, err = s.GetChildren(ctx, "/db")
	require.NoError(t, err)
	require.NotContains(t, names, b.Node())
	for _, n := range names {
		require.Equal(t, "ready", n, "no participant left behind")
	}
}
