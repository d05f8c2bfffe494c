package zkembed_test

// Watch conformance: the scenarios below set one-shot watches (getData,
// exists and getChildren with watch=true) on real ZooKeeper through go-zk's
// GetW/ExistsW/ChildrenW, and on zkembed through Session.GetW/ExistsW/
// ChildrenW, run the same writes on both, and compare the events. They use
// the recorder of conformance_test.go; see its file comment for the rest of
// the normalization.
//
// What is recorded: after every step, each watch channel's newly received
// events (one line each, "wN (<session> <op> <path>): <type> <path>
// <state>"), then each session's newly received notifications (go-zk's
// connection-level events, seen through zk.WithEventCallback, against
// Session.Events()): the stream is where dedup (one notification per change
// per connection) and the order of events within a transaction show, since
// a one-shot channel receives at most one event.
//
// Normalization specific to watches:
//   - only Type, Path and State are compared: go-zk's Event carries no zxid;
//   - only events caused by znode changes are compared. Session-end
//     notifications differ by design and are dropped: go-zk ends its own
//     pending watches with EventNotWatching (and sends EventSession state
//     changes to the connection), the engine with EventNone and StateClosed;
//   - where ZooKeeper's order is unspecified (the ephemerals of a closing
//     session are deleted in Java HashSet order, SEMANTICS.md §5; the
//     reaper's order likewise), the step's stream lines are sorted and
//     marked "(unordered)".
//
// Delivery: the engine hands a change's events to the registry before the
// write returns. A one-shot channel then holds its event; a session stream
// holds the first few (its channel's capacity) and the rest wait in a
// backlog fed in as the consumer reads, so the drain waits briefly when a
// stream's channel was full (see confDrainEngine). On ZooKeeper, the server queues a notification on the watcher's connection
// while it applies the txn, before the write's reply (SEMANTICS.md §8.5),
// and go-zk's recvLoop hands a notification to the event callback and the
// watch channels synchronously before it reads the next packet. So after a
// synchronous read on the watcher's connection returns (the barrier below,
// sent after the write has returned), every notification the write caused
// is already in the channel, and no timed wait is needed.
//
// Not compared, because go-zk v1.0.4 cannot send them: addWatch (opcode
// 106: persistent and persistent-recursive watches), removeWatches (opcode
// 18, NoWatcher -121) and checkWatches (17). go-zk's request opcodes stop
// at reconfig (16), createContainer (19), createTTL (21) and setWatches
// (101). The wire adapter's own tests will have to cover them.

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed"
)

// confEvent is a watch notification in neutral form.
type confEvent struct {
	typ   int32 // ZooKeeper's EventType; go-zk's and zkembed's agree on 1..4
	state int32
	path  string
}

// change reports whether the event is a znode change (NodeCreated,
// NodeDeleted, NodeDataChanged, NodeChildrenChanged), not a session-end or
// state notification.
func (e confEvent) change() bool { return e.typ >= 1 && e.typ <= 4 }

// String renders the event with ZooKeeper's names for types and states.
func (e confEvent) String() string {
	return zkembed.EventType(e.typ).String() + " " + e.path + " " + zkembed.State(e.state).String()
}

// confWatchCh is one watch's channel on either system.
type confWatchCh interface {
	// drain returns the events received since the last call, without
	// blocking.
	drain() []confEvent
}

// confWatcher is the watch side of a client opened with connectWatching.
type confWatcher interface {
	getW(path string) ([]byte, confStat, confWatchCh, error)
	existsW(path string) (bool, confStat, confWatchCh, error)
	childrenW(path string) ([]string, confStat, confWatchCh, error)
	sync(path string) error
	// barrier returns once every notification the server queued for this
	// connection before the call has reached the channels.
	barrier() error
	// stream returns the session's notifications received since the last
	// call, without blocking.
	stream() []confEvent
}

// confWatchSystem opens sessions whose notifications are recorded.
type confWatchSystem interface {
	connectWatching(t *testing.T) confClient
}

// ---------------------------------------------------------------------------
// Real ZooKeeper through go-zk.

type confZKWatchClient struct {
	*confZKClient
	mu     sync.Mutex
	events []confEvent // from the event callback, not yet taken
}

// connectWatching is connect with an event callback that records the
// connection's notifications; go-zk calls it from its receive loop, in
// order, before it hands the event to the watch channels.
func (s *confZKSystem) connectWatching(t *testing.T) confClient {
	t.Helper()
	w := &confZKWatchClient{}
	conn := s.dial(t, func(ev zk.Event) {
		w.mu.Lock()
		w.events = append(w.events, confEvent{int32(ev.Type), int32(ev.State), ev.Path})
		w.mu.Unlock()
	})
	w.confZKClient = &confZKClient{c: conn}
	return w
}

type confZKWatch struct {
	ch   <-chan zk.Event
	done bool
}

func (w *confZKWatch) drain() []confEvent {
	var out []confEvent
	for !w.done {
		select {
		case ev, ok := <-w.ch:
			if !ok {
				w.done = true
				continue
			}
			out = append(out, confEvent{int32(ev.Type), int32(ev.State), ev.Path})
		default:
			return out
		}
	}
	return out
}

func confZKWatchOf(ch <-chan zk.Event) confWatchCh {
	if ch == nil {
		return nil
	}
	return &confZKWatch{ch: ch}
}

func (z *confZKWatchClient) getW(path string) ([]byte, confStat, confWatchCh, error) {
	d, st, ch, err := z.c.GetW(path)
	return d, confStatFromZK(st), confZKWatchOf(ch), err
}

func (z *confZKWatchClient) existsW(path string) (bool, confStat, confWatchCh, error) {
	ok, st, ch, err := z.c.ExistsW(path)
	return ok, confStatFromZK(st), confZKWatchOf(ch), err
}

func (z *confZKWatchClient) childrenW(path string) ([]string, confStat, confWatchCh, error) {
	names, st, ch, err := z.c.ChildrenW(path)
	return names, confStatFromZK(st), confZKWatchOf(ch), err
}

func (z *confZKWatchClient) sync(path string) error {
	_, err := z.c.Sync(path)
	return err
}

func (z *confZKWatchClient) barrier() error {
	_, _, err := z.c.Exists("/")
	return err
}

func (z *confZKWatchClient) stream() []confEvent {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := z.events
	z.events = nil
	return out
}

// ---------------------------------------------------------------------------
// zkembed through its Go API.

type confEngineWatchClient struct {
	*confEngineClient
	events <-chan zkembed.Event
	done   bool
}

// connectWatching is connect with the session's notification stream
// (Session.Events) open from the start.
func (e *confEngineSystem) connectWatching(t *testing.T) confClient {
	t.Helper()
	c := e.connect(t).(*confEngineClient)
	return &confEngineWatchClient{confEngineClient: c, events: c.s.Events()}
}

type confEngineWatch struct {
	ch   <-chan zkembed.Event
	done bool
}

// confDrainEngine takes what ch holds without blocking, with one
// exception. A persistent watch's or a session stream's channel is a Queue
// (package watch): events go straight into the channel while it has room,
// and beyond that into a backlog that a goroutine feeds in as the consumer
// reads, so they are all queued before the write returns but not all in
// the channel. A backlog can only exist if the channel was full, so after
// reading at least cap(ch) events the drain waits, up to confPumpWait for
// each further event, until none comes. (The previous drain having emptied
// the Queue, everything in it belongs to the current step.)
func confDrainEngine(ch <-chan zkembed.Event, done *bool) []confEvent {
	var out []confEvent
	take := func(ev zkembed.Event, ok bool) {
		if !ok {
			*done = true
			return
		}
		out = append(out, confEvent{int32(ev.Type), int32(ev.State), ev.Path})
	}
	for !*done {
		select {
		case ev, ok := <-ch:
			take(ev, ok)
			continue
		default:
		}
		if len(out) < cap(ch) {
			return out
		}
		select {
		case ev, ok := <-ch:
			take(ev, ok)
		case <-time.After(confPumpWait):
			return out
		}
	}
	return out
}

// confPumpWait is how long confDrainEngine waits for a Queue's backlog.
const confPumpWait = 250 * time.Millisecond

func (w *confEngineWatch) drain() []confEvent { return confDrainEngine(w.ch, &w.done) }

func confEngineWatchOf(ch <-chan zkembed.Event) confWatchCh {
	if ch == nil {
		return nil
	}
	return &confEngineWatch{ch: ch}
}

func (c *confEngineWatchClient) getW(path string) ([]byte, confStat, confWatchCh, error) {
	d, st, ch, err := c.s.GetW(confCtx, path)
	return d, confStatFromEngine(st), confEngineWatchOf(ch), err
}

func (c *confEngineWatchClient) existsW(path string) (bool, confStat, confWatchCh, error) {
	ok, st, ch, err := c.s.ExistsW(confCtx, path)
	return ok, confStatFromEngine(st), confEngineWatchOf(ch), err
}

func (c *confEngineWatchClient) childrenW(path string) ([]string, confStat, confWatchCh, error) {
	names, st, ch, err := c.s.ChildrenW(confCtx, path)
	return names, confStatFromEngine(st), confEngineWatchOf(ch), err
}

func (c *confEngineWatchClient) sync(path string) error {
	_, err := c.s.Sync(confCtx, path)
	return err
}

// barrier does nothing: the engine delivers a change's events before the
// write that made it returns.
func (c *confEngineWatchClient) barrier() error { return nil }

func (c *confEngineWatchClient) stream() []confEvent { return confDrainEngine(c.events, &c.done) }

// ---------------------------------------------------------------------------
// The watch recorder: confRun's steps, each followed by the events it caused.

type confWSess struct {
	*confSess
	w      confWatcher
	closed bool
}

type confW struct {
	label string // "w1", "w2", ...
	desc  string // "B getData $P/n"
	ch    confWatchCh
}

type confWatchRun struct {
	*confRun
	sessions []*confWSess
	watches  []*confW
}

// confWatchScenario runs scenario as a conformance scenario (see conform)
// with the watch recorder.
func confWatchScenario(t *testing.T, kind confServerKind, scenario func(w *confWatchRun)) {
	t.Helper()
	conform(t, kind, func(r *confRun) { scenario(&confWatchRun{confRun: r}) })
}

// session opens a session whose notifications are recorded.
func (w *confWatchRun) session(name string) *confWSess {
	w.t.Helper()
	sys, ok := w.sys.(confWatchSystem)
	if !ok {
		w.t.Fatalf("%s cannot record watch events", w.sys.name())
	}
	c := sys.connectWatching(w.t)
	w.owners[c.id()] = name
	s := &confWSess{confSess: &confSess{name: name, c: c}, w: c.(confWatcher)}
	w.sessions = append(w.sessions, s)
	return s
}

// events records what every watch and every session has received since the
// last step. unordered sorts each session's notifications of this step.
func (w *confWatchRun) events(unordered bool) {
	w.t.Helper()
	for _, s := range w.sessions {
		if s.closed {
			continue
		}
		if err := s.w.barrier(); err != nil {
			w.t.Fatalf("%s: barrier read on session %s: %v", w.sys.name(), s.name, err)
		}
	}
	for _, x := range w.watches {
		for _, ev := range x.ch.drain() {
			if ev.change() {
				w.rec(nil, "  %s (%s): %v", x.label, x.desc, ev)
			}
		}
	}
	for _, s := range w.sessions {
		var lines []string
		for _, ev := range s.w.stream() {
			if ev.change() {
				lines = append(lines, ev.String())
			}
		}
		note := ""
		if unordered {
			slices.Sort(lines)
			note = " (unordered)"
		}
		for _, l := range lines {
			w.rec(nil, "  %s notified%s: %s", s.name, note, l)
		}
	}
}

func (w *confWatchRun) addWatch(s *confWSess, op, path string, ch confWatchCh) string {
	if ch == nil {
		return "no watch"
	}
	x := &confW{label: "w" + strconv.Itoa(len(w.watches)+1), desc: s.name + " " + op + " " + path, ch: ch}
	w.watches = append(w.watches, x)
	return "watch " + x.label
}

// getW runs getData with a watch.
func (w *confWatchRun) getW(s *confWSess, path string) {
	d, st, ch, err := s.w.getW(path)
	code := s.c.code(err)
	set := w.addWatch(s, "getData", path, ch)
	if code != 0 {
		w.rec(nil, "%s: getData(watch) %s -> %s, %s", s.name, path, confFmtCode(code), set)
	} else {
		w.rec(&st, "%s: getData(watch) %s -> ok data=%s, %s", s.name, path, confFmtData(d), set)
	}
	w.events(false)
}

// existsW runs exists with a watch.
func (w *confWatchRun) existsW(s *confWSess, path string) {
	ok, st, ch, err := s.w.existsW(path)
	code := s.c.code(err)
	set := w.addWatch(s, "exists", path, ch)
	if code != 0 || !ok {
		w.rec(nil, "%s: exists(watch) %s -> %v %s, %s", s.name, path, ok, confFmtCode(code), set)
	} else {
		w.rec(&st, "%s: exists(watch) %s -> true, %s", s.name, path, set)
	}
	w.events(false)
}

// childrenW runs getChildren with a watch.
func (w *confWatchRun) childrenW(s *confWSess, path string) {
	names, st, ch, err := s.w.childrenW(path)
	code := s.c.code(err)
	set := w.addWatch(s, "getChildren", path, ch)
	if code != 0 {
		w.rec(nil, "%s: getChildren(watch) %s -> %s, %s", s.name, path, confFmtCode(code), set)
	} else {
		names = slices.Clone(names)
		slices.Sort(names)
		w.rec(&st, "%s: getChildren(watch) %s -> ok %q, %s", s.name, path, names, set)
	}
	w.events(false)
}

func (w *confWatchRun) create(s *confWSess, path string, data []byte, mode int32) string {
	p := w.confRun.create(s.confSess, path, data, mode, confOpenACL, 0)
	w.events(false)
	return p
}

func (w *confWatchRun) createACL(s *confWSess, path string, data []byte, mode int32, acl []zk.ACL) string {
	p := w.confRun.create(s.confSess, path, data, mode, acl, 0)
	w.events(false)
	return p
}

func (w *confWatchRun) createTTL(s *confWSess, path string, ttl time.Duration) string {
	p := w.confRun.create(s.confSess, path, nil, zk.FlagTTL, confOpenACL, ttl)
	w.events(false)
	return p
}

func (w *confWatchRun) del(s *confWSess, path string, version int32) {
	w.confRun.del(s.confSess, path, version)
	w.events(false)
}

// delThenReap deletes path and then lets the reaper run, recording the
// events of both together: the real server's reaper runs on its own and
// may reap an emptied container before a barrier right after the delete
// could record the delete's events alone.
func (w *confWatchRun) delThenReap(s *confWSess, path string, version int32, age time.Duration, gone ...string) {
	w.confRun.del(s.confSess, path, version)
	w.reap(age, gone...)
}

func (w *confWatchRun) set(s *confWSess, path string, data []byte, version int32) {
	w.confRun.set(s.confSess, path, data, version)
	w.events(false)
}

func (w *confWatchRun) setACL(s *confWSess, path string, acl []zk.ACL, version int32) {
	w.confRun.setACL(s.confSess, path, acl, version)
	w.events(false)
}

func (w *confWatchRun) multi(s *confWSess, ops ...confOp) {
	w.confRun.multi(s.confSess, ops...)
	w.events(false)
}

func (w *confWatchRun) sync(s *confWSess, path string) {
	err := s.w.sync(path)
	w.rec(nil, "%s: sync %s -> %s", s.name, path, confFmtCode(s.c.code(err)))
	w.events(false)
}

func (w *confWatchRun) stat(s *confWSess, path string) { w.confRun.stat(s.confSess, path) }

func (w *confWatchRun) children(s *confWSess, path string) {
	w.confRun.children(s.confSess, path)
}

// closeSession closes s. With unordered, the notifications it causes are
// compared as a set (a session's ephemerals go in an unspecified order).
func (w *confWatchRun) closeSession(s *confWSess, unordered bool) {
	w.confRun.closeSession(s.confSess)
	s.closed = true
	w.events(unordered)
}

// reap lets age pass, waits for the reaper to delete gone, and records the
// events as a set (the reaper's order is unspecified).
func (w *confWatchRun) reap(age time.Duration, gone ...string) {
	w.confRun.reap(age, gone...)
	w.events(true)
}

// ---------------------------------------------------------------------------
// Scenarios.

// Watch scenario 1: what each kind of write fires, and what it does not.
func TestConformanceWatchTriggers(t *testing.T) {
	confWatchScenario(t, confSharedServer, func(w *confWatchRun) {
		a, b := w.session("A"), w.session("B")
		P := w.prefix
		n := P + "/n"
		w.create(a, P, []byte("p"), 0)
		w.create(a, n, []byte("n0"), 0)

		// Data and exists watches fire on setData; child watches do not.
		// B's watches on P wait through everything below until P's own data
		// changes at the end.
		w.getW(b, n)
		w.existsW(b, n)
		w.childrenW(b, n)
		w.getW(b, P)
		w.existsW(b, P)
		w.set(a, n, []byte("n1"), -1)
		w.set(a, n, []byte("n2"), -1) // one-shot: nothing more

		// No events: failed writes, setACL, sync.
		w.getW(b, n)
		w.existsW(b, n)
		w.set(a, n, []byte("bad"), 7)
		w.setACL(a, n, confWorldACL(zk.PermAll), -1)
		w.setACL(a, n, confWorldACL(zk.PermAll), 9)
		w.sync(a, n)
		w.create(a, n, nil, 0)
		w.del(a, P, -1)
		w.del(a, n, 5)
		w.multi(a, confMSet(n, []byte("m"), -1), confMCheck(n, 42))

		// A child's creation fires the parent's child watch (and the
		// already-fired child watch of n is not re-armed), not its data
		// watch.
		w.create(a, n+"/c", []byte("c"), 0)
		w.childrenW(b, n)
		w.set(a, n+"/c", []byte("c2"), -1)
		w.create(a, n+"/d", nil, 0)
		w.childrenW(b, n)
		w.del(a, n+"/c", -1)
		w.del(a, n+"/d", -1)

		// The writer's own watch; several watches on one node from two
		// sessions (B's stream still gets one notification).
		w.getW(a, n)
		w.existsW(a, n)
		w.getW(b, n) // B's getW and existsW from above still wait too
		w.set(a, n, []byte("byA"), -1)
		w.getW(b, n)
		w.set(b, n, []byte("byB"), -1)

		// Delete of a node watched by data, exists and child watches of one
		// session: each channel gets NodeDeleted, the session one
		// notification, then the parent's child watch fires.
		w.getW(b, n)
		w.existsW(b, n)
		w.childrenW(b, n)
		w.childrenW(b, P)
		w.childrenW(a, n)
		w.del(a, n, -1)

		// Exists watches on missing nodes, the parent missing too; then
		// create.
		w.existsW(b, n)
		w.existsW(b, P+"/missing/x")
		w.childrenW(b, P)
		w.create(a, n, []byte("again"), 0)
		w.create(a, P+"/missing", nil, 0)
		w.create(a, P+"/missing/x", nil, 0)
		w.del(a, P+"/missing/x", -1)

		// A sequential node watched before it exists.
		q := P + "/q"
		w.create(a, q, nil, 0)
		w.existsW(b, q+"/s-0000000000")
		w.existsW(b, q+"/s-0000000001")
		w.childrenW(b, q)
		w.create(a, q+"/s-", nil, 2)

		// An ephemeral node's child watch fires on its deletion.
		e := P + "/e"
		w.create(a, e, []byte("e"), 1)
		w.childrenW(b, e)
		w.getW(b, e)
		w.del(a, e, 0)

		// Containers and TTL nodes fire like any node.
		c := P + "/cont"
		w.create(a, c, nil, 4)
		w.childrenW(b, c)
		w.existsW(b, c)
		w.create(a, c+"/x", nil, 0)
		w.del(a, c+"/x", -1)
		w.del(a, c, -1)
		tn := P + "/ttl"
		w.existsW(b, tn)
		w.createTTL(a, tn, time.Hour)
		w.getW(b, tn)
		w.set(a, tn, []byte("t"), -1)

		// Finally P's data: B's getData and exists watches on P, set at the
		// start, are still there.
		w.set(a, P, []byte("p2"), -1)
		w.stat(a, P)
	})
}

// Watch scenario 2: a multi fires its ops' events in op order, one-shot
// watches once; a failed multi fires nothing.
func TestConformanceWatchMulti(t *testing.T) {
	confWatchScenario(t, confSharedServer, func(w *confWatchRun) {
		a, b, c := w.session("A"), w.session("B"), w.session("C")
		P := w.prefix
		create, set, del := confMCreate, confMSet, confMDel
		w.create(a, P, nil, 0)
		w.create(a, P+"/x", []byte("x"), 0)
		w.create(a, P+"/d", nil, 0)
		w.create(a, P+"/d/c", nil, 0)

		w.existsW(b, P+"/m1")
		w.existsW(b, P+"/m2")
		w.childrenW(b, P)
		w.getW(b, P)
		w.getW(b, P+"/x")
		w.childrenW(b, P+"/d")
		w.getW(b, P+"/d")
		w.getW(b, P+"/d/c")
		w.existsW(c, P+"/m2")
		w.getW(c, P+"/d")

		// Failed multis: nothing.
		w.multi(a, create(P+"/m1", nil, 0), set(P+"/x", []byte("y"), -1), del(P+"/nothing", -1))
		w.multi(a, del(P+"/d/c", -1), del(P+"/d", -1), create(P+"/x", nil, 0))

		w.multi(a,
			create(P+"/m1", []byte("1"), 0),
			set(P+"/x", []byte("y"), -1),
			create(P+"/m2", nil, 0),
			set(P+"/m2", []byte("2"), -1),
			del(P+"/m2", -1),
			set(P, []byte("p"), -1),
			del(P+"/d/c", -1),
			del(P+"/d", -1),
		)
		w.stat(a, P)

		// Delete and recreate in one multi: the watches fire on the delete.
		w.getW(b, P+"/x")
		w.existsW(b, P+"/x")
		w.childrenW(b, P)
		w.existsW(c, P+"/x")
		w.multi(a, del(P+"/x", -1), create(P+"/x", []byte("new"), 0), set(P+"/x", []byte("newer"), -1))

		// Create then delete a watched missing node in one multi.
		w.existsW(b, P+"/tmp")
		w.childrenW(c, P)
		w.multi(a, create(P+"/tmp", nil, 0), del(P+"/tmp", -1))
		w.stat(a, P)
	})
}

// Watch scenario 3: getData and getChildren set no watch when they fail
// with NoNode.
func TestConformanceWatchNotSet(t *testing.T) {
	confWatchScenario(t, confSharedServer, func(w *confWatchRun) {
		a, b := w.session("A"), w.session("B")
		P := w.prefix
		w.create(a, P, nil, 0)

		w.getW(b, P+"/g")
		w.childrenW(b, P+"/c")
		w.getW(b, P+"/missing/g")
		w.childrenW(b, P+"/missing/c")
		w.create(a, P+"/g", nil, 0)
		w.create(a, P+"/c", nil, 0)
		w.set(a, P+"/g", []byte("g"), -1)
		w.create(a, P+"/c/x", nil, 0)
		w.del(a, P+"/c/x", -1)
		w.del(a, P+"/g", -1)
		w.del(a, P+"/c", -1)
		w.create(a, P+"/missing", nil, 0)
		w.create(a, P+"/missing/g", nil, 0)
		w.create(a, P+"/missing/c", nil, 0)

	})
}

// Watch scenario 3b: permissions. getData and getChildren need READ to set
// a watch; exists needs none. Since CVE-2024-23944 (ZOOKEEPER-4799: 3.8.4,
// 3.9.2, and Debian's 3.8.0-11+deb12u2, the server these tests start) the
// server also checks READ when a watch fires: WatchManager.triggerWatch
// removes the one-shot watches first, then NIOServerCnxn.process(event,
// acl) sends the notification only if the connection has READ in the ACL
// of the event's node (the parent's for NodeChildrenChanged). A watcher
// without READ at that moment loses its watch and is told nothing.
func TestConformanceWatchACL(t *testing.T) {
	confWatchScenario(t, confSharedServer, func(w *confWatchRun) {
		a, b, c, d := w.session("A"), w.session("B"), w.session("C"), w.session("D")
		P := w.prefix
		noRead := confWorldACL(zk.PermWrite | zk.PermCreate | zk.PermDelete | zk.PermAdmin)
		w.create(a, P, nil, 0)

		// A watch whose notification the server suppressed stays in the
		// client's own table (go-zk's, like the Java client's), so the next
		// notification for that path and kind would fire it too. To compare
		// only what the server sends, no session watches a path again after
		// one of its watches there was suppressed.

		// No READ: getData and getChildren fail and set nothing; exists
		// sets a watch, but its event is not sent.
		wo := P + "/wo"
		w.createACL(a, wo, []byte("w"), 0, noRead)
		w.getW(b, wo)
		w.childrenW(b, wo)
		w.create(a, wo+"/k", nil, 0)
		w.del(a, wo+"/k", -1)
		w.existsW(b, wo)
		w.set(a, wo, []byte("w2"), -1)
		// The watch was used up: once READ is granted, the next change
		// fires nothing.
		w.setACL(a, wo, confOpenACL, -1)
		w.set(a, wo, []byte("w3"), -1)

		// READ taken away after the watches were set.
		w.getW(c, wo)
		w.childrenW(c, wo)
		w.setACL(a, wo, noRead, -1)
		w.create(a, wo+"/c", nil, 0) // NodeChildrenChanged: wo's ACL decides
		w.set(a, wo, []byte("w4"), -1)
		w.existsW(c, wo+"/c")
		w.del(a, wo+"/c", -1) // NodeDeleted: c's ACL (open) decides
		w.existsW(d, wo)
		w.del(a, wo, -1)

		// An exists watch on a missing node that is created without READ;
		// the parent's child watch still fires.
		w.existsW(b, P+"/hidden")
		w.childrenW(b, P)
		w.createACL(a, P+"/hidden", nil, 0, noRead)
		w.existsW(d, P+"/hidden")
		w.del(a, P+"/hidden", -1)
		w.stat(a, P)
	})
}

// Watch scenario 4: a closing session's ephemerals fire other sessions'
// watches.
func TestConformanceWatchSessionClose(t *testing.T) {
	confWatchScenario(t, confSharedServer, func(w *confWatchRun) {
		a, b, c := w.session("A"), w.session("B"), w.session("C")
		P := w.prefix
		w.create(a, P, nil, 0)
		w.create(a, P+"/sub", nil, 0)
		w.create(a, P+"/pers", nil, 0)
		w.create(b, P+"/e1", []byte("1"), 1)
		w.create(b, P+"/sub/e2", nil, 1)
		e3 := w.create(b, P+"/e3-", nil, 3)
		w.create(b, P+"/pb", nil, 0) // B's persistent node stays

		w.getW(a, P+"/e1")
		w.childrenW(a, P+"/e1")
		w.existsW(a, P+"/sub/e2")
		w.childrenW(a, P)
		w.childrenW(a, P+"/sub")
		w.getW(a, P+"/pb")
		w.getW(c, e3)
		w.existsW(c, P+"/e1")
		w.getW(c, P+"/sub")
		w.closeSession(b, true)
		w.stat(a, P)
		w.stat(a, P+"/sub")
		w.children(a, P)

		// One ephemeral: the exact order, NodeDeleted then the parent's
		// NodeChildrenChanged.
		w.create(c, P+"/ec", nil, 1)
		w.existsW(a, P+"/ec")
		w.childrenW(a, P)
		w.closeSession(c, false)
		w.stat(a, P)
	})
}

// Watch scenario 4b: a closing session's own watches on its own
// ephemerals. ZooKeeper applies the closeSession txn while the connection
// still holds its watches, so (per SEMANTICS.md §8.5, events before the
// reply) the closing client may be sent NodeDeleted for its own watched
// ephemerals before the close reply.
func TestConformanceWatchSessionCloseOwn(t *testing.T) {
	confWatchScenario(t, confSharedServer, func(w *confWatchRun) {
		a, b := w.session("A"), w.session("B")
		P := w.prefix
		w.create(a, P, nil, 0)
		w.create(b, P+"/e", nil, 1)
		w.getW(b, P+"/e")
		w.childrenW(b, P)
		w.getW(a, P+"/e")
		w.closeSession(b, false)
		w.stat(a, P)
	})
}

// Watch scenario 5: container and TTL reaping fire NodeDeleted and the
// parent's NodeChildrenChanged.
func TestConformanceWatchReaping(t *testing.T) {
	confWatchScenario(t, confReapingServer, func(w *confWatchRun) {
		a, b := w.session("A"), w.session("B")
		P := "/wreap"
		w.create(a, P, nil, 0)
		w.create(a, P+"/c", nil, 4)
		w.create(a, P+"/c/x", nil, 0)
		w.create(a, P+"/never", nil, 4) // never had a child: kept
		w.getW(b, P+"/c")
		w.childrenW(b, P+"/c")
		w.childrenW(b, P)
		w.existsW(a, P+"/never")
		w.delThenReap(a, P+"/c/x", -1, 200*time.Millisecond, P+"/c")
		w.stat(a, P)

		w.createTTL(a, P+"/t", confMs(200))
		w.getW(b, P+"/t")
		w.childrenW(b, P)
		w.existsW(a, P+"/t")
		w.reap(600*time.Millisecond, P+"/t")
		w.stat(a, P)
		w.children(a, P)
	})
}
