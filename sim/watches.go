package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// watchKind is what set a one-shot watch: getData, exists or
// getChildren.
type watchKind int

const (
	dataWatch watchKind = iota
	existWatch
	childWatch
	persistentWatch // addWatch PERSISTENT: stays, every change of the node
	recursiveWatch  // addWatch PERSISTENT_RECURSIVE: stays, the subtree but child lists
)

func (k watchKind) String() string {
	return [...]string{"getData", "exists", "getChildren", "persistent", "recursive"}[k]
}

// oneShot reports whether a watch of kind ends with its first event.
func (k watchKind) oneShot() bool { return k <= childWatch }

// pending is a one-shot watch the model expects to be set.
type pending struct {
	kind watchKind
	path string
	ch   <-chan zkembed.Event
}

// change is one event a successful write makes: its type and path.
type change struct {
	typ  znode.EventType
	path string
}

// changes returns the events the successful write op makes, created being
// the path it made.
func changes(op Op, created string) []change {
	switch op.Kind {
	case "create":
		return []change{{znode.EventNodeCreated, created}, {znode.EventNodeChildrenChanged, parent(created)}}
	case "delete":
		return deleted(op.Path)
	case "set":
		return []change{{znode.EventNodeDataChanged, op.Path}}
	}
	return nil // setACL and check fire nothing
}

func deleted(path string) []change {
	return []change{{znode.EventNodeDeleted, path}, {znode.EventNodeChildrenChanged, parent(path)}}
}

// fires reports whether c triggers a watch of kind on path (ZooKeeper's
// rules: data watches see data changes and deletion, exists watches also
// creation, child watches child changes and deletion).
func fires(kind watchKind, path string, c change) bool {
	if kind == recursiveWatch {
		under := c.path == path || path == "/" || strings.HasPrefix(c.path, path+"/")
		return under && c.typ != znode.EventNodeChildrenChanged
	}
	if c.path != path {
		return false
	}
	if kind == persistentWatch {
		return true
	}
	switch c.typ {
	case znode.EventNodeCreated:
		return kind == existWatch
	case znode.EventNodeDataChanged:
		return kind == dataWatch || kind == existWatch
	case znode.EventNodeDeleted:
		return true
	case znode.EventNodeChildrenChanged:
		return kind == childWatch
	}
	return false
}

// setWatch sets a random one-shot watch for session si and checks what the
// read returned.
func (r *run) setWatch(ctx context.Context, si int, s *zkembed.Session) error {
	path := opPaths[r.rng.IntN(len(opPaths))]
	kind := watchKind(r.rng.IntN(3))
	if r.rng.IntN(6) == 0 {
		return r.addWatch(ctx, si, s)
	}
	r.where = fmt.Sprintf("%s watch %s", kind, path)
	r.res.Watches++
	data, want, ok := r.m.Node(path)
	var ch <-chan zkembed.Event
	var err error
	switch kind {
	case dataWatch:
		var got []byte
		var st zkembed.Stat
		got, st, ch, err = s.GetW(ctx, path)
		if err == nil && (!ok || st != want || string(got) != string(data)) {
			return r.violation("getW: %q %+v, model %v %q %+v", got, st, ok, data, want)
		}
	case existWatch:
		var exists bool
		var st zkembed.Stat
		exists, st, ch, err = s.ExistsW(ctx, path)
		if err == nil && (exists != ok || st != want) {
			return r.violation("existsW: %v %+v, model %v %+v", exists, st, ok, want)
		}
	case childWatch:
		var kids []string
		kids, _, ch, err = s.ChildrenW(ctx, path)
		if err == nil && (!ok || len(kids) != int(want.NumChildren)) {
			return r.violation("childrenW: %v, model %v %d children", kids, ok, want.NumChildren)
		}
	}
	switch {
	case err == nil:
	case !ok && kind != existWatch && errors.Is(err, zkembed.ErrNoNode):
		r.log("s%d %s -> none", si, r.where)
		return nil // a failed read sets no watch
	default:
		return r.violation("%v (model: exists=%v)", err, ok)
	}
	r.watches[s.ID()] = append(r.watches[s.ID()], pending{kind, path, ch})
	r.log("s%d %s -> set", si, r.where)
	return nil
}

// deliver checks every live session's watches and event stream after the
// changes cs, in order. A one-shot watch the first matching change fires
// has exactly that event and is then closed; a persistent watch has one
// event per matching change; the session's stream has one event per
// change that fires any of its watches; and nothing else arrives. A read
// by each session comes first: a session has an event before any reply
// that could show its change.
func (r *run) deliver(ctx context.Context, cs []change) error {
	for _, s := range r.live {
		ws := r.watches[s.ID()]
		if _, _, err := s.Exists(ctx, "/"); err != nil {
			return r.violation("exists /: %v", err)
		}
		perWatch, fired, stream := route(ws, cs)
		var keep []pending
		for i, w := range ws {
			for _, c := range perWatch[i] {
				if err := r.next(s, w.kind.String()+" watch on "+w.path, w.ch, c.typ, c.path, znode.StateSyncConnected); err != nil {
					return err
				}
			}
			if fired[i] {
				if err := r.closed(s, w.kind.String()+" watch on "+w.path, w.ch); err != nil {
					return err
				}
				continue
			}
			if err := r.nothing(s, w.kind.String()+" watch on "+w.path, w.ch); err != nil {
				return err
			}
			keep = append(keep, w)
		}
		r.watches[s.ID()] = keep
		for _, c := range stream {
			if err := r.next(s, "stream", r.streams[s.ID()], c.typ, c.path, znode.StateSyncConnected); err != nil {
				return err
			}
		}
		if err := r.nothing(s, "stream", r.streams[s.ID()]); err != nil {
			return err
		}
	}
	return nil
}

// route applies the changes cs, in order, to the watches ws: the changes
// each watch receives, whether it ended (a one-shot watch that fired), and
// the changes the session's stream receives, one per change that fires
// any of the watches still open when it happens.
func route(ws []pending, cs []change) (perWatch [][]change, fired []bool, stream []change) {
	perWatch, fired = make([][]change, len(ws)), make([]bool, len(ws))
	for _, c := range cs {
		any := false
		for i, w := range ws {
			if fired[i] || !fires(w.kind, w.path, c) {
				continue
			}
			any = true
			perWatch[i] = append(perWatch[i], c)
			fired[i] = w.kind.oneShot()
		}
		if any {
			stream = append(stream, c)
		}
	}
	return perWatch, fired, stream
}

// addWatch sets a persistent watch, recursive or not, for session si.
func (r *run) addWatch(ctx context.Context, si int, s *zkembed.Session) error {
	path := opPaths[r.rng.IntN(len(opPaths))]
	kind := persistentWatch + watchKind(r.rng.IntN(2))
	r.where = fmt.Sprintf("%s watch %s", kind, path)
	r.res.Watches++
	w, err := s.AddWatch(ctx, path, kind == recursiveWatch)
	if err != nil {
		return r.violation("addWatch: %v", err)
	}
	r.watches[s.ID()] = append(r.watches[s.ID()], pending{kind, path, w.Events()})
	r.log("s%d %s -> set", si, r.where)
	return nil
}

// next checks that ch's next event is typ on path in state.
func (r *run) next(s *zkembed.Session, what string, ch <-chan zkembed.Event, typ znode.EventType, path string, state znode.State) error {
	r.res.Events++
	select {
	case ev, ok := <-ch:
		if !ok || ev.Type != typ || ev.State != state || (typ != znode.EventNone && ev.Path != path) {
			return r.violation("%s of %#x: got %v (open=%v), want %v %s %v", what, s.ID(), ev, ok, typ, path, state)
		}
		fmt.Fprintf(&r.hist, "  event %#x %s: %v %v zxid=%#x\n", s.ID(), what, ev.Type, ev.State, uint64(ev.Zxid))
	default:
		return r.violation("%s of %#x: no %v %s event", what, s.ID(), typ, path)
	}
	return nil
}

// nothing checks that ch has no event now.
func (r *run) nothing(s *zkembed.Session, what string, ch <-chan zkembed.Event) error {
	select {
	case ev, ok := <-ch:
		return r.violation("%s of %#x: unexpected %v (open=%v)", what, s.ID(), ev, ok)
	default:
	}
	return nil
}

// closed checks that ch is closed, with no event left.
func (r *run) closed(s *zkembed.Session, what string, ch <-chan zkembed.Event) error {
	select {
	case ev, ok := <-ch:
		if ok {
			return r.violation("%s of %#x: %v after its last event", what, s.ID(), ev)
		}
	default:
		return r.violation("%s of %#x: not closed after its last event", what, s.ID())
	}
	return nil
}

// ended checks a session that ended with the changes cs (the deletion of
// its ephemerals): as ZooKeeper serves the close, the session's own
// watches those deletions fire get their events first (and its stream
// with them); then every watch that is still open, and the stream, end
// with an EventNone in state and close.
func (r *run) ended(s *zkembed.Session, cs []change, state znode.State) error {
	ws := r.watches[s.ID()]
	perWatch, fired, stream := route(ws, cs)
	for i, w := range ws {
		what := w.kind.String() + " watch on " + w.path
		for _, c := range perWatch[i] {
			if err := r.next(s, what, w.ch, c.typ, c.path, znode.StateSyncConnected); err != nil {
				return err
			}
		}
		if !fired[i] {
			if err := r.next(s, what, w.ch, znode.EventNone, "", state); err != nil {
				return err
			}
		}
		if err := r.closed(s, what, w.ch); err != nil {
			return err
		}
	}
	ch := r.streams[s.ID()]
	for _, c := range stream {
		if err := r.next(s, "stream", ch, c.typ, c.path, znode.StateSyncConnected); err != nil {
			return err
		}
	}
	if err := r.next(s, "stream", ch, znode.EventNone, "", state); err != nil {
		return err
	}
	if err := r.closed(s, "stream", ch); err != nil {
		return err
	}
	delete(r.watches, s.ID())
	delete(r.streams, s.ID())
	return nil
}
