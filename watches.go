package zkembed

import (
	"context"

	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/watch"
	"github.com/zkembed/zkembed/znode"
)

// Watches: how events stay ordered with replies and reads.
//
// Applying a record emits its events (tree.Apply, in ZooKeeper's order; a
// closeSession first notes the end of the session's own watches), which
// wait in db.mu.events beside the record. They are dispatched to the watch
// registry when the record becomes visible, never earlier: with a log, by
// the sync leader after the batch is durable; without one, before the
// write returns. Dispatch and the store of the new read root happen under
// watchMu, and so does every read that registers a watch (load the root,
// read, register). A registering read therefore either sees a root without
// the change and is registered before the change's events are dispatched,
// or sees the change and is registered after: no change slips between the
// read and its watch. And since events are dispatched before the root that
// shows the change is published, and before any reply, a session has every
// event before it can observe the change.
//
// Without a log, a write whose events nobody can want is not made to
// publish: after marking the root stale, the writer drops its events if no
// watch exists and no registration is under way. A registration counts
// itself (registering) before it loads the root, so either the writer sees
// it and keeps its events, or the registration sees the stale root and
// publishes the write first.
//
// Lock order: watchMu, then db.mu, then sync.mu.
//
// Checked against a real server (conformance_watch_test.go): which one-shot
// watches each write fires, the per-connection notification stream, the
// READ check on delivery, and a closing session's events of its own close.
// zkembed's own choices, not ZooKeeper rules (ZooKeeper's client decides
// these, or go-zk cannot send the request):
//   - the end of a session ends every watch and the stream with an EventNone
//     event in StateClosed or StateExpired, then closes the channels;
//   - RemoveWatches removes by mode, as 3.9 does (ZOOKEEPER-4472): Data or
//     Children never touches a persistent watch (3.8.0's server would leave
//     a half-watch), and Persistent and PersistentRecursive are accepted;
//   - AddWatch and RemoveWatches validate the path, as the Java client does
//     before sending;
//   - the READ check on delivery applies to persistent and recursive
//     watches with the ACL of the event's node, as the server's check for
//     every notification does (compared only for one-shot watches).

// Event is a watch notification; see znode.Event.
type Event = znode.Event

// State is a session state in an Event; see znode.State.
type State = znode.State

// The session states an embedded session's events carry.
const (
	StateSyncConnected = znode.StateSyncConnected
	StateExpired       = znode.StateExpired
	StateClosed        = znode.StateClosed
)

// The watch event types.
const (
	EventNone                   = znode.EventNone
	EventNodeCreated            = znode.EventNodeCreated
	EventNodeDeleted            = znode.EventNodeDeleted
	EventNodeDataChanged        = znode.EventNodeDataChanged
	EventNodeChildrenChanged    = znode.EventNodeChildrenChanged
	EventDataWatchRemoved       = znode.EventDataWatchRemoved
	EventChildWatchRemoved      = znode.EventChildWatchRemoved
	EventPersistentWatchRemoved = znode.EventPersistentWatchRemoved
)

// WatcherType selects the watches RemoveWatches removes, with ZooKeeper's
// numbers.
type WatcherType = watch.RemoveKind

// The watcher types. Persistent and PersistentRecursive are ZooKeeper
// 3.9's; in 3.8 only Any removes persistent watches.
const (
	WatcherTypeChildren            = watch.RemoveChildren
	WatcherTypeData                = watch.RemoveData
	WatcherTypeAny                 = watch.RemoveAny
	WatcherTypePersistent          = watch.RemovePersistent
	WatcherTypePersistentRecursive = watch.RemovePersistentRecursive
)

// ErrWatchOverflow is the Err of the last event of a persistent watch or
// session stream whose consumer fell more than Options.WatchBacklog events
// behind. Every event before it was delivered; the watch is gone.
var ErrWatchOverflow = watch.ErrOverflow

// notice is an entry of db.mu.events: a change to dispatch, with the ACL
// of its node, or (end set) the end of a session's watches.
type notice struct {
	ev    znode.Event
	acl   []znode.ACL
	end   int64 // session whose watches end, with state
	state znode.State
}

// emitLocked is tree.Apply's event callback. REQUIRES: db.mu held.
func (db *DB) emitLocked(e znode.Event, acl []znode.ACL) {
	db.mu.events = append(db.mu.events, notice{ev: e, acl: acl})
}

// watchInterest reports whether a dispatched event could reach anyone.
func (db *DB) watchInterest() bool {
	return db.registering.Load() > 0 || db.watching.Load()
}

// dispatchLocked hands events to the registry, in order.
// REQUIRES: watchMu held.
func (db *DB) dispatchLocked(events []notice) {
	if len(events) == 0 {
		return
	}
	r := db.watches
	for i := range events {
		n := &events[i]
		if n.end != 0 {
			r.EndSession(n.end, n.state)
			delete(db.watchers, n.end)
			delete(db.sinks, n.end)
			continue
		}
		if (*acl.Identity)(nil).Allowed(n.acl, znode.PermRead) {
			r.Trigger(n.ev, nil) // anyone may read: the common case
			continue
		}
		r.Trigger(n.ev, func(session int64) bool {
			st := db.watchers[session]
			return st != nil && st.who.Load().Allowed(n.acl, znode.PermRead)
		})
	}
	db.watching.Store(r.Active())
	if !r.Active() {
		clear(db.watchers)
	}
}

// forgetWatcherLocked drops session from db.watchers once it has no
// watches or stream left, and updates watching. REQUIRES: watchMu held.
func (db *DB) forgetWatcherLocked(session int64) {
	if !db.watches.HasSession(session) {
		delete(db.watchers, session)
	}
	db.watching.Store(db.watches.Active())
}

// flushEvents makes the working tree visible and dispatches its events,
// if any wait. Without a log it runs at the end of every write, so a
// write's events precede its reply.
func (db *DB) flushEvents() {
	if !db.eventsWaiting.Load() {
		return
	}
	db.watchMu.Lock()
	db.mu.Lock()
	if db.stale.Load() {
		if db.wantedLocked(db.mu.events) {
			db.publishLocked()
		} else {
			// No watch wants them, and a watch registered later reads a
			// root that has these changes (it publishes the stale tree
			// first): publishing can wait for a reader.
			db.dropEventsLocked()
		}
	}
	db.mu.Unlock()
	db.watchMu.Unlock()
}

// wantedLocked reports whether any of events would reach a watch or a
// stream. REQUIRES: watchMu held.
func (db *DB) wantedLocked(events []notice) bool {
	for i := range events {
		if n := &events[i]; n.end != 0 && db.watches.HasSession(n.end) || n.end == 0 && db.watches.Wants(n.ev) {
			return true
		}
	}
	return false
}

// registerWatch runs read on the current read root and, if it succeeds,
// registers a watch of kind on path for the session, atomically with the
// read (see the top of this file).
func (s *Session) registerWatch(ctx context.Context, op, path string, kind watch.Kind, read func(t *tree.Tree) error) (*watch.Watch, error) {
	session, err := s.begin(ctx, op, path)
	if err != nil {
		return nil, err
	}
	db := s.db
	db.registering.Add(1)
	defer db.registering.Add(-1)
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if err := s.stillOpen(op, path); err != nil {
		return nil, err
	}
	if err := s.movedAway(op, path); err != nil {
		return nil, err
	}
	root := db.rootForWatchLocked()
	if err := read(root); err != nil {
		return nil, err
	}
	var w *watch.Watch
	if s.wire {
		w = db.watches.AddSilent(session, path, kind)
		if s.watchSet != nil {
			s.watchSet(root.Zxid())
		}
	} else {
		w = db.watches.Add(session, path, kind)
	}
	db.watchers[session] = s.st
	db.watching.Store(true)
	return w, nil
}

// movedAway fails, on a wire handle whose session has moved to another
// connection, with ErrConnectionLoss: the session's watches are the new
// connection's. Callers hold watchMu, under which attachConn drops the
// old connection's watches once moved is set.
func (s *Session) movedAway(op, path string) error {
	if s.moved.Load() {
		return &OpError{Op: op, Path: path, Err: ErrConnectionLoss}
	}
	return nil
}

// stillOpen fails for a session whose close or expiry has begun (or whose
// engine closed). Under watchMu it also means the session's end has not
// been dispatched, so that no watch outlives its session.
func (s *Session) stillOpen(op, path string) error {
	if s.st.closing.Load() {
		if s.db.isClosed() {
			return &OpError{Op: op, Path: path, Err: ErrClosed}
		}
		return &OpError{Op: op, Path: path, Err: ErrSessionExpired}
	}
	if s.st.authFailed.Load() {
		return &OpError{Op: op, Path: path, Err: ErrAuthFailed}
	}
	return nil
}

// rootForWatchLocked is readRoot for a caller holding watchMu.
func (db *DB) rootForWatchLocked() *tree.Tree {
	if db.log != nil {
		db.noteRead()
		return db.showLocked()
	}
	if db.stale.Load() {
		db.mu.Lock()
		if db.stale.Load() {
			db.publishLocked()
		}
		db.mu.Unlock()
	}
	return db.root.Load()
}

// GetW is GetData that also sets a one-shot data watch on the node, which
// fires on NodeDataChanged or NodeDeleted. The channel receives one event
// and is then closed; if the session ends first, it receives an EventNone
// event with StateClosed or StateExpired. A failed read sets no watch.
func (s *Session) GetW(ctx context.Context, path string) ([]byte, Stat, <-chan Event, error) {
	var n *tree.Node
	w, err := s.registerWatch(ctx, "getData", path, watch.Data, func(t *tree.Tree) error {
		var err error
		n, err = checkNode(t, s.who(), path, znode.PermRead)
		if err != nil {
			return &OpError{Op: "getData", Path: path, Err: err}
		}
		return nil
	})
	if err != nil {
		return nil, Stat{}, nil, err
	}
	return n.Data(), n.Stat(), w.C(), nil
}

// ExistsW is Exists that also sets a one-shot watch, whether or not the
// node exists: it fires on NodeCreated, NodeDataChanged or NodeDeleted.
// The channel behaves as GetW's.
func (s *Session) ExistsW(ctx context.Context, path string) (bool, Stat, <-chan Event, error) {
	var n *tree.Node
	w, err := s.registerWatch(ctx, "exists", path, watch.Exist, func(t *tree.Tree) error {
		if err := existsPathCheck(path); err != nil {
			return err
		}
		n = t.Get(path)
		return nil
	})
	if err != nil {
		return false, Stat{}, nil, err
	}
	if n == nil {
		return false, Stat{}, w.C(), nil
	}
	return true, n.Stat(), w.C(), nil
}

// ChildrenW is GetChildren that also sets a one-shot child watch, which
// fires on NodeChildrenChanged or NodeDeleted. The channel behaves as
// GetW's. A failed read sets no watch.
func (s *Session) ChildrenW(ctx context.Context, path string) ([]string, Stat, <-chan Event, error) {
	var names []string
	var st Stat
	w, err := s.registerWatch(ctx, "getChildren", path, watch.Child, func(t *tree.Tree) error {
		n, err := checkNode(t, s.who(), path, znode.PermRead)
		if err != nil {
			return &OpError{Op: "getChildren", Path: path, Err: err}
		}
		names, st = t.ChildNames(n), n.Stat()
		return nil
	})
	if err != nil {
		return nil, Stat{}, nil, err
	}
	return names, st, w.C(), nil
}

// Watch is a persistent watch (AddWatch). It stays until Close, RemoveWatches
// or the end of its session, and survives the deletion of its node.
type Watch struct {
	db *DB
	w  *watch.Watch
}

// AddWatch sets a persistent watch on path, ZooKeeper's addWatch: with
// recursive false (mode PERSISTENT) it receives NodeCreated, NodeDeleted,
// NodeDataChanged and NodeChildrenChanged of path; with recursive true
// (PERSISTENT_RECURSIVE) NodeCreated, NodeDeleted and NodeDataChanged of
// path and every path below it. The node need not exist, and no
// permission is needed. Events queue without bound up to
// Options.WatchBacklog beyond what the consumer has read; see Event.Err.
func (s *Session) AddWatch(ctx context.Context, path string, recursive bool) (*Watch, error) {
	kind := watch.Persistent
	if recursive {
		kind = watch.Recursive
	}
	w, err := s.registerWatch(ctx, "addWatch", path, kind, func(*tree.Tree) error {
		if err := znode.ValidatePath(path); err != nil {
			return &OpError{Op: "addWatch", Path: path, Err: err}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Watch{db: s.db, w: w}, nil
}

// Events returns the watch's events, in zxid order. The channel is closed
// after the watch ends: after a PersistentWatchRemoved event (Close or
// RemoveWatches), an EventNone event (the session ended), or an event whose
// Err is ErrWatchOverflow.
func (w *Watch) Events() <-chan Event { return w.w.C() }

// Path returns the watched path.
func (w *Watch) Path() string { return w.w.Path() }

// Recursive reports whether the watch is recursive.
func (w *Watch) Recursive() bool { return w.w.Kind() == watch.Recursive }

// Close removes the watch. Its channel receives PersistentWatchRemoved
// after any events still queued, and is closed. Closing a watch that has
// already ended does nothing.
func (w *Watch) Close() error {
	w.db.watchMu.Lock()
	defer w.db.watchMu.Unlock()
	w.db.watches.RemoveWatch(w.w)
	w.db.forgetWatcherLocked(w.w.Session())
	return nil
}

// RemoveWatches removes the session's watches on path of the given type
// (ZooKeeper's removeAllWatches): each gets its removal event
// (DataWatchRemoved, ChildWatchRemoved or PersistentWatchRemoved) and its
// channel is closed. It fails with ErrNoWatcher if there was none.
func (s *Session) RemoveWatches(ctx context.Context, path string, kind WatcherType) error {
	session, err := s.begin(ctx, "removeWatches", path)
	if err != nil {
		return err
	}
	if err := znode.ValidatePath(path); err != nil {
		return &OpError{Op: "removeWatches", Path: path, Err: err}
	}
	if kind < WatcherTypeChildren || kind > WatcherTypePersistentRecursive {
		return &OpError{Op: "removeWatches", Path: path, Err: ErrBadArguments}
	}
	db := s.db
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if err := s.movedAway("removeWatches", path); err != nil {
		return err
	}
	n := db.watches.Remove(session, path, kind)
	db.forgetWatcherLocked(session)
	if n == 0 {
		return &OpError{Op: "removeWatches", Path: path, Err: ErrNoWatcher}
	}
	return nil
}

// Events returns the session's notification stream: every watch event the
// session receives from now on, once per change however many of its
// watches it fires (what a ZooKeeper client connection receives), in zxid
// order. When the session ends the stream gets an EventNone event with
// StateClosed or StateExpired and is closed. A consumer more than
// Options.WatchBacklog events behind gets an event with ErrWatchOverflow
// and the stream closes; Events then starts a new one.
func (s *Session) Events() <-chan Event {
	db := s.db
	db.registering.Add(1)
	defer db.registering.Add(-1)
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if s.st.closing.Load() {
		ch := make(chan Event, 1)
		state := State(s.st.endState.Load())
		if db.isClosed() || state == 0 {
			state = StateClosed
		}
		ch <- Event{Type: EventNone, State: state}
		close(ch)
		return ch
	}
	c := db.watches.Stream(s.st.id)
	db.watchers[s.st.id] = s.st
	db.watching.Store(true)
	return c
}

// dropEventsLocked empties db.mu.events, keeping its array.
// REQUIRES: db.mu held.
func (db *DB) dropEventsLocked() {
	clear(db.mu.events)
	db.mu.events = db.mu.events[:0]
	db.eventsWaiting.Store(false)
}
