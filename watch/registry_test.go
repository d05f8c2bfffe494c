package watch

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed/znode"
)

// Every test ends every pump goroutine it started (the harness closes stop
// and waits for them), so none may be left behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// timeout bounds every wait on a channel or a WaitGroup: a test that hangs
// fails instead.
const timeout = 10 * time.Second

// harness owns the stop channel and the WaitGroup the queues of a test
// share. On cleanup it stops the pumps and checks that they all exit.
type harness struct {
	t        testing.TB
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newHarness(t testing.TB) *harness {
	h := &harness{t: t, stop: make(chan struct{})}
	t.Cleanup(func() {
		h.halt()
		assert.True(t, waitWithin(&h.wg, timeout), "pump goroutines still running after stop")
	})
	return h
}

func (h *harness) registry(limit int) *Registry { return NewRegistry(limit, h.stop, &h.wg) }
func (h *harness) queue(limit int) *Queue       { return NewQueue(limit, h.stop, &h.wg) }

// halt closes the stop channel (once).
func (h *harness) halt() { h.stopOnce.Do(func() { close(h.stop) }) }

// waitWithin reports whether wg reaches zero within d.
func waitWithin(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// change is an event as the engine hands it to Trigger.
func change(typ znode.EventType, path string, zxid znode.Zxid) znode.Event {
	return znode.Event{Type: typ, Path: path, Zxid: zxid}
}

// fired is change as a watch receives it.
func fired(typ znode.EventType, path string, zxid znode.Zxid) znode.Event {
	e := change(typ, path, zxid)
	e.State = znode.StateSyncConnected
	return e
}

// recv receives one event, failing if the channel is closed or stays empty.
func recv(t testing.TB, ch <-chan znode.Event) znode.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		require.True(t, ok, "channel closed, wanted an event")
		return e
	case <-time.After(timeout):
		require.FailNow(t, "no event within the timeout")
	}
	return znode.Event{}
}

// recvClosed checks that the next receive reports a closed channel.
func recvClosed(t testing.TB, ch <-chan znode.Event) {
	t.Helper()
	select {
	case e, ok := <-ch:
		require.False(t, ok, "wanted a closed channel, got %v", e)
	case <-time.After(timeout):
		require.FailNow(t, "channel not closed within the timeout")
	}
}

// noEvent checks that nothing is ready on ch (and that it is not closed).
// Exact for a one-shot channel and for a Queue without a backlog.
func noEvent(t testing.TB, ch <-chan znode.Event) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			assert.Fail(t, "unexpected event", "%v", e)
		} else {
			assert.Fail(t, "unexpected close")
		}
	default:
	}
}

// drain reads ch until it is closed.
func drain(t testing.TB, ch <-chan znode.Event) []znode.Event {
	t.Helper()
	var got []znode.Event
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, e)
		case <-deadline:
			require.FailNow(t, "channel not closed within the timeout", "after %d events", len(got))
		}
	}
}

var changeTypes = []znode.EventType{
	znode.EventNodeCreated, znode.EventNodeDeleted, znode.EventNodeDataChanged, znode.EventNodeChildrenChanged,
}

var kinds = []Kind{Data, Exist, Child, Persistent, Recursive}

func oneShot(k Kind) bool { return k == Data || k == Exist || k == Child }

// firesTable is the rule of SEMANTICS.md §8.2–8.3 for an event on the
// watch's own path, written out independently of Kind.fires.
var firesTable = map[Kind]map[znode.EventType]bool{
	Data:       {znode.EventNodeCreated: true, znode.EventNodeDeleted: true, znode.EventNodeDataChanged: true, znode.EventNodeChildrenChanged: false},
	Exist:      {znode.EventNodeCreated: true, znode.EventNodeDeleted: true, znode.EventNodeDataChanged: true, znode.EventNodeChildrenChanged: false},
	Child:      {znode.EventNodeCreated: false, znode.EventNodeDeleted: true, znode.EventNodeDataChanged: false, znode.EventNodeChildrenChanged: true},
	Persistent: {znode.EventNodeCreated: true, znode.EventNodeDeleted: true, znode.EventNodeDataChanged: true, znode.EventNodeChildrenChanged: true},
	Recursive:  {znode.EventNodeCreated: true, znode.EventNodeDeleted: true, znode.EventNodeDataChanged: true, znode.EventNodeChildrenChanged: false},
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		Data: "data", Exist: "exist", Child: "child", Persistent: "persistent", Recursive: "persistentRecursive",
		0: "Kind(?)", 6: "Kind(?)",
	} {
		assert.Equal(t, want, k.String())
	}
}

func TestKindFiresRule(t *testing.T) {
	for _, k := range kinds {
		for _, typ := range changeTypes {
			assert.Equal(t, firesTable[k][typ], k.fires(typ), "%v on %v", k, typ)
		}
	}
	for _, typ := range changeTypes {
		assert.False(t, Kind(0).fires(typ), "an unknown kind fires on nothing")
	}
}

// A watch of each kind on the event's own path, through the Registry:
// whether it fires, and whether it is still registered afterwards.
func TestTriggerOnOwnPath(t *testing.T) {
	for _, k := range kinds {
		for _, typ := range changeTypes {
			want := firesTable[k][typ]
			t.Run(fmt.Sprintf("%v/%v", k, typ), func(t *testing.T) {
				r := newHarness(t).registry(100)
				w := r.Add(1, "/a/b", k)
				require.Equal(t, 1, r.Len())
				r.Trigger(change(typ, "/a/b", 7), nil)
				if !want {
					noEvent(t, w.C())
					assert.Equal(t, 1, r.Len(), "a watch that did not fire stays")
					return
				}
				assert.Equal(t, fired(typ, "/a/b", 7), recv(t, w.C()))
				if oneShot(k) {
					recvClosed(t, w.C())
					assert.Equal(t, 0, r.Len(), "a fired one-shot watch is gone")
					assert.Empty(t, r.Sessions())
				} else {
					noEvent(t, w.C())
					assert.Equal(t, 1, r.Len(), "a persistent watch stays")
				}
			})
		}
	}
}

// Events elsewhere in the tree: only a recursive watch sees descendants,
// at any depth, and never a sibling, an ancestor, or a path that merely
// shares a string prefix.
func TestTriggerScope(t *testing.T) {
	type tc struct {
		watch string
		kind  Kind
		event string
		typ   znode.EventType
		want  bool
	}
	var tcs []tc
	for _, typ := range changeTypes {
		desc := typ != znode.EventNodeChildrenChanged // recursive watches never get NodeChildrenChanged
		tcs = append(tcs,
			tc{"/a", Recursive, "/a/b", typ, desc},
			tc{"/a", Recursive, "/a/b/c/d/e", typ, desc},
			tc{"/a", Recursive, "/ab", typ, false},
			tc{"/a", Recursive, "/ab/c", typ, false},
			tc{"/a", Recursive, "/b", typ, false},
			tc{"/a", Recursive, "/", typ, false},
			tc{"/a/b", Recursive, "/a", typ, false},
			tc{"/a/b", Recursive, "/a/bc", typ, false},
			tc{"/a/b", Recursive, "/a/b/c", typ, desc},
			tc{"/", Recursive, "/", typ, desc},
			tc{"/", Recursive, "/a", typ, desc},
			tc{"/", Recursive, "/a/b/c", typ, desc},
		)
		for _, k := range []Kind{Data, Exist, Child, Persistent} {
			tcs = append(tcs,
				tc{"/a", k, "/a/b", typ, false},
				tc{"/a", k, "/ab", typ, false},
				tc{"/a/b", k, "/a", typ, false},
				tc{"/", k, "/a", typ, false},
			)
		}
	}
	for _, c := range tcs {
		t.Run(fmt.Sprintf("%v@%s/%v@%s", c.kind, c.watch, c.typ, c.event), func(t *testing.T) {
			r := newHarness(t).registry(100)
			w := r.Add(1, c.watch, c.kind)
			s := r.Stream(1)
			r.Trigger(change(c.typ, c.event, 3), nil)
			if c.want {
				assert.Equal(t, fired(c.typ, c.event, 3), recv(t, w.C()))
				assert.Equal(t, fired(c.typ, c.event, 3), recv(t, s))
			} else {
				noEvent(t, w.C())
				noEvent(t, s)
			}
			assert.Equal(t, 1, r.Len())
		})
	}
}

// Trigger overwrites the state: every change arrives as SyncConnected.
func TestTriggerSetsState(t *testing.T) {
	r := newHarness(t).registry(10)
	w := r.Add(1, "/a", Data)
	e := change(znode.EventNodeDataChanged, "/a", 1)
	e.State = znode.StateExpired
	r.Trigger(e, nil)
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 1), recv(t, w.C()))
}

func TestTriggerWithoutWatches(t *testing.T) {
	r := newHarness(t).registry(10)
	s := r.Stream(1)
	for _, typ := range changeTypes {
		r.Trigger(change(typ, "/a", 1), nil)
	}
	noEvent(t, s)
	assert.Equal(t, 0, r.Len())
}

// A one-shot watch fires once: one event, then its channel is closed, and
// later matching events (which would panic on a send to the closed
// channel) find nothing.
func TestOneShotFiresOnce(t *testing.T) {
	for _, k := range []Kind{Data, Exist, Child} {
		t.Run(k.String(), func(t *testing.T) {
			r := newHarness(t).registry(10)
			w := r.Add(1, "/a", k)
			other := r.Add(1, "/a", k) // a second registration is a distinct watch
			assert.Equal(t, k, w.Kind())
			assert.Equal(t, "/a", w.Path())
			require.Equal(t, 2, r.Len())
			r.Trigger(change(znode.EventNodeDeleted, "/a", 1), nil) // fires every one-shot kind
			for _, x := range []*Watch{w, other} {
				assert.Equal(t, fired(znode.EventNodeDeleted, "/a", 1), recv(t, x.C()))
				recvClosed(t, x.C())
			}
			assert.Equal(t, 0, r.Len())
			for _, typ := range changeTypes {
				r.Trigger(change(typ, "/a", 2), nil)
			}
			assert.Equal(t, 0, r.Len())
			assert.False(t, r.RemoveWatch(w), "a fired watch is no longer registered")
			assert.Equal(t, 0, r.Remove(1, "/a", RemoveAny))
		})
	}
}

// A one-shot watch that did not fire stays, and fires later.
func TestOneShotWaitsForItsEvent(t *testing.T) {
	r := newHarness(t).registry(10)
	d := r.Add(1, "/a", Data)
	c := r.Add(1, "/a", Child)
	r.Trigger(change(znode.EventNodeChildrenChanged, "/a", 1), nil)
	assert.Equal(t, fired(znode.EventNodeChildrenChanged, "/a", 1), recv(t, c.C()))
	recvClosed(t, c.C())
	noEvent(t, d.C())
	assert.Equal(t, 1, r.Len())
	r.Trigger(change(znode.EventNodeDataChanged, "/a", 2), nil)
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 2), recv(t, d.C()))
	recvClosed(t, d.C())
	assert.Equal(t, 0, r.Len())
}

// Persistent and recursive watches outlive the deletion of their node and
// fire again when it is re-created; one-shot watches on the same path do
// not replace them (ZOOKEEPER-4466 fixed).
func TestPersistentSurvivesDelete(t *testing.T) {
	r := newHarness(t).registry(100)
	p := r.Add(1, "/a", Persistent)
	rec := r.Add(1, "/a", Recursive)
	root := r.Add(2, "/", Recursive)
	d := r.Add(1, "/a", Data) // coexists with the persistent watch of the same session
	require.Equal(t, 4, r.Len())
	seq := []znode.Event{
		change(znode.EventNodeCreated, "/a", 1),
		change(znode.EventNodeDeleted, "/a", 2),
		change(znode.EventNodeCreated, "/a", 3),
		change(znode.EventNodeDataChanged, "/a", 4),
		change(znode.EventNodeDeleted, "/a", 5),
		change(znode.EventNodeCreated, "/a", 6),
	}
	for _, e := range seq {
		r.Trigger(e, nil)
	}
	assert.Equal(t, fired(znode.EventNodeCreated, "/a", 1), recv(t, d.C()))
	recvClosed(t, d.C())
	assert.Equal(t, 3, r.Len())
	for _, w := range []*Watch{p, rec, root} {
		for _, e := range seq {
			e.State = znode.StateSyncConnected
			assert.Equal(t, e, recv(t, w.C()), "%v", w.Kind())
		}
		noEvent(t, w.C())
	}
}

// A session's stream gets one event per trigger, however many of its
// watches matched, and none when none did.
func TestStreamDedup(t *testing.T) {
	tcs := []struct {
		name    string
		watches map[string][]Kind // path -> kinds, all of session 1
		event   znode.Event
		fires   int // how many of the watches fire
	}{
		{"every kind on a delete", map[string][]Kind{"/a/b": {Data, Exist, Child, Persistent, Recursive}, "/a": {Recursive}, "/": {Recursive}},
			change(znode.EventNodeDeleted, "/a/b", 1), 7},
		{"children changed", map[string][]Kind{"/a/b": {Data, Exist, Child, Persistent, Recursive}, "/a": {Recursive}},
			change(znode.EventNodeChildrenChanged, "/a/b", 1), 2},
		{"data changed", map[string][]Kind{"/a/b": {Data, Exist, Child, Persistent}, "/a": {Recursive, Recursive}},
			change(znode.EventNodeDataChanged, "/a/b", 1), 5},
		{"ancestors only", map[string][]Kind{"/a": {Recursive, Persistent, Data}, "/": {Recursive}},
			change(znode.EventNodeCreated, "/a/b/c", 1), 2},
		{"nothing matches", map[string][]Kind{"/a": {Data, Child, Persistent}, "/ab": {Recursive}},
			change(znode.EventNodeCreated, "/a/b", 1), 0},
	}
	for _, tc := range tcs {
		t.Run(tc.name, func(t *testing.T) {
			r := newHarness(t).registry(100)
			s1, s2, s3 := r.Stream(1), r.Stream(2), r.Stream(3)
			assert.Equal(t, s1, r.Stream(1), "Stream returns the same channel")
			var ws []*Watch
			for path, ks := range tc.watches {
				for _, k := range ks {
					ws = append(ws, r.Add(1, path, k))
				}
			}
			r.Add(2, "/elsewhere", Persistent) // session 2: watches, none matching
			r.Trigger(tc.event, nil)
			n := 0
			for _, w := range ws {
				select {
				case e := <-w.C():
					assert.Equal(t, fired(tc.event.Type, tc.event.Path, tc.event.Zxid), e)
					n++
				default:
				}
			}
			assert.Equal(t, tc.fires, n)
			if tc.fires > 0 {
				assert.Equal(t, fired(tc.event.Type, tc.event.Path, tc.event.Zxid), recv(t, s1))
			}
			noEvent(t, s1)
			noEvent(t, s2)
			noEvent(t, s3)
		})
	}
}

// The stream carries events in trigger order, interleaving what different
// watches matched, from its creation on.
func TestStreamOrder(t *testing.T) {
	r := newHarness(t).registry(1000)
	r.Add(1, "/a", Persistent)
	r.Add(1, "/b", Recursive)
	r.Trigger(change(znode.EventNodeCreated, "/a", 1), nil) // before the stream: not on it
	s := r.Stream(1)
	var want []znode.Event
	for i := range 100 {
		zx := znode.Zxid(i + 2)
		var e znode.Event
		switch i % 4 {
		case 0:
			e = change(znode.EventNodeDataChanged, "/a", zx)
		case 1:
			e = change(znode.EventNodeCreated, fmt.Sprintf("/b/c%d", i), zx)
		case 2:
			e = change(znode.EventNodeChildrenChanged, "/b", zx) // recursive: not fired
		case 3:
			e = change(znode.EventNodeChildrenChanged, "/a", zx)
		}
		r.Trigger(e, nil)
		if i%4 != 2 {
			want = append(want, fired(e.Type, e.Path, e.Zxid))
		}
	}
	r.EndSession(1, znode.StateClosed)
	want = append(want, znode.Event{Type: znode.EventNone, State: znode.StateClosed})
	assert.Equal(t, want, drain(t, s))
}

var removeTable = []struct {
	kind    RemoveKind
	removes []Kind
}{
	{RemoveChildren, []Kind{Child}},
	{RemoveData, []Kind{Data, Exist}},
	{RemoveAny, []Kind{Data, Exist, Child, Persistent, Recursive}},
	{RemovePersistent, []Kind{Persistent}},
	{RemovePersistentRecursive, []Kind{Recursive}},
	{0, nil},
	{6, nil},
}

// removedEventOf is the removal event of each kind, written out
// independently of Kind.removedEvent.
var removedEventOf = map[Kind]znode.EventType{
	Data:       znode.EventDataWatchRemoved,
	Exist:      znode.EventDataWatchRemoved,
	Child:      znode.EventChildWatchRemoved,
	Persistent: znode.EventPersistentWatchRemoved,
	Recursive:  znode.EventPersistentWatchRemoved,
}

func TestRemove(t *testing.T) {
	for _, tc := range removeTable {
		t.Run(fmt.Sprintf("kind%d", tc.kind), func(t *testing.T) {
			r := newHarness(t).registry(100)
			mine := map[Kind]*Watch{}
			for _, k := range kinds {
				mine[k] = r.Add(1, "/p", k)
			}
			var untouched []*Watch
			for _, k := range kinds {
				untouched = append(untouched, r.Add(2, "/p", k), r.Add(1, "/q", k), r.Add(1, "/p/c", k))
			}
			s1, s2 := r.Stream(1), r.Stream(2)
			total := r.Len()

			n := r.Remove(1, "/p", tc.kind)
			assert.Equal(t, len(tc.removes), n)
			assert.Equal(t, total-n, r.Len())
			for _, k := range kinds {
				w := mine[k]
				if slices.Contains(tc.removes, k) {
					assert.Equal(t, znode.Event{Type: removedEventOf[k], State: znode.StateSyncConnected, Path: "/p"}, recv(t, w.C()), "%v", k)
					recvClosed(t, w.C())
					assert.False(t, r.RemoveWatch(w))
				} else {
					noEvent(t, w.C())
				}
			}
			for _, w := range untouched {
				noEvent(t, w.C())
			}
			noEvent(t, s1) // removal is not a change: nothing on the stream
			noEvent(t, s2)

			// Nothing more is delivered to a removed watch (a send to its
			// closed channel would panic); the others still fire.
			for _, typ := range changeTypes {
				r.Trigger(change(typ, "/p", 10), nil)
			}
			for _, k := range kinds {
				if !slices.Contains(tc.removes, k) && firesTable[k][znode.EventNodeCreated] {
					assert.Equal(t, fired(znode.EventNodeCreated, "/p", 10), recv(t, mine[k].C()))
				}
			}
			// Removing again finds nothing.
			assert.Equal(t, 0, r.Remove(1, "/p", tc.kind))
		})
	}
}

func TestRemoveNothing(t *testing.T) {
	r := newHarness(t).registry(10)
	assert.Equal(t, 0, r.Remove(1, "/none", RemoveAny), "no watches on the path")
	d := r.Add(1, "/a", Data)
	c := r.Add(2, "/a", Child)
	assert.Equal(t, 0, r.Remove(1, "/a", RemoveChildren), "the child watch is another session's")
	assert.Equal(t, 0, r.Remove(1, "/a", RemovePersistent))
	assert.Equal(t, 0, r.Remove(1, "/a", RemovePersistentRecursive))
	assert.Equal(t, 0, r.Remove(3, "/a", RemoveAny), "a session without watches")
	assert.Equal(t, 0, r.Remove(1, "/a/b", RemoveAny), "a path below")
	assert.Equal(t, 0, r.Remove(1, "/", RemoveAny), "a path above")
	assert.Equal(t, 2, r.Len())
	noEvent(t, d.C())
	noEvent(t, c.C())
}

func TestRemoveWatch(t *testing.T) {
	r := newHarness(t).registry(10)
	p := r.Add(1, "/a", Persistent)
	p2 := r.Add(1, "/a", Persistent) // same session, path and kind: a distinct watch
	d := r.Add(1, "/a", Data)
	s := r.Stream(1)
	require.Equal(t, 3, r.Len())

	assert.True(t, r.RemoveWatch(p))
	assert.Equal(t, znode.Event{Type: znode.EventPersistentWatchRemoved, State: znode.StateSyncConnected, Path: "/a"}, recv(t, p.C()))
	recvClosed(t, p.C())
	assert.Equal(t, 2, r.Len())
	assert.False(t, r.RemoveWatch(p), "the second removal finds nothing")
	assert.Equal(t, 2, r.Len())
	noEvent(t, p2.C())
	noEvent(t, d.C())
	noEvent(t, s)

	r.Trigger(change(znode.EventNodeDataChanged, "/a", 1), nil)
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 1), recv(t, p2.C()))
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 1), recv(t, d.C()))
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 1), recv(t, s))
	assert.False(t, r.RemoveWatch(d), "a fired one-shot watch")

	rec := r.Add(1, "/b", Recursive)
	assert.True(t, r.RemoveWatch(rec))
	assert.Equal(t, znode.Event{Type: znode.EventPersistentWatchRemoved, State: znode.StateSyncConnected, Path: "/b"}, recv(t, rec.C()))
	recvClosed(t, rec.C())
	r.Trigger(change(znode.EventNodeCreated, "/b/c", 2), nil) // the recursive count went down with it
	noEvent(t, s)

	c := r.Add(1, "/b", Child)
	assert.True(t, r.RemoveWatch(c))
	assert.Equal(t, znode.Event{Type: znode.EventChildWatchRemoved, State: znode.StateSyncConnected, Path: "/b"}, recv(t, c.C()))
	recvClosed(t, c.C())
	assert.Equal(t, 1, r.Len())
}

func TestEndSession(t *testing.T) {
	for _, state := range []znode.State{znode.StateExpired, znode.StateClosed} {
		t.Run(state.String(), func(t *testing.T) {
			r := newHarness(t).registry(100)
			var mine, theirs []*Watch
			for _, k := range kinds {
				mine = append(mine, r.Add(1, "/a", k), r.Add(1, "/b/c", k))
				theirs = append(theirs, r.Add(2, "/a", k), r.Add(2, "/b/c", k))
			}
			s1, s2 := r.Stream(1), r.Stream(2)
			r.Stream(3) // a session with a stream and no watches
			require.Equal(t, 20, r.Len())
			assert.ElementsMatch(t, []int64{1, 2, 3}, r.Sessions())

			r.EndSession(1, state)
			end := znode.Event{Type: znode.EventNone, State: state}
			for _, w := range mine {
				assert.Equal(t, end, recv(t, w.C()), "%v %s", w.Kind(), w.Path())
				recvClosed(t, w.C())
				assert.False(t, r.RemoveWatch(w))
			}
			assert.Equal(t, end, recv(t, s1))
			recvClosed(t, s1)
			assert.Equal(t, 10, r.Len())
			assert.ElementsMatch(t, []int64{2, 3}, r.Sessions())
			for _, w := range theirs {
				noEvent(t, w.C())
			}
			noEvent(t, s2)

			// The other session still works; the ended one gets nothing.
			r.Trigger(change(znode.EventNodeCreated, "/b/c", 5), nil)
			assert.Equal(t, fired(znode.EventNodeCreated, "/b/c", 5), recv(t, s2))
			assert.Equal(t, 10-2, r.Len(), "session 2's data and exist watches on /b/c fired")

			r.EndSession(1, state) // again: nothing left
			r.EndSession(9, state) // unknown
			r.EndSession(3, state)
			assert.ElementsMatch(t, []int64{2}, r.Sessions())
			r.EndSession(2, state)
			assert.Equal(t, 0, r.Len())
			assert.Empty(t, r.Sessions())

			// A new stream for an ended session is a fresh one.
			s1b := r.Stream(1)
			assert.NotEqual(t, s1, s1b)
			noEvent(t, s1b)
		})
	}
}

// A session's end reaches a persistent watch behind its unread backlog:
// the events first, then the end, then the close.
func TestEndSessionAfterBacklog(t *testing.T) {
	r := newHarness(t).registry(1000)
	w := r.Add(1, "/a", Persistent)
	s := r.Stream(1)
	var want []znode.Event
	for i := range 3 * chanBuffer {
		r.Trigger(change(znode.EventNodeDataChanged, "/a", znode.Zxid(i)), nil)
		want = append(want, fired(znode.EventNodeDataChanged, "/a", znode.Zxid(i)))
	}
	r.EndSession(1, znode.StateExpired)
	want = append(want, znode.Event{Type: znode.EventNone, State: znode.StateExpired})
	assert.Equal(t, want, drain(t, w.C()))
	assert.Equal(t, want, drain(t, s))
}

// Sessions lists exactly the sessions with watches or a stream.
func TestSessions(t *testing.T) {
	r := newHarness(t).registry(10)
	assert.Empty(t, r.Sessions())
	assert.False(t, r.Active())
	r.Add(1, "/a", Data)
	r.Add(2, "/a", Persistent)
	r.Stream(3)
	assert.ElementsMatch(t, []int64{1, 2, 3}, r.Sessions())
	r.Trigger(change(znode.EventNodeDataChanged, "/a", 1), nil) // session 1's only watch fires
	assert.ElementsMatch(t, []int64{2, 3}, r.Sessions())
	assert.Equal(t, 1, r.Remove(2, "/a", RemovePersistent))
	assert.ElementsMatch(t, []int64{3}, r.Sessions())
	r.Add(3, "/b", Child)
	assert.Equal(t, 1, r.Remove(3, "/b", RemoveChildren))
	assert.ElementsMatch(t, []int64{3}, r.Sessions(), "the stream keeps the session")
	assert.True(t, r.Active(), "a stream alone keeps the registry active")
	r.EndSession(3, znode.StateClosed)
	assert.Empty(t, r.Sessions())
	assert.False(t, r.Active())
}

// A persistent or recursive watch whose consumer falls behind by more
// than the limit gets every event it was queued, then ErrOverflow, then
// its channel closes; it is removed and nothing more reaches it.
func TestRegistryWatchOverflow(t *testing.T) {
	const limit = 4
	for _, tc := range []struct {
		kind  Kind
		event string // the path the events are on
	}{
		{Persistent, "/a"},
		{Recursive, "/a"},
		{Recursive, "/a/b/c"}, // through the ancestor walk
	} {
		t.Run(fmt.Sprintf("%v/%s", tc.kind, tc.event), func(t *testing.T) {
			h := newHarness(t)
			r := h.registry(limit)
			w := r.Add(1, "/a", tc.kind)
			other := r.Add(2, "/a", tc.kind) // read as we go: never overflows
			var want, wantOther []znode.Event
			overflowed := false
			for i := range chanBuffer + limit + 10 {
				e := change(znode.EventNodeDataChanged, tc.event, znode.Zxid(i))
				r.Trigger(e, nil)
				wantOther = append(wantOther, fired(e.Type, e.Path, e.Zxid))
				assert.Equal(t, wantOther[i], recv(t, other.C()))
				if r.Len() == 1 {
					overflowed = true
					break
				}
				want = append(want, fired(e.Type, e.Path, e.Zxid))
			}
			require.True(t, overflowed, "the watch never overflowed")
			assert.Equal(t, chanBuffer+limit, len(want), "exactly chanBuffer+limit events fit")
			assert.False(t, r.RemoveWatch(w), "an overflowed watch is gone")
			assert.ElementsMatch(t, []int64{2}, r.Sessions())
			r.Trigger(change(znode.EventNodeDeleted, tc.event, 99), nil) // reaches only the other watch
			assert.Equal(t, fired(znode.EventNodeDeleted, tc.event, 99), recv(t, other.C()))

			got := drain(t, w.C())
			require.Len(t, got, len(want)+1)
			assert.Equal(t, want, got[:len(want)])
			last := got[len(want)]
			assert.ErrorIs(t, last.Err, ErrOverflow)
			assert.Equal(t, znode.EventNone, last.Type)
			assert.Equal(t, znode.StateSyncConnected, last.State)
			assert.True(t, waitWithin(&h.wg, timeout), "the drained watch's pump exits")
		})
	}
}

// A session stream that overflows ends with ErrOverflow after every event
// it was queued; the session's watches are unaffected, and Stream then
// starts a new one.
func TestRegistryStreamOverflow(t *testing.T) {
	const limit = 3
	h := newHarness(t)
	r := h.registry(limit)
	s := r.Stream(1)
	var want []znode.Event
	for i := range chanBuffer + limit + 10 {
		w := r.Add(1, "/a", Data)
		e := change(znode.EventNodeDataChanged, "/a", znode.Zxid(i))
		r.Trigger(e, nil)
		assert.Equal(t, fired(e.Type, e.Path, e.Zxid), recv(t, w.C()), "the one-shot watch fires either way")
		want = append(want, fired(e.Type, e.Path, e.Zxid))
	}
	got := drain(t, s)
	n := len(got) - 1
	assert.Equal(t, chanBuffer+limit, n)
	assert.Equal(t, want[:n], got[:n])
	assert.Equal(t, znode.EventNone, got[n].Type)
	assert.ErrorIs(t, got[n].Err, ErrOverflow)
	assert.Equal(t, 0, r.Len())
	assert.Empty(t, r.Sessions(), "no watches, and the stream ended")
	assert.False(t, r.Active(), "an overflowed stream no longer counts")

	s2 := r.Stream(1)
	assert.NotEqual(t, s, s2)
	r.Add(1, "/b", Persistent)
	r.Trigger(change(znode.EventNodeCreated, "/b", 100), nil)
	assert.Equal(t, fired(znode.EventNodeCreated, "/b", 100), recv(t, s2))
	assert.True(t, waitWithin(&h.wg, timeout))
}

// The engine's pattern: one goroutine triggers under the registry's mutex,
// others register, remove and end under it, and consumers read slowly
// without it. Every event arrives exactly once, in order.
func TestRegistryConcurrent(t *testing.T) {
	const (
		sessions = 3
		events   = 3000
	)
	h := newHarness(t)
	var mu sync.Mutex
	r := h.registry(1 << 20)

	type consumer struct {
		name string
		ch   <-chan znode.Event
		want []znode.Event
		got  []znode.Event
	}
	var cs []*consumer
	mu.Lock()
	for s := int64(1); s <= sessions; s++ {
		cs = append(cs,
			&consumer{name: fmt.Sprintf("s%d persistent /p", s), ch: r.Add(s, "/p", Persistent).C()},
			&consumer{name: fmt.Sprintf("s%d recursive /", s), ch: r.Add(s, "/", Recursive).C()},
			&consumer{name: fmt.Sprintf("s%d stream", s), ch: r.Stream(s)},
		)
	}
	mu.Unlock()

	var readers sync.WaitGroup
	for i, c := range cs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for e := range c.ch {
				c.got = append(c.got, e)
				if len(c.got)%(50+i) == 0 {
					time.Sleep(time.Millisecond) // fall behind now and then
				}
			}
		}()
	}

	// One-shot churn alongside: each registration gets exactly its event.
	churnErr := make(chan error, 1)
	go func() {
		for i := range 200 {
			mu.Lock()
			w := r.Add(int64(i%sessions+1), "/p", Data)
			mu.Unlock()
			e, ok := <-w.C()
			if !ok || e.Path != "/p" || e.Type != znode.EventNodeDataChanged {
				churnErr <- fmt.Errorf("one-shot %d got %v, %v", i, e, ok)
				return
			}
			if _, ok := <-w.C(); ok {
				churnErr <- fmt.Errorf("one-shot %d delivered twice", i)
				return
			}
		}
		churnErr <- nil
	}()

	// Trigger at least events times, and on until the churn is done (each of
	// its watches waits for a trigger).
	var churnDone error
	for i, done := 0, false; i < events || !done; i++ {
		if !done {
			select {
			case churnDone = <-churnErr:
				done = true
			default:
			}
		}
		var e znode.Event
		if i%3 == 0 {
			e = change(znode.EventNodeChildrenChanged, "/p", znode.Zxid(i)) // not for recursive watches
		} else {
			e = change(znode.EventNodeDataChanged, "/p", znode.Zxid(i))
		}
		mu.Lock()
		r.Trigger(e, nil)
		mu.Unlock()
		for _, c := range cs {
			if e.Type == znode.EventNodeChildrenChanged && strings.Contains(c.name, "recursive") {
				continue
			}
			c.want = append(c.want, fired(e.Type, e.Path, e.Zxid))
		}
		if i%100 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	require.NoError(t, churnDone)
	mu.Lock()
	for s := int64(1); s <= sessions; s++ {
		r.EndSession(s, znode.StateClosed)
	}
	assert.Equal(t, 0, r.Len())
	mu.Unlock()
	require.True(t, waitWithin(&readers, timeout), "consumers did not see their channels close")
	end := znode.Event{Type: znode.EventNone, State: znode.StateClosed}
	for _, c := range cs {
		// The churn's one-shot watches fire on the same triggers: the stream
		// still gets each once.
		require.Equal(t, append(c.want, end), c.got, c.name)
	}
	assert.True(t, waitWithin(&h.wg, timeout), "pumps exit once their consumers caught up")
}

// ---- FuzzRegistry: the Registry against an independent model ----

var fuzzPaths = []string{"/", "/a", "/a/b", "/a/b/c", "/ab", "/x"}

// mWatch is the model of one watch: what its channel must deliver, in
// order, and whether it is closed after that.
type mWatch struct {
	w       *Watch
	session int64
	path    string
	kind    Kind
	live    bool
	want    []znode.Event
	read    int
	closed  bool
}

// mStream is the model of one stream.
type mStream struct {
	ch     <-chan znode.Event
	want   []znode.Event
	read   int
	closed bool
}

type model struct {
	watches []*mWatch
	streams map[int64]*mStream // open ones
	all     []*mStream
}

// matches is the firing rule, restated: own path by kind; descendants for
// recursive watches only, never NodeChildrenChanged.
func (m *model) matches(w *mWatch, e znode.Event) bool {
	if w.path == e.Path {
		return firesTable[w.kind][e.Type]
	}
	if w.kind != Recursive || e.Type == znode.EventNodeChildrenChanged {
		return false
	}
	if w.path == "/" {
		return true // every other path is below the root
	}
	return strings.HasPrefix(e.Path, w.path+"/")
}

func (m *model) trigger(e znode.Event) {
	e.State = znode.StateSyncConnected
	hit := map[int64]bool{}
	for _, w := range m.watches {
		if !w.live || !m.matches(w, e) {
			continue
		}
		w.want = append(w.want, e)
		hit[w.session] = true
		if oneShot(w.kind) {
			w.live, w.closed = false, true
		}
	}
	for s := range hit {
		if st := m.streams[s]; st != nil {
			st.want = append(st.want, e)
		}
	}
}

func (m *model) finish(w *mWatch, e znode.Event) {
	w.want = append(w.want, e)
	w.live, w.closed = false, true
}

func (m *model) liveCount() int {
	n := 0
	for _, w := range m.watches {
		if w.live {
			n++
		}
	}
	return n
}

func (m *model) sessions() []int64 {
	set := map[int64]bool{}
	for _, w := range m.watches {
		if w.live {
			set[w.session] = true
		}
	}
	for s := range m.streams {
		set[s] = true
	}
	var ids []int64
	for s := range set {
		ids = append(ids, s)
	}
	slices.Sort(ids)
	return ids
}

// catchUp reads what the model says ch has delivered since the last read,
// then, if the model says it is closed, the close. Otherwise it checks
// that nothing else is ready (exact for one-shot channels, best effort for
// queues whose pump may not have caught up).
func catchUp(t *testing.T, name string, ch <-chan znode.Event, want []znode.Event, read *int, closed bool) {
	t.Helper()
	for ; *read < len(want); *read++ {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("%s: closed, want %v (event %d)", name, want[*read], *read)
			}
			if e != want[*read] {
				t.Fatalf("%s: event %d = %v, want %v", name, *read, e, want[*read])
			}
		case <-time.After(timeout):
			t.Fatalf("%s: no event %d within the timeout, want %v", name, *read, want[*read])
		}
	}
	if closed {
		select {
		case e, ok := <-ch:
			if ok {
				t.Fatalf("%s: event %v after its last one", name, e)
			}
		case <-time.After(timeout):
			t.Fatalf("%s: not closed", name)
		}
		return
	}
	select {
	case e, ok := <-ch:
		t.Fatalf("%s: unexpected %v (ok=%v)", name, e, ok)
	default:
	}
}

func (w *mWatch) name(i int) string {
	return fmt.Sprintf("watch %d (s%d %v %s)", i, w.session, w.kind, w.path)
}

func FuzzRegistry(f *testing.F) {
	f.Add([]byte{0, 1, 3, 1, 60})
	f.Add([]byte{0, 4, 4, 0, 7, 4, 1, 6, 5, 1, 1, 20, 6, 0, 4, 0})
	f.Add([]byte{5, 0, 0, 0, 4, 0, 6, 3, 1, 14, 6, 0, 6, 1, 2, 0, 3, 3, 0, 4, 1})
	f.Add([]byte("\x00\x01\x04\x00\x02\x04\x05\x00\x01\x07\x01\x0d\x06\x01\x02\x01\x05\x04\x00\x00\x07\x06\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		h := newHarness(t)
		r := h.registry(1 << 20) // never overflows: the bound is not deterministic
		m := &model{streams: map[int64]*mStream{}}
		var zxid znode.Zxid
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		for len(data) > 0 {
			op, a, b := next(), next(), next()
			session := int64(a%3) + 1
			path := fuzzPaths[int(a/3)%len(fuzzPaths)]
			switch op % 8 {
			case 0: // add
				k := kinds[int(b)%len(kinds)]
				w := r.Add(session, path, k)
				m.watches = append(m.watches, &mWatch{w: w, session: session, path: path, kind: k, live: true})
			case 1, 7: // trigger
				zxid++
				e := change(changeTypes[int(b)%len(changeTypes)], path, zxid)
				r.Trigger(e, nil)
				m.trigger(e)
			case 2: // remove
				kind := RemoveKind(b % 6) // 0 selects nothing
				n := r.Remove(session, path, kind)
				want := 0
				for _, w := range m.watches {
					if w.live && w.session == session && w.path == path && slices.Contains(removeKinds(kind), w.kind) {
						m.finish(w, znode.Event{Type: removedEventOf[w.kind], State: znode.StateSyncConnected, Path: path})
						want++
					}
				}
				if n != want {
					t.Fatalf("Remove(%d, %s, %d) = %d, want %d", session, path, kind, n, want)
				}
			case 3: // remove one watch
				if len(m.watches) == 0 {
					continue
				}
				w := m.watches[int(b)%len(m.watches)]
				ok := r.RemoveWatch(w.w)
				if ok != w.live {
					t.Fatalf("RemoveWatch(%v %s) = %v, want %v", w.kind, w.path, ok, w.live)
				}
				if ok {
					m.finish(w, znode.Event{Type: removedEventOf[w.kind], State: znode.StateSyncConnected, Path: w.path})
				}
			case 4: // end session
				state := znode.StateExpired
				if b%2 == 1 {
					state = znode.StateClosed
				}
				r.EndSession(session, state)
				end := znode.Event{Type: znode.EventNone, State: state}
				for _, w := range m.watches {
					if w.live && w.session == session {
						m.finish(w, end)
					}
				}
				if st := m.streams[session]; st != nil {
					st.want = append(st.want, end)
					st.closed = true
					delete(m.streams, session)
				}
			case 5: // stream
				ch := r.Stream(session)
				if st := m.streams[session]; st != nil {
					if st.ch != ch {
						t.Fatalf("Stream(%d) returned a new channel for an open stream", session)
					}
					continue
				}
				for _, st := range m.all {
					if st.ch == ch {
						t.Fatalf("Stream(%d) returned an ended stream", session)
					}
				}
				st := &mStream{ch: ch}
				m.streams[session] = st
				m.all = append(m.all, st)
			case 6: // read a watch's or a stream's channel
				if int(b)%2 == 0 && len(m.watches) > 0 {
					i := int(a) % len(m.watches)
					w := m.watches[i]
					catchUp(t, w.name(i), w.w.C(), w.want, &w.read, w.closed)
				} else if len(m.all) > 0 {
					i := int(a) % len(m.all)
					st := m.all[i]
					catchUp(t, fmt.Sprintf("stream %d", i), st.ch, st.want, &st.read, st.closed)
				}
			}
			if got, want := r.Len(), m.liveCount(); got != want {
				t.Fatalf("after op %d: Len() = %d, want %d", op%8, got, want)
			}
			if got, want := r.Active(), m.liveCount() > 0 || len(m.streams) > 0; got != want {
				t.Fatalf("after op %d: Active() = %v, want %v", op%8, got, want)
			}
			got := r.Sessions()
			slices.Sort(got)
			if want := m.sessions(); !slices.Equal(got, want) {
				t.Fatalf("after op %d: Sessions() = %v, want %v", op%8, got, want)
			}
		}
		// End every session: then every channel must deliver the rest of
		// what the model expects and close.
		for s := int64(1); s <= 3; s++ {
			r.EndSession(s, znode.StateClosed)
			end := znode.Event{Type: znode.EventNone, State: znode.StateClosed}
			for _, w := range m.watches {
				if w.live && w.session == s {
					m.finish(w, end)
				}
			}
			if st := m.streams[s]; st != nil {
				st.want = append(st.want, end)
				st.closed = true
				delete(m.streams, s)
			}
		}
		if r.Len() != 0 || len(r.Sessions()) != 0 || r.Active() {
			t.Fatalf("after ending every session: Len() = %d, Sessions() = %v", r.Len(), r.Sessions())
		}
		for i, w := range m.watches {
			catchUp(t, w.name(i), w.w.C(), w.want, &w.read, true)
		}
		for i, st := range m.all {
			catchUp(t, fmt.Sprintf("stream %d", i), st.ch, st.want, &st.read, true)
		}
		if !waitWithin(&h.wg, timeout) {
			t.Fatal("pumps still running after every channel was drained")
		}
	})
}

// removeKinds is the RemoveKind table as a function.
func removeKinds(r RemoveKind) []Kind {
	for _, tc := range removeTable {
		if tc.kind == r {
			return tc.removes
		}
	}
	return nil
}

// A session that may not read the node is told nothing: its one-shot
// watches that fired are used up (gone from the path, Len down), stay
// silent, and close only when the session ends; its persistent watches
// skip the event and stay; its stream hears nothing. Other sessions are
// served as usual.
func TestTriggerAllowed(t *testing.T) {
	h := newHarness(t)
	r := h.registry(100)
	denied := r.Add(1, "/a", Data)
	dp := r.Add(1, "/a", Persistent)
	dr := r.Add(1, "/", Recursive)
	ds := r.Stream(1)
	ok := r.Add(2, "/a", Data)
	os := r.Stream(2)
	allowed := func(s int64) bool { return s == 2 }

	r.Trigger(change(znode.EventNodeDataChanged, "/a", 5), allowed)
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 5), recv(t, ok.C()))
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 5), recv(t, os))
	noEvent(t, denied.C())
	noEvent(t, dp.C())
	noEvent(t, dr.C())
	noEvent(t, ds)
	assert.Equal(t, 2, r.Len(), "the spent one-shot watch is gone; persistent and recursive stay")
	assert.Zero(t, r.Remove(1, "/a", RemoveData), "a spent watch cannot be removed")
	assert.False(t, r.RemoveWatch(denied))

	// Readable again: the persistent watches deliver, the spent one not.
	r.Trigger(change(znode.EventNodeDataChanged, "/a", 6), nil)
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 6), recv(t, dp.C()))
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 6), recv(t, dr.C()))
	assert.Equal(t, fired(znode.EventNodeDataChanged, "/a", 6), recv(t, ds))
	noEvent(t, denied.C())

	r.EndSession(1, znode.StateExpired)
	end := znode.Event{Type: znode.EventNone, State: znode.StateExpired}
	assert.Equal(t, end, recv(t, denied.C()), "the spent watch ends with its session")
	recvClosed(t, denied.C())
	assert.Equal(t, []znode.Event{end}, drain(t, dp.C()))
	assert.Equal(t, []znode.Event{end}, drain(t, dr.C()))
	assert.Equal(t, []znode.Event{end}, drain(t, ds))
	assert.Equal(t, []int64{2}, r.Sessions())
}

// A silent watch (a wire connection's: AddSilent) reaches its session's
// sink only; a persistent or recursive one stays after it fires, for
// events on its own path too, and a one-shot one fires once.
func TestSilentPersistentStays(t *testing.T) {
	h := newHarness(t)
	r := h.registry(100)
	var got []znode.Event
	r.Sink(1, func(e znode.Event) bool {
		got = append(got, e)
		return true
	})
	r.AddSilent(1, "/p", Persistent)
	r.AddSilent(1, "/r", Recursive)
	r.AddSilent(1, "/d", Data)
	var want []znode.Event
	for i, e := range []znode.Event{
		change(znode.EventNodeDataChanged, "/p", 1),
		change(znode.EventNodeDataChanged, "/p", 2),
		change(znode.EventNodeDataChanged, "/r", 3),
		change(znode.EventNodeDataChanged, "/r", 4),
		change(znode.EventNodeCreated, "/r/c", 5),
		change(znode.EventNodeDataChanged, "/d", 6),
		change(znode.EventNodeDataChanged, "/d", 7),
	} {
		r.Trigger(e, nil)
		if i < 6 {
			want = append(want, fired(e.Type, e.Path, e.Zxid))
		}
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 2, r.Len(), "the persistent and recursive watches stay, the one-shot is gone")
}
