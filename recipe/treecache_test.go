package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
	"github.com/zkembed/zkembed/znode"
)

// treeNode is what a tree cache must agree on for a node.
type treeNode struct {
	Data     string
	Czxid    znode.Zxid
	Mzxid    znode.Zxid
	Version  int32
	Children []string
}

// readTree reads the subtree at root as it is now (nothing if root is
// absent). The test's writer is stopped, so the reads are consistent.
func readTree(t *testing.T, c recipe.Client, root string) map[string]treeNode {
	out := map[string]treeNode{}
	var walk func(p string)
	walk = func(p string) {
		data, st, err := c.GetData(context.Background(), p)
		if errors.Is(err, znode.ErrNoNode) {
			return
		}
		require.NoError(t, err)
		names, _, err := c.GetChildren(context.Background(), p)
		require.NoError(t, err)
		sort.Strings(names)
		if len(names) == 0 {
			names = nil
		}
		out[p] = treeNode{Data: string(data), Czxid: st.Czxid, Mzxid: st.Mzxid, Version: st.Version, Children: names}
		for _, n := range names {
			walk(znode.Join(p, n))
		}
	}
	walk(root)
	return out
}

// cachedTree is the cache's view of the subtree at root, walked the same
// way.
func cachedTree(tc *recipe.TreeCache, root string) map[string]treeNode {
	out := map[string]treeNode{}
	var walk func(p string)
	walk = func(p string) {
		data, st, ok := tc.Get(p)
		if !ok {
			return
		}
		names := tc.Children(p)
		if len(names) == 0 {
			names = nil
		}
		out[p] = treeNode{Data: string(data), Czxid: st.Czxid, Mzxid: st.Mzxid, Version: st.Version, Children: names}
		for _, n := range names {
			walk(znode.Join(p, n))
		}
	}
	walk(root)
	return out
}

// waitCacheEqual polls until the cache equals a fresh read of the tree,
// and fails with the difference at the deadline.
func waitCacheEqual(t *testing.T, tc *recipe.TreeCache, c recipe.Client, root string) {
	t.Helper()
	want := readTree(t, c, root)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := cachedTree(tc, root)
		if equalTrees(want, got) {
			return
		}
		if time.Now().After(deadline) {
			require.Equal(t, want, got, "cache of %s", root)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func equalTrees(a, b map[string]treeNode) bool {
	if len(a) != len(b) {
		return false
	}
	for p, n := range a {
		m, ok := b[p]
		if !ok || n.Data != m.Data || n.Czxid != m.Czxid || n.Mzxid != m.Mzxid || n.Version != m.Version || !slices.Equal(n.Children, m.Children) {
			return false
		}
	}
	return true
}

// eventLog reads a cache's events until the channel closes, applying them
// to a model of the tree: an event that does not fit the model (an add of
// a cached node, an update or removal of an unknown one) is an error.
type eventLog struct {
	mu     sync.Mutex
	model  map[string]string
	events []recipe.TreeEvent
	errs   []string
	done   chan struct{}
}

func logEvents(ch <-chan recipe.TreeEvent) *eventLog {
	l := &eventLog{model: map[string]string{}, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range ch {
			l.mu.Lock()
			l.events = append(l.events, ev)
			_, known := l.model[ev.Path]
			switch {
			case ev.Type == recipe.TreeInitialized:
			case ev.Type == recipe.TreeNodeAdded && !known,
				ev.Type == recipe.TreeNodeUpdated && known:
				l.model[ev.Path] = string(ev.Data)
			case ev.Type == recipe.TreeNodeRemoved && known:
				delete(l.model, ev.Path)
			default:
				l.errs = append(l.errs, fmt.Sprintf("%v %s (known: %v)", ev.Type, ev.Path, known))
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// waitModel polls until the events' model holds the data of tree.
func (l *eventLog) waitModel(t *testing.T, tree map[string]treeNode) {
	t.Helper()
	want := map[string]string{}
	for p, n := range tree {
		want[p] = n.Data
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		l.mu.Lock()
		ok := fmt.Sprint(l.model) == fmt.Sprint(want)
		got := fmt.Sprint(l.model)
		errs := slices.Clone(l.errs)
		l.mu.Unlock()
		require.Empty(t, errs, "events that do not fit the tree")
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events' model:\n%s\nwant:\n%s", got, fmt.Sprint(want))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// has reports whether an event of type typ for path (with data, unless
// data is nil) was seen.
func (l *eventLog) has(typ recipe.TreeEventType, path string, data []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.events, func(ev recipe.TreeEvent) bool {
		return ev.Type == typ && ev.Path == path && (data == nil || string(ev.Data) == string(data))
	})
}

func (l *eventLog) waitFor(t *testing.T, typ recipe.TreeEventType, path string, data []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !l.has(typ, path, data) {
		if time.Now().After(deadline) {
			t.Fatalf("no %v event for %s (%q)", typ, path, data)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// noLeaks checks, when the test ends (after its clients are closed), that
// no goroutine started during the test is left: the cache's and its
// watches' must have ended with Close.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// closeWithin closes tc and fails if Close does not return soon (its
// goroutines did not end).
func closeWithin(t *testing.T, tc *recipe.TreeCache) {
	t.Helper()
	closed := make(chan struct{})
	go func() {
		tc.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return")
	}
}

// writer makes random changes to a subtree: creates, sets, deletes of
// leaves and of whole subtrees, subtrees deleted and created again at once.
type writer struct {
	t     *testing.T
	c     recipe.Client
	root  string
	rng   *rand.Rand
	nodes []string // the subtree below root, as the writer made it
	n     int
}

func (w *writer) create(parent string) {
	w.n++
	p := znode.Join(parent, fmt.Sprintf("n%d", w.n))
	_, err := w.c.Create(context.Background(), p, []byte(fmt.Sprintf("v%d", w.rng.IntN(1000))), zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(w.t, err)
	w.nodes = append(w.nodes, p)
}

// deleteTree deletes p and everything below it, deepest first.
func (w *writer) deleteTree(p string) {
	var doomed, kept []string
	for _, n := range w.nodes {
		if n == p || strings.HasPrefix(n, p+"/") {
			doomed = append(doomed, n)
		} else {
			kept = append(kept, n)
		}
	}
	slices.SortFunc(doomed, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, n := range doomed {
		require.NoError(w.t, w.c.Delete(context.Background(), n, -1))
	}
	w.nodes = kept
}

func (w *writer) isLeaf(p string) bool {
	return !slices.ContainsFunc(w.nodes, func(n string) bool { return strings.HasPrefix(n, p+"/") })
}

func (w *writer) step() {
	ctx := context.Background()
	pick := func() string { return w.nodes[w.rng.IntN(len(w.nodes))] }
	switch r := w.rng.IntN(100); {
	case len(w.nodes) == 0 || r < 50:
		parent := w.root
		if len(w.nodes) > 0 && w.rng.IntN(4) > 0 {
			parent = pick()
		}
		if strings.Count(parent, "/")-strings.Count(w.root, "/") < 4 {
			w.create(parent)
		}
	case r < 75:
		_, err := w.c.SetData(ctx, pick(), []byte(fmt.Sprintf("s%d", w.rng.IntN(1000))), -1)
		require.NoError(w.t, err)
	case r < 87:
		if p := pick(); w.isLeaf(p) {
			w.deleteTree(p)
		}
	case r < 95:
		w.deleteTree(pick())
	default:
		// Delete a subtree and create its top again, with a child: the
		// same paths, new nodes.
		p := pick()
		w.deleteTree(p)
		_, err := w.c.Create(ctx, p, []byte("again"), zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(w.t, err)
		w.nodes = append(w.nodes, p)
		w.create(p)
	}
}

// Random changes from another session: once they stop, the cache equals a
// fresh read of the tree, and its events replayed give the same tree.
func TestTreeCacheConverges(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		noLeaks(t)
		ctx := ctxFor(t)
		root := b.root + "/tree"
		wc := b.client(t)
		w := &writer{t: t, c: wc, root: root, rng: rand.New(rand.NewPCG(1, uint64(len(b.name))))}
		_, err := wc.Create(ctx, root, []byte("root"), zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		for range 10 {
			w.step()
		}

		tc := recipe.NewTreeCache(b.client(t), root)
		defer tc.Close() // at once if the test fails; Close again is harmless
		log := logEvents(tc.Events())
		require.NoError(t, tc.Start(ctx))
		require.Equal(t, readTree(t, wc, root), cachedTree(tc, root), "the cache right after Start")
		log.waitFor(t, recipe.TreeInitialized, "", nil)

		// A second cache starts while the tree changes under its load.
		tc2 := recipe.NewTreeCache(b.client(t), root)
		defer tc2.Close()
		log2 := logEvents(tc2.Events())
		started := make(chan error, 1)
		go func() { started <- tc2.Start(ctx) }()
		for round := range 3 {
			for range 100 {
				w.step()
			}
			if round == 0 {
				require.NoError(t, <-started)
			}
			if round == 1 {
				// The whole subtree, root included, goes and comes back.
				w.deleteTree(root)
				require.NoError(t, wc.Delete(ctx, root, -1))
				waitCacheEqual(t, tc, wc, root)
				waitCacheEqual(t, tc2, wc, root)
				_, err := wc.Create(ctx, root, []byte("root again"), zkembed.ModePersistent, zkembed.OpenACL())
				require.NoError(t, err)
				for range 5 {
					w.create(root)
				}
			}
			tree := readTree(t, wc, root)
			waitCacheEqual(t, tc, wc, root)
			waitCacheEqual(t, tc2, wc, root)
			log.waitModel(t, tree)
			log2.waitModel(t, tree)
		}
		closeWithin(t, tc)
		select {
		case <-log.done:
		case <-time.After(10 * time.Second):
			t.Fatal("Events not closed by Close")
		}
	})
}

// Adds, updates and removals each come as an event with the node's data,
// for a root that does not exist when the cache starts.
func TestTreeCacheEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		noLeaks(t)
		ctx := ctxFor(t)
		root := b.root + "/events"
		wc := b.client(t)
		tc := recipe.NewTreeCache(b.client(t), root)
		defer tc.Close()
		log := logEvents(tc.Events())
		require.NoError(t, tc.Start(ctx))
		_, _, ok := tc.Get(root)
		require.False(t, ok, "an absent root is not cached")
		log.waitFor(t, recipe.TreeInitialized, "", nil)

		_, err := wc.Create(ctx, root, []byte("r"), zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		log.waitFor(t, recipe.TreeNodeAdded, root, []byte("r"))
		child := root + "/a"
		_, err = wc.Create(ctx, child, []byte("one"), zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		log.waitFor(t, recipe.TreeNodeAdded, child, []byte("one"))
		_, err = wc.SetData(ctx, child, []byte("two"), -1)
		require.NoError(t, err)
		log.waitFor(t, recipe.TreeNodeUpdated, child, []byte("two"))
		data, st, ok := tc.Get(child)
		require.True(t, ok)
		require.Equal(t, "two", string(data))
		require.EqualValues(t, 1, st.Version)
		require.Equal(t, []string{"a"}, tc.Children(root))

		require.NoError(t, wc.Delete(ctx, child, -1))
		log.waitFor(t, recipe.TreeNodeRemoved, child, []byte("two"))
		_, _, ok = tc.Get(child)
		require.False(t, ok)
		require.Empty(t, tc.Children(root))
		log.waitModel(t, readTree(t, wc, root))
	})
}

// Close stops the cache: no goroutine is left (checked when the test
// ends), the events channel is closed, a second Close is harmless and the
// cache cannot be started again. A cache whose session ends stops too.
func TestTreeCacheClose(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		noLeaks(t)
		ctx := ctxFor(t)
		root := b.root + "/close"
		wc := b.client(t)
		_, err := wc.Create(ctx, root, nil, zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		// More nodes than the events channel buffers, so that the cache
		// is left waiting for a reader.
		const n = 300
		for i := range n {
			_, err := wc.Create(ctx, fmt.Sprintf("%s/c%03d", root, i), nil, zkembed.ModePersistent, zkembed.OpenACL())
			require.NoError(t, err)
		}
		tc := recipe.NewTreeCache(b.client(t), root)
		ch := tc.Events() // never read: Close must not wait for a reader
		require.NoError(t, tc.Start(ctx))
		require.Len(t, tc.Children(root), n)
		require.Eventually(t, func() bool { return len(ch) == cap(ch) }, 10*time.Second, time.Millisecond, "events buffered")
		closeWithin(t, tc)
		tc.Close()
		for range ch { // drains what was buffered, then ends
		}
		require.ErrorIs(t, tc.Start(ctx), recipe.ErrTreeCacheStarted)

		never := recipe.NewTreeCache(wc, root)
		never.Close()
		require.ErrorIs(t, never.Start(ctx), recipe.ErrTreeCacheStarted)
		_, open := <-never.Events()
		require.False(t, open, "Events of a cache closed before Start")

		failed := recipe.NewTreeCache(wc, root)
		fch := failed.Events()
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		require.ErrorIs(t, failed.Start(cancelled), context.Canceled)
		_, open = <-fch
		require.False(t, open, "Events of a cache whose Start failed")
		_, _, ok := failed.Get(root)
		require.False(t, ok)
		failed.Close()

		if b.name != "zookeeper" { // expiry takes seconds there; the same adapter runs on zk-on-zkembed
			c := b.client(t)
			tc := recipe.NewTreeCache(c, root)
			ch := tc.Events()
			require.NoError(t, tc.Start(ctx))
			b.expire(t, c)
			timeout := time.After(20 * time.Second)
			for open := true; open; {
				select {
				case _, open = <-ch:
				case <-timeout:
					t.Fatal("Events not closed after the session ended")
				}
			}
			tc.Close()
		}
	})
}

// flakyClient, once armed, fails a share of its reads with a connection
// loss (before sending them), now and then several in a row, more than
// the cache tries one read; and its persistent watches end with an
// overflow after a few events. A cache recovers from the longer outages
// and the lost watches by reading everything again.
type flakyClient struct {
	recipe.Client
	mu      sync.Mutex
	rng     *rand.Rand
	armed   bool
	failed  int // reads failed
	outages int // runs of failures longer than the cache's retries
	down    int // reads still to fail in the current outage
	watches []*lossyWatch
}

func (c *flakyClient) fail(op, path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r := c.rng.IntN(100); {
	case !c.armed:
		return nil
	case c.down > 0:
		c.down--
	case r < 1:
		c.down = 6
		c.outages++
	case r >= 6:
		return nil
	}
	c.failed++
	return &znode.OpError{Op: op, Path: path, Err: znode.ErrConnectionLoss}
}

func (c *flakyClient) arm(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = on
}

func (c *flakyClient) GetData(ctx context.Context, path string) ([]byte, znode.Stat, error) {
	if err := c.fail("getData", path); err != nil {
		return nil, znode.Stat{}, err
	}
	return c.Client.GetData(ctx, path)
}

func (c *flakyClient) GetW(ctx context.Context, path string) ([]byte, znode.Stat, <-chan znode.Event, error) {
	if err := c.fail("getData", path); err != nil {
		return nil, znode.Stat{}, nil, err
	}
	return c.Client.GetW(ctx, path)
}

func (c *flakyClient) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	if err := c.fail("getChildren", path); err != nil {
		return nil, znode.Stat{}, err
	}
	return c.Client.GetChildren(ctx, path)
}

func (c *flakyClient) ChildrenW(ctx context.Context, path string) ([]string, znode.Stat, <-chan znode.Event, error) {
	if err := c.fail("getChildren", path); err != nil {
		return nil, znode.Stat{}, nil, err
	}
	return c.Client.ChildrenW(ctx, path)
}

func (c *flakyClient) AddWatch(ctx context.Context, path string, recursive bool) (recipe.PersistentWatch, error) {
	inner, err := c.Client.AddWatch(ctx, path, recursive)
	if err != nil {
		return nil, err
	}
	w := newLossyWatch(inner, 20)
	c.mu.Lock()
	c.watches = append(c.watches, w)
	c.mu.Unlock()
	return w, nil
}

// lossyWatch passes on a persistent watch's first events, then ends as
// the embedded engine ends a watch whose reader fell behind.
type lossyWatch struct {
	inner  recipe.PersistentWatch
	out    chan znode.Event
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	closed bool
}

func newLossyWatch(inner recipe.PersistentWatch, after int) *lossyWatch {
	w := &lossyWatch{inner: inner, out: make(chan znode.Event), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.out)
		n := 0
		for ev := range inner.Events() {
			if n == after {
				ev = znode.Event{Type: znode.EventNone, State: znode.StateDisconnected, Err: zkembed.ErrWatchOverflow}
				_ = inner.Close()
			}
			select {
			case w.out <- ev:
			case <-w.stop:
				return
			}
			if n == after {
				return
			}
			n++
		}
	}()
	return w
}

func (w *lossyWatch) Events() <-chan znode.Event { return w.out }

func (w *lossyWatch) Close() error {
	w.once.Do(func() {
		w.closed = true
		close(w.stop)
	})
	err := w.inner.Close()
	<-w.done
	return err
}

// Lost watches and failed reads make the cache read everything again; it
// still converges, its events still fit, and every persistent watch it set
// is removed by the time Close returns.
func TestTreeCacheRecovers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		noLeaks(t)
		ctx := ctxFor(t)
		root := b.root + "/flaky"
		wc := b.client(t)
		w := &writer{t: t, c: wc, root: root, rng: rand.New(rand.NewPCG(2, uint64(len(b.name))))}
		_, err := wc.Create(ctx, root, []byte("root"), zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		for range 20 {
			w.step()
		}
		fc := &flakyClient{Client: b.client(t), rng: rand.New(rand.NewPCG(3, 4))}
		tc := recipe.NewTreeCache(fc, root)
		defer tc.Close()
		log := logEvents(tc.Events())
		require.NoError(t, tc.Start(ctx))
		fc.arm(true)
		for range 2 {
			for range 100 {
				w.step()
			}
			waitCacheEqual(t, tc, wc, root)
			log.waitModel(t, readTree(t, wc, root))
		}
		fc.arm(false)
		// The reads that failed, and the watches that ended, were
		// recovered from (and there were some).
		fc.mu.Lock()
		failed, outages, watches := fc.failed, fc.outages, slices.Clone(fc.watches)
		fc.mu.Unlock()
		require.Positive(t, failed, "no read failed")
		require.Positive(t, outages, "no outage longer than the cache's retries")
		if b.name == "embedded" {
			require.Greater(t, len(watches), 1, "no persistent watch was set again")
		} else {
			require.Empty(t, watches, "go-zookeeper cannot set persistent watches")
		}
		tc.Close()
		<-log.done
		for _, pw := range watches {
			require.True(t, pw.closed, "a persistent watch the cache set is still there")
			for range pw.inner.Events() { // ends: the engine removed it
			}
		}
	})
}
