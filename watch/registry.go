package watch

import (
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// Kind is the kind of a watch.
type Kind uint8

// The watch kinds.
const (
	Data       Kind = iota + 1 // getData's: one-shot, data table
	Exist                      // exists': one-shot, data table (also on a missing node)
	Child                      // getChildren's: one-shot, child table
	Persistent                 // addWatch mode PERSISTENT
	Recursive                  // addWatch mode PERSISTENT_RECURSIVE
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Data:
		return "data"
	case Exist:
		return "exist"
	case Child:
		return "child"
	case Persistent:
		return "persistent"
	case Recursive:
		return "persistentRecursive"
	}
	return "Kind(?)"
}

// fires reports whether a watch of kind k at the event's path fires for an
// event of type t.
func (k Kind) fires(t znode.EventType) bool {
	switch k {
	case Data, Exist:
		return t == znode.EventNodeCreated || t == znode.EventNodeDataChanged || t == znode.EventNodeDeleted
	case Child:
		return t == znode.EventNodeChildrenChanged || t == znode.EventNodeDeleted
	case Persistent:
		return true
	case Recursive:
		return t != znode.EventNodeChildrenChanged
	}
	return false
}

// RemoveKind selects the watches RemoveWatches removes, with ZooKeeper's
// WatcherType numbers.
type RemoveKind int32

// The kinds of removal.
const (
	RemoveChildren            RemoveKind = 1 // one-shot child watches
	RemoveData                RemoveKind = 2 // one-shot data and exists watches
	RemoveAny                 RemoveKind = 3 // every watch, persistent ones included
	RemovePersistent          RemoveKind = 4 // persistent watches (3.9)
	RemovePersistentRecursive RemoveKind = 5 // recursive watches (3.9)
)

func (r RemoveKind) selects(k Kind) bool {
	switch r {
	case RemoveChildren:
		return k == Child
	case RemoveData:
		return k == Data || k == Exist
	case RemoveAny:
		return true
	case RemovePersistent:
		return k == Persistent
	case RemovePersistentRecursive:
		return k == Recursive
	}
	return false
}

// removedEvent is the event a watch of kind k gets when it is removed.
func (k Kind) removedEvent() znode.EventType {
	switch k {
	case Child:
		return znode.EventChildWatchRemoved
	case Persistent, Recursive:
		return znode.EventPersistentWatchRemoved
	}
	return znode.EventDataWatchRemoved
}

// Watch is one registration. A one-shot watch delivers on ch (capacity 1);
// a persistent one through q.
type Watch struct {
	session int64
	path    string
	kind    Kind
	ch      chan znode.Event // one-shot
	q       *Queue           // persistent
	gone    bool             // removed from the registry
	// spent marks a one-shot watch that a change used up without telling
	// its session (which could not read the node): like ZooKeeper's client
	// it waits on, and only the end of its session closes it.
	spent bool
}

// Kind returns the watch's kind.
func (w *Watch) Kind() Kind { return w.kind }

// Path returns the watched path.
func (w *Watch) Path() string { return w.path }

// Session returns the session the watch belongs to.
func (w *Watch) Session() int64 { return w.session }

// C returns the channel the watch delivers on.
func (w *Watch) C() <-chan znode.Event {
	if w.q != nil {
		return w.q.C()
	}
	return w.ch
}

// deliver hands e to the watch; false means a persistent watch's backlog
// is full.
func (w *Watch) deliver(e znode.Event) bool {
	if w.q != nil {
		return w.q.push(e)
	}
	if w.ch == nil {
		return true // silent: its session's stream is its only outlet
	}
	w.ch <- e // capacity 1, and a one-shot watch is delivered to once
	close(w.ch)
	return true
}

// finish ends the watch with e as its last event.
func (w *Watch) finish(e znode.Event) {
	if w.q != nil {
		w.q.end(e)
		return
	}
	if w.ch == nil {
		return
	}
	w.ch <- e
	close(w.ch)
}

// pathWatches are the watches on one path, in registration order.
type pathWatches struct {
	watches   []*Watch
	recursive int // how many of them are Recursive
}

// sessionWatches is one session's part of the registry.
type sessionWatches struct {
	watches map[*Watch]struct{}
	stream  *Queue
	// seen is the trigger sequence number of the last event sent on stream,
	// so that one trigger reaches the stream once.
	seen uint64
}

// Registry holds every watch. It is not safe for concurrent use.
type Registry struct {
	paths     map[string]*pathWatches
	sessions  map[int64]*sessionWatches
	recursive int    // Recursive watches in all
	count     int    // watches in all
	streams   int    // session streams
	seq       uint64 // trigger sequence number

	limit int // backlog limit of each Queue
	stop  <-chan struct{}
	wg    *sync.WaitGroup
}

// NewRegistry returns an empty registry whose queues hold a backlog of at
// most limit events each; see NewQueue for stop and wg.
func NewRegistry(limit int, stop <-chan struct{}, wg *sync.WaitGroup) *Registry {
	return &Registry{paths: map[string]*pathWatches{}, sessions: map[int64]*sessionWatches{}, limit: limit, stop: stop, wg: wg}
}

// Len returns the number of registered watches.
func (r *Registry) Len() int { return r.count }

// Active reports whether anything is registered: a watch or a stream.
func (r *Registry) Active() bool { return r.count > 0 || r.streams > 0 }

func (r *Registry) session(id int64) *sessionWatches {
	sw := r.sessions[id]
	if sw == nil {
		sw = &sessionWatches{watches: map[*Watch]struct{}{}}
		r.sessions[id] = sw
	}
	return sw
}

// Add registers a watch of kind k on path for session and returns it.
func (r *Registry) Add(session int64, path string, k Kind) *Watch {
	w := &Watch{session: session, path: path, kind: k}
	if k == Persistent || k == Recursive {
		w.q = NewQueue(r.limit, r.stop, r.wg)
	} else {
		w.ch = make(chan znode.Event, 1)
	}
	r.insert(w)
	return w
}

// AddSilent registers a watch that has no channel: its events reach only
// its session's stream or sink (a ZooKeeper connection, which receives
// notifications, not per-watch channels). Its C is nil.
func (r *Registry) AddSilent(session int64, path string, k Kind) *Watch {
	w := &Watch{session: session, path: path, kind: k}
	r.insert(w)
	return w
}

// Each calls fn with the session, path and kind of every watch, in no
// particular order (for the four-letter words wchs, wchc and wchp).
func (r *Registry) Each(fn func(session int64, path string, k Kind)) {
	for path, pw := range r.paths {
		for _, w := range pw.watches {
			fn(w.session, path, w.kind)
		}
	}
}

// Has reports whether session has a watch on path that removing watches of
// kind would remove (ZooKeeper's checkWatches).
func (r *Registry) Has(session int64, path string, kind RemoveKind) bool {
	if pw := r.paths[path]; pw != nil {
		for _, w := range pw.watches {
			if w.session == session && kind.selects(w.kind) {
				return true
			}
		}
	}
	return false
}

func (r *Registry) insert(w *Watch) {
	path, k, session := w.path, w.kind, w.session
	pw := r.paths[path]
	if pw == nil {
		pw = &pathWatches{}
		r.paths[path] = pw
	}
	pw.watches = append(pw.watches, w)
	if k == Recursive {
		pw.recursive++
		r.recursive++
	}
	r.session(session).watches[w] = struct{}{}
	r.count++
}

// Stream returns session's stream of notifications, creating it if need
// be. It carries every event from its creation on.
func (r *Registry) Stream(session int64) <-chan znode.Event {
	sw := r.session(session)
	if sw.stream == nil {
		sw.stream = NewQueue(r.limit, r.stop, r.wg)
		r.streams++
	}
	return sw.stream.C()
}

// Notify sends e to session's stream or sink, as a trigger would: for the
// events ZooKeeper fires at once when a reconnecting client sets watches
// on nodes that changed meanwhile.
func (r *Registry) Notify(session int64, e znode.Event) {
	r.seq++
	r.notify(session, e)
}

// Sink makes fn session's stream: every notification the stream would
// carry, its final event included, is handed to fn, in order, under the
// caller's lock (fn must not block; false means the consumer fell behind,
// and ends the stream as an overflow would). A sink replaces any stream or
// sink the session had; a nil fn removes it without a final event, as when
// a ZooKeeper connection goes away while its session lives on.
func (r *Registry) Sink(session int64, fn func(znode.Event) bool) {
	sw := r.session(session)
	if sw.stream != nil {
		sw.stream = nil
		r.streams--
	}
	if fn != nil {
		sw.stream = &Queue{sink: fn}
		r.streams++
	} else if len(sw.watches) == 0 {
		delete(r.sessions, session)
	}
}

// DropSession removes every watch of session without telling anyone (a
// connection closed: ZooKeeper forgets its watches, and the client sets
// them again on its next connection). The stream or sink stays.
func (r *Registry) DropSession(session int64) {
	sw := r.sessions[session]
	if sw == nil {
		return
	}
	paths := map[string]struct{}{}
	for w := range sw.watches {
		if w.spent {
			delete(sw.watches, w)
			continue
		}
		paths[w.path] = struct{}{}
	}
	for p := range paths {
		pw := r.paths[p]
		if pw == nil {
			continue
		}
		kept := pw.watches[:0]
		for _, w := range pw.watches {
			if w.session != session {
				kept = append(kept, w)
				continue
			}
			r.forget(w)
		}
		r.setWatches(p, pw, kept)
	}
}

// Trigger delivers e (a change: NodeCreated, NodeDeleted, NodeDataChanged
// or NodeChildrenChanged) to every watch it fires: one-shot watches on its
// path, which are removed; persistent watches on its path; recursive
// watches on its path and its ancestors. Each session's stream gets e once
// if any of its watches fired.
//
// allowed (nil allows all) says whether a session may see the change
// (ZooKeeper checks READ on the node before it sends a notification, the
// fix for CVE-2024-23944). A session that may not gets nothing, and its
// one-shot watches that fired are used up all the same.
func (r *Registry) Trigger(e znode.Event, allowed func(session int64) bool) {
	if r.count == 0 {
		return
	}
	e.State = znode.StateSyncConnected
	r.seq++
	may := func(session int64) bool { return allowed == nil || allowed(session) }
	if pw := r.paths[e.Path]; pw != nil {
		kept := pw.watches[:0]
		for _, w := range pw.watches {
			if !w.kind.fires(e.Type) {
				kept = append(kept, w)
				continue
			}
			ok := may(w.session)
			if w.kind != Persistent && w.kind != Recursive {
				// one-shot (a silent persistent watch has no q either)
				if ok {
					r.notify(w.session, e)
					w.deliver(e)
					r.forget(w)
				} else {
					r.spend(w)
				}
				continue
			}
			if !ok || r.push(w, e) {
				kept = append(kept, w)
			}
		}
		r.setWatches(e.Path, pw, kept)
	}
	if r.recursive == 0 || e.Type == znode.EventNodeChildrenChanged {
		return
	}
	for p := e.Path; len(p) > 1 && p[0] == '/'; {
		p, _ = znode.Split(p)
		pw := r.paths[p]
		if pw == nil || pw.recursive == 0 {
			continue
		}
		kept := pw.watches[:0]
		for _, w := range pw.watches {
			if w.kind != Recursive || !may(w.session) || r.push(w, e) {
				kept = append(kept, w)
			}
		}
		r.setWatches(p, pw, kept)
	}
}

// push delivers e to persistent watch w and its session's stream; false
// means w overflowed and is gone (the caller drops it from its path).
func (r *Registry) push(w *Watch, e znode.Event) bool {
	r.notify(w.session, e)
	if !w.deliver(e) {
		r.overflow(w)
		return false
	}
	return true
}

// notify sends e on the session's stream, once per trigger.
func (r *Registry) notify(session int64, e znode.Event) {
	sw := r.sessions[session]
	if sw == nil || sw.stream == nil || sw.seen == r.seq {
		return
	}
	sw.seen = r.seq
	if !sw.stream.push(e) {
		sw.stream.end(znode.Event{Type: znode.EventNone, State: znode.StateSyncConnected, Err: ErrOverflow})
		sw.stream = nil
		r.streams--
	}
}

// overflow ends and removes a persistent watch whose backlog is full.
// The caller drops it from its path's list.
func (r *Registry) overflow(w *Watch) {
	w.q.end(znode.Event{Type: znode.EventNone, State: znode.StateSyncConnected, Path: w.path, Err: ErrOverflow})
	r.forget(w)
}

// forget removes w from its session and the counts; the caller removes it
// from its path's list.
func (r *Registry) forget(w *Watch) {
	w.gone = true
	r.count--
	if w.kind == Recursive {
		r.paths[w.path].recursive--
		r.recursive--
	}
	if sw := r.sessions[w.session]; sw != nil {
		delete(sw.watches, w)
		if len(sw.watches) == 0 && sw.stream == nil {
			delete(r.sessions, w.session)
		}
	}
}

// spend removes a one-shot watch from its path and the counts but keeps it
// in its session, so that the session's end closes its channel; the
// caller drops it from its path's list.
func (r *Registry) spend(w *Watch) {
	w.gone, w.spent = true, true
	r.count--
}

// setWatches stores a path's remaining watches, dropping the entry when
// none remain.
func (r *Registry) setWatches(path string, pw *pathWatches, kept []*Watch) {
	clear(pw.watches[len(kept):])
	pw.watches = kept
	if len(kept) == 0 {
		delete(r.paths, path)
	}
}

// Wants reports whether Trigger(e) would deliver to any watch.
func (r *Registry) Wants(e znode.Event) bool {
	if r.count == 0 {
		return false
	}
	if pw := r.paths[e.Path]; pw != nil {
		for _, w := range pw.watches {
			if w.kind.fires(e.Type) {
				return true
			}
		}
	}
	if r.recursive == 0 || e.Type == znode.EventNodeChildrenChanged {
		return false
	}
	for p := e.Path; len(p) > 1 && p[0] == '/'; {
		p, _ = znode.Split(p)
		if pw := r.paths[p]; pw != nil && pw.recursive > 0 {
			return true
		}
	}
	return false
}

// HasSession reports whether session has watches or a stream.
func (r *Registry) HasSession(session int64) bool { return r.sessions[session] != nil }

// Remove removes session's watches on path that kind selects, delivering
// to each its removal event (DataWatchRemoved, ChildWatchRemoved or
// PersistentWatchRemoved) and closing its channel. It returns how many it
// removed; ZooKeeper answers NoWatcher for none.
func (r *Registry) Remove(session int64, path string, kind RemoveKind) int {
	return r.removeIf(path, func(w *Watch) bool { return w.session == session && kind.selects(w.kind) }, removed)
}

// RemoveWatch removes one watch (a persistent watch's Close). It reports
// whether the watch was still registered.
func (r *Registry) RemoveWatch(w *Watch) bool {
	if w.gone {
		return false
	}
	return r.removeIf(w.path, func(x *Watch) bool { return x == w }, removed) == 1
}

// removed is the last event of a watch that RemoveWatches or Close removed.
func removed(w *Watch) znode.Event {
	return znode.Event{Type: w.kind.removedEvent(), State: znode.StateSyncConnected, Path: w.path}
}

// removeIf removes the watches on path that match, ending each with the
// event final gives it, and returns how many it removed.
func (r *Registry) removeIf(path string, match func(*Watch) bool, final func(*Watch) znode.Event) int {
	pw := r.paths[path]
	if pw == nil {
		return 0
	}
	n := 0
	kept := pw.watches[:0]
	for _, w := range pw.watches {
		if !match(w) {
			kept = append(kept, w)
			continue
		}
		w.finish(final(w))
		r.forget(w)
		n++
	}
	r.setWatches(path, pw, kept)
	return n
}

// EndSession removes every watch of session and ends its stream, each
// with an EventNone event in state (StateExpired or StateClosed).
func (r *Registry) EndSession(session int64, state znode.State) {
	sw := r.sessions[session]
	if sw == nil {
		return
	}
	end := znode.Event{Type: znode.EventNone, State: state}
	paths := map[string]struct{}{}
	for w := range sw.watches {
		if w.spent {
			w.finish(end)
			delete(sw.watches, w)
			continue
		}
		paths[w.path] = struct{}{}
	}
	for p := range paths {
		r.removeIf(p, func(w *Watch) bool { return w.session == session }, func(*Watch) znode.Event { return end })
	}
	if sw.stream != nil {
		sw.stream.end(end)
		r.streams--
	}
	delete(r.sessions, session)
}

// Sessions returns the ids of the sessions that have watches or a stream.
func (r *Registry) Sessions() []int64 {
	ids := make([]int64, 0, len(r.sessions))
	for id := range r.sessions {
		ids = append(ids, id)
	}
	return ids
}
