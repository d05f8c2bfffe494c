package recipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zkembed/zkembed/znode"
)

// TreeEventType says what happened to a cached node.
type TreeEventType int

// The tree cache's event types, after Curator's CuratorCacheListener.
const (
	// TreeNodeAdded: the node entered the cache (it was created, or found
	// by a load).
	TreeNodeAdded TreeEventType = iota + 1
	// TreeNodeUpdated: the node's data (or data version) changed.
	TreeNodeUpdated
	// TreeNodeRemoved: the node left the cache (it was deleted); the
	// event carries its last cached data and Stat.
	TreeNodeRemoved
	// TreeInitialized: the initial load's TreeNodeAdded events have all
	// been sent. It carries no path.
	TreeInitialized
)

// String returns the event type's name.
func (t TreeEventType) String() string {
	switch t {
	case TreeNodeAdded:
		return "NodeAdded"
	case TreeNodeUpdated:
		return "NodeUpdated"
	case TreeNodeRemoved:
		return "NodeRemoved"
	case TreeInitialized:
		return "Initialized"
	}
	return fmt.Sprintf("TreeEventType(%d)", int(t))
}

// TreeEvent is a change of a TreeCache: the node at Path, with its data and
// Stat after the change (before it, for TreeNodeRemoved).
type TreeEvent struct {
	Type TreeEventType
	Path string
	Data []byte
	Stat znode.Stat
}

// ErrTreeCacheStarted is returned by Start on a TreeCache that was started
// (or closed) before: a TreeCache runs once.
var ErrTreeCacheStarted = errors.New("recipe: tree cache already started or closed")

// treeEventBuffer is how many events wait in the Events channel before the
// cache waits for its reader.
const treeEventBuffer = 256

// TreeCache keeps a copy of a subtree — every node's data and Stat, and
// its children — up to date in memory (Curator's CuratorCache). It watches
// the subtree with one persistent recursive watch when the Client can set
// one, and otherwise, as Curator's older TreeCache does, with one-shot data
// and child watches on every cached node, set again each time one fires.
//
// The cache is eventually exact: once changes stop, and after its events
// have been read, it holds exactly the tree under root (root included when
// it exists). Every change is followed by a read of the changed node, so
// the cache never goes back to an older state of a node, though it may
// skip states that came and went between two reads. The Stat of a cached
// node is the one read with its data: its child fields (NumChildren,
// Cversion, Pzxid) are not kept up to date; use Children.
//
// Its goroutine (and in one-shot mode a small one per watch set, waiting
// for it to fire) starts with Start and ends with Close; when the session
// ends the cache stops changing and closes Events. A lost watch (the
// embedded engine's backlog overflowing, a read failing) makes it read the
// whole subtree again and send the differences as events. Get and Children
// are safe for concurrent use.
type TreeCache struct {
	c    Client
	root string

	mu    sync.RWMutex
	nodes map[string]*treeEntry // the cache; written only by the run goroutine (or Start before it)

	events      chan TreeEvent
	eventsEnded sync.Once     // closes events: run's end, a failed Start, or Close without a run
	listening   chan struct{} // closed by the first Events call
	listen      sync.Once

	start   sync.Once
	close   sync.Once
	stop    context.CancelFunc
	ctx     context.Context // ends with Close
	wg      sync.WaitGroup  // the run goroutine and the one-shot watch waiters
	watch   PersistentWatch // nil in one-shot mode
	fired   chan treeFired  // one-shot mode: watches that fired, to the run goroutine
	pending []TreeEvent     // events of the current step, not yet sent (run goroutine only)
}

// treeEntry is a cached node. Its identity matters in one-shot mode: a
// watch set for one entry is ignored once the path holds another.
type treeEntry struct {
	data     []byte
	stat     znode.Stat
	children map[string]struct{}
}

// treeWatchKind is what a one-shot watch was set for.
type treeWatchKind int

const (
	treeWatchData     treeWatchKind = iota // GetW on a cached node
	treeWatchChildren                      // ChildrenW on a cached node
	treeWatchRoot                          // ExistsW on the absent root
)

// treeFired is a one-shot watch that fired: its event, and the entry it
// was set for.
type treeFired struct {
	kind  treeWatchKind
	path  string
	entry *treeEntry
	ev    znode.Event
}

// NewTreeCache returns a cache of the subtree at root; Start it.
func NewTreeCache(c Client, root string) *TreeCache {
	ctx, stop := context.WithCancel(context.Background())
	return &TreeCache{
		c: c, root: root,
		nodes:     map[string]*treeEntry{},
		events:    make(chan TreeEvent, treeEventBuffer),
		listening: make(chan struct{}),
		ctx:       ctx, stop: stop,
		fired: make(chan treeFired),
	}
}

// Events returns the cache's events, in the order the cache changed. Events
// are sent only once Events has been called: call it before Start to see
// the initial load (a TreeNodeAdded for each node, then TreeInitialized).
// From then on the channel must be read: the cache waits for its reader
// rather than drop an event, and does not change while it waits. The
// channel is closed when the cache stops (Close, or the session's end).
func (tc *TreeCache) Events() <-chan TreeEvent {
	tc.listen.Do(func() { close(tc.listening) })
	return tc.events
}

// Start loads the subtree and starts keeping it up to date. It returns
// once the cache holds the whole subtree (nothing if root does not exist
// yet). ctx bounds the load only; the cache then runs until Close. A cache
// whose Start failed is stopped (its Events channel closed); make another.
func (tc *TreeCache) Start(ctx context.Context) error {
	err := ErrTreeCacheStarted
	tc.start.Do(func() {
		if err = tc.begin(ctx); err != nil {
			tc.endEvents()
		}
	})
	if err != nil {
		return fmt.Errorf("recipe: tree cache %s: %w", tc.root, err)
	}
	return nil
}

func (tc *TreeCache) begin(ctx context.Context) error {
	if tc.ctx.Err() != nil {
		return ErrTreeCacheStarted // closed before Start
	}
	if err := znode.ValidatePath(tc.root); err != nil {
		return err
	}
	// Stop the load when either ctx or Close says so.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(tc.ctx, cancel)
	defer stop()

	w, err := tc.c.AddWatch(ctx, tc.root, true)
	switch {
	case err == nil:
		tc.watch = w
	case !errors.Is(err, ErrNoPersistentWatches):
		return err
	}
	// The watch is set before the load, so that every change the load
	// misses has an event to come.
	fresh, err := tc.load(ctx, tc.root, nil)
	if err != nil {
		tc.stop() // ends the waiters of watches the load set
		tc.wg.Wait()
		if tc.watch != nil {
			_ = tc.watch.Close()
			tc.watch = nil
		}
		return err
	}
	tc.replace(fresh)
	tc.note(TreeEvent{Type: TreeInitialized})
	tc.wg.Add(1)
	go tc.run()
	return nil
}

// Close stops the cache: its goroutines end and its persistent watch is
// removed before Close returns. One-shot watches cannot be removed (the
// ZooKeeper 3.8 protocol go-zookeeper speaks has no way): they stay with
// the session until they fire, and are then ignored. The cache keeps its
// last content.
func (tc *TreeCache) Close() {
	tc.close.Do(func() {
		tc.stop()              // ends a Start under way
		tc.start.Do(func() {}) // and makes a later one fail
		tc.wg.Wait()
		if tc.watch != nil {
			_ = tc.watch.Close()
		}
		tc.endEvents() // if run never did
	})
}

func (tc *TreeCache) endEvents() { tc.eventsEnded.Do(func() { close(tc.events) }) }

// Get returns the cached data and Stat of the node at path, and whether it
// is cached. The data is a copy.
func (tc *TreeCache) Get(path string) ([]byte, znode.Stat, bool) {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	e, ok := tc.nodes[path]
	if !ok {
		return nil, znode.Stat{}, false
	}
	return bytes.Clone(e.data), e.stat, true
}

// Children returns the names of the cached children of the node at path,
// sorted; nil if the node is not cached.
func (tc *TreeCache) Children(path string) []string {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	e, ok := tc.nodes[path]
	if !ok {
		return nil
	}
	names := make([]string, 0, len(e.children))
	for n := range e.children {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// run is the cache's goroutine: it sends the initial load's events, then
// applies every watch event and sends the resulting changes, until Close
// or the session's end. It alone changes the cache after Start.
func (tc *TreeCache) run() {
	defer tc.wg.Done()
	defer tc.endEvents()
	if !tc.flush() {
		return
	}
	var watchEvents <-chan znode.Event
	if tc.watch != nil {
		watchEvents = tc.watch.Events()
	}
	for {
		var err error
		select {
		case <-tc.ctx.Done():
			return
		case <-tc.c.Done():
			return
		case ev, ok := <-watchEvents:
			if !ok || ev.Type == znode.EventNone || ev.Type == znode.EventPersistentWatchRemoved {
				if tc.sessionEnded(ev) {
					return
				}
				// Overflow, or removed by someone else: watch again
				// and read everything, as after a reconnection.
				watchEvents = nil
				err = errLostWatch
			} else {
				err = tc.refresh(ev.Path)
			}
		case f := <-tc.fired:
			if f.ev.Type == znode.EventNone && tc.sessionEnded(f.ev) {
				return
			}
			err = tc.handleFired(f)
		}
		if err != nil {
			w, ok := tc.resync()
			if !ok {
				return
			}
			if w != nil {
				watchEvents = w.Events()
			}
		}
		if !tc.flush() {
			return
		}
	}
}

// errLostWatch makes run read the whole subtree again.
var errLostWatch = errors.New("recipe: tree cache watch lost")

// sessionEnded reports whether ev (an EventNone) or the Client say the
// session is over.
func (tc *TreeCache) sessionEnded(ev znode.Event) bool {
	if ev.State == znode.StateExpired || ev.State == znode.StateClosed {
		return true
	}
	select {
	case <-tc.c.Done():
		return true
	default:
		return false
	}
}

// resync sets the persistent watch again (in that mode) and reloads the
// whole subtree, trying until it succeeds or the cache stops (false). It
// returns the new persistent watch, if any.
func (tc *TreeCache) resync() (PersistentWatch, bool) {
	for attempt := 0; ; attempt++ {
		if err := treeBackoff(tc.ctx, tc.c, attempt, 50*time.Millisecond); err != nil {
			return nil, false
		}
		var w PersistentWatch
		if tc.watch != nil {
			_ = tc.watch.Close()
			var err error
			if w, err = tc.c.AddWatch(tc.ctx, tc.root, true); err != nil {
				continue
			}
			tc.watch = w
		}
		fresh, err := tc.load(tc.ctx, tc.root, nil)
		if err != nil {
			continue
		}
		tc.replace(fresh)
		return w, true
	}
}

// treeBackoff waits before a retry: nothing before the first attempt, then
// attempt steps, up to a second. It fails when the cache stops or the
// session ends.
func treeBackoff(ctx context.Context, c Client, attempt int, step time.Duration) error {
	if attempt == 0 {
		return ctx.Err()
	}
	return pause(ctx, c, min(time.Duration(attempt)*step, time.Second))
}

// treeReadAttempts is how often the cache tries a read that failed other
// than with ErrNoNode (a connection loss, most likely) before it gives up
// on the step and reads the whole subtree again.
const treeReadAttempts = 5

// read runs fn, a read, again while it fails with an error that may pass
// (not ErrNoNode), a few times, backing off.
func (tc *TreeCache) read(ctx context.Context, fn func() error) error {
	var err error
	for attempt := range treeReadAttempts {
		if berr := treeBackoff(ctx, tc.c, attempt, 10*time.Millisecond); berr != nil {
			if err == nil {
				err = berr
			}
			return err
		}
		err = fn()
		if err == nil || errors.Is(err, znode.ErrNoNode) {
			return err
		}
	}
	return err
}

// refresh reads the node at path after a persistent watch event and
// brings its entry up to date.
func (tc *TreeCache) refresh(path string) error {
	var data []byte
	var st znode.Stat
	err := tc.read(tc.ctx, func() (err error) {
		data, st, err = tc.c.GetData(tc.ctx, path)
		return err
	})
	if errors.Is(err, znode.ErrNoNode) {
		tc.remove(path)
		return nil
	}
	if err != nil {
		return err
	}
	tc.put(path, &treeEntry{data: data, stat: st})
	return nil
}

// handleFired applies a one-shot watch that fired: it reads its node again
// (setting the watch again) if the node's entry is still the one the watch
// was set for.
func (tc *TreeCache) handleFired(f treeFired) error {
	tc.mu.RLock()
	cur, cached := tc.nodes[f.path]
	tc.mu.RUnlock()
	switch {
	case f.kind == treeWatchRoot:
		if cached {
			return nil
		}
		return tc.loadInto(f.path)
	case !cached || cur != f.entry:
		return nil // a watch of an entry since removed or replaced
	case f.kind == treeWatchData:
		var data []byte
		var st znode.Stat
		var ch <-chan znode.Event
		err := tc.read(tc.ctx, func() (err error) {
			data, st, ch, err = tc.c.GetW(tc.ctx, f.path)
			return err
		})
		if errors.Is(err, znode.ErrNoNode) {
			return tc.gone(f.path)
		}
		if err != nil {
			return err
		}
		if st.Czxid != cur.stat.Czxid {
			// Deleted and created again: a new node, load it afresh
			// (ch is left unread: the load sets its own watch).
			tc.remove(f.path)
			return tc.loadInto(f.path)
		}
		tc.forward(treeWatchData, f.path, cur, ch)
		tc.put(f.path, &treeEntry{data: data, stat: st})
		return nil
	default: // treeWatchChildren
		var names []string
		var ch <-chan znode.Event
		err := tc.read(tc.ctx, func() (err error) {
			names, _, ch, err = tc.c.ChildrenW(tc.ctx, f.path)
			return err
		})
		if errors.Is(err, znode.ErrNoNode) {
			return tc.gone(f.path)
		}
		if err != nil {
			return err
		}
		tc.forward(treeWatchChildren, f.path, cur, ch)
		now := make(map[string]struct{}, len(names))
		for _, n := range names {
			now[n] = struct{}{}
		}
		for n := range cur.children {
			if _, ok := now[n]; !ok {
				tc.remove(znode.Join(f.path, n))
			}
		}
		for _, n := range names {
			if _, ok := cur.children[n]; !ok {
				if err := tc.loadInto(znode.Join(f.path, n)); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// gone removes the subtree at path, whose node was found deleted; for the
// root it watches for its creation again.
func (tc *TreeCache) gone(path string) error {
	tc.remove(path)
	if path == tc.root {
		return tc.loadInto(path)
	}
	return nil
}

// loadInto loads the subtree at path (setting its watches in one-shot
// mode) and adds it to the cache.
func (tc *TreeCache) loadInto(path string) error {
	fresh, err := tc.load(tc.ctx, path, nil)
	if err != nil {
		return err
	}
	// Top-down, so that every parent is in place before its children.
	paths := make([]string, 0, len(fresh))
	for p := range fresh {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		tc.put(p, fresh[p])
	}
	return nil
}

// load reads the subtree at path into a new map (into out, if not nil). In
// one-shot mode it sets a data and a child watch on every node it reads,
// each for the entry it makes, and for an absent root a watch for its
// creation. Nodes deleted while it reads are left out.
func (tc *TreeCache) load(ctx context.Context, path string, out map[string]*treeEntry) (map[string]*treeEntry, error) {
	if out == nil {
		out = map[string]*treeEntry{}
	}
	oneShot := tc.watch == nil
	e := &treeEntry{children: map[string]struct{}{}}
	var (
		names []string
		dataW <-chan znode.Event
		kidsW <-chan znode.Event
		err   error
	)
	err = tc.read(ctx, func() (err error) {
		if oneShot {
			e.data, e.stat, dataW, err = tc.c.GetW(ctx, path)
		} else {
			e.data, e.stat, err = tc.c.GetData(ctx, path)
		}
		return err
	})
	if errors.Is(err, znode.ErrNoNode) {
		if oneShot && path == tc.root {
			return out, tc.watchRoot(ctx)
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if oneShot {
		tc.forward(treeWatchData, path, e, dataW)
	}
	err = tc.read(ctx, func() (err error) {
		if oneShot {
			names, _, kidsW, err = tc.c.ChildrenW(ctx, path)
		} else {
			names, _, err = tc.c.GetChildren(ctx, path)
		}
		return err
	})
	if errors.Is(err, znode.ErrNoNode) {
		return out, nil // deleted since: its data watch fires
	}
	if err != nil {
		return nil, err
	}
	if oneShot {
		tc.forward(treeWatchChildren, path, e, kidsW)
	}
	out[path] = e
	for _, n := range names {
		child := znode.Join(path, n)
		if _, err := tc.load(ctx, child, out); err != nil {
			return nil, err
		}
		if _, ok := out[child]; ok {
			e.children[n] = struct{}{}
		}
	}
	return out, nil
}

// watchRoot watches the absent root for its creation (one-shot mode). If
// the root was created meanwhile, the watch fires at once, as if.
func (tc *TreeCache) watchRoot(ctx context.Context) error {
	var ok bool
	var ch <-chan znode.Event
	err := tc.read(ctx, func() (err error) {
		ok, _, ch, err = tc.c.ExistsW(ctx, tc.root)
		return err
	})
	if err != nil {
		return err
	}
	if ok {
		done := make(chan znode.Event, 1)
		done <- znode.Event{Type: znode.EventNodeCreated, Path: tc.root, State: znode.StateSyncConnected}
		ch = done
		// The ExistsW watch stays set; it fires on a later change and is
		// then ignored, as every watch of a root that is cached.
	}
	tc.forward(treeWatchRoot, tc.root, nil, ch)
	return nil
}

// forward hands the one event of a one-shot watch to the run goroutine,
// unless the cache stops first. The goroutine is the price of one-shot
// watches; it ends with the watch or with Close.
func (tc *TreeCache) forward(kind treeWatchKind, path string, e *treeEntry, ch <-chan znode.Event) {
	tc.wg.Add(1)
	go func() {
		defer tc.wg.Done()
		var ev znode.Event
		select {
		case got, ok := <-ch:
			if !ok {
				got = znode.Event{Type: znode.EventNone, State: znode.StateDisconnected}
			}
			ev = got
		case <-tc.ctx.Done():
			return
		}
		select {
		case tc.fired <- treeFired{kind: kind, path: path, entry: e, ev: ev}:
		case <-tc.ctx.Done():
		}
	}()
}

// replace makes fresh the cache's content, noting the differences as
// events: removals first (deepest first), then additions and updates
// (parents first).
func (tc *TreeCache) replace(fresh map[string]*treeEntry) {
	tc.mu.Lock()
	old := tc.nodes
	tc.nodes = fresh
	tc.mu.Unlock()
	var gone []string
	for p := range old {
		if e, ok := fresh[p]; !ok || e.stat.Czxid != old[p].stat.Czxid {
			gone = append(gone, p)
		}
	}
	slices.SortFunc(gone, func(a, b string) int { return strings.Compare(b, a) })
	for _, p := range gone {
		e := old[p]
		tc.note(TreeEvent{Type: TreeNodeRemoved, Path: p, Data: e.data, Stat: e.stat})
	}
	paths := make([]string, 0, len(fresh))
	for p := range fresh {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		e, o := fresh[p], old[p]
		switch {
		case o == nil || o.stat.Czxid != e.stat.Czxid:
			tc.note(TreeEvent{Type: TreeNodeAdded, Path: p, Data: e.data, Stat: e.stat})
		case treeChanged(o, e):
			tc.note(TreeEvent{Type: TreeNodeUpdated, Path: p, Data: e.data, Stat: e.stat})
		}
	}
}

// treeChanged reports whether e is a newer state of o's node.
func treeChanged(o, e *treeEntry) bool {
	return o.stat.Mzxid != e.stat.Mzxid || o.stat.Version != e.stat.Version || !bytes.Equal(o.data, e.data)
}

// put caches e at path: a new node (TreeNodeAdded), a newer state of a
// cached one (TreeNodeUpdated, keeping its children and, in one-shot mode,
// its identity), or a node created again since it was cached (removed,
// then added). A node whose parent is not cached is skipped: the parent's
// own event, still to come, brings it back with the node.
func (tc *TreeCache) put(path string, e *treeEntry) {
	tc.mu.RLock()
	cur := tc.nodes[path]
	parent, name := znode.Split(path)
	pe, parentCached := tc.nodes[parent]
	tc.mu.RUnlock()
	if path != tc.root && !parentCached {
		return
	}
	if cur != nil && cur.stat.Czxid != e.stat.Czxid {
		tc.remove(path)
		cur = nil
	}
	switch {
	case cur == nil:
		if e.children == nil {
			e.children = map[string]struct{}{}
		}
		tc.mu.Lock()
		tc.nodes[path] = e
		if pe != nil && path != tc.root {
			pe.children[name] = struct{}{}
		}
		tc.mu.Unlock()
		tc.note(TreeEvent{Type: TreeNodeAdded, Path: path, Data: e.data, Stat: e.stat})
	case treeChanged(cur, e):
		tc.mu.Lock()
		cur.data, cur.stat = e.data, e.stat
		tc.mu.Unlock()
		tc.note(TreeEvent{Type: TreeNodeUpdated, Path: path, Data: e.data, Stat: e.stat})
	}
}

// remove drops path and everything cached below it, deepest first.
func (tc *TreeCache) remove(path string) {
	tc.mu.Lock()
	e, ok := tc.nodes[path]
	if !ok {
		tc.mu.Unlock()
		return
	}
	var removed []TreeEvent
	var drop func(p string, e *treeEntry)
	drop = func(p string, e *treeEntry) {
		for n := range e.children {
			c := znode.Join(p, n)
			if ce, ok := tc.nodes[c]; ok {
				drop(c, ce)
			}
		}
		delete(tc.nodes, p)
		removed = append(removed, TreeEvent{Type: TreeNodeRemoved, Path: p, Data: e.data, Stat: e.stat})
	}
	drop(path, e)
	if parent, name := znode.Split(path); path != tc.root {
		if pe, ok := tc.nodes[parent]; ok {
			delete(pe.children, name)
		}
	}
	tc.mu.Unlock()
	for _, ev := range removed {
		tc.note(ev)
	}
}

// note queues an event for the reader of Events, if there is one.
func (tc *TreeCache) note(ev TreeEvent) {
	select {
	case <-tc.listening:
	default:
		return
	}
	ev.Data = bytes.Clone(ev.Data)
	tc.pending = append(tc.pending, ev)
}

// flush sends the events noted since the last flush, waiting for the
// reader; it reports false if the cache stopped meanwhile.
func (tc *TreeCache) flush() bool {
	for i, ev := range tc.pending {
		select {
		case tc.events <- ev:
		case <-tc.ctx.Done():
			tc.pending = tc.pending[:0]
			return false
		}
		tc.pending[i] = TreeEvent{}
	}
	tc.pending = tc.pending[:0]
	return true
}
