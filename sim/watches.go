package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
)

func (k watchKind) String() string { return [...]string{"getData", "exists", "getChildren"}[k] }

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
	if c.path != path {
		return false
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

// deliver checks every live session's watches after the changes cs: a
// watch the first matching change fires has exactly that event and is
// then closed; any other watch has nothing. A read by each session comes
// first: a session has an event before any reply that could show its
// change.
func (r *run) deliver(ctx context.Context, cs []change) error {
	for _, s := range r.live {
		if len(r.watches[s.ID()]) == 0 {
			continue
		}
		if _, _, err := s.Exists(ctx, "/"); err != nil {
			return r.violation("exists /: %v", err)
		}
		var keep []pending
		for _, w := range r.watches[s.ID()] {
			i := slices.IndexFunc(cs, func(c change) bool { return fires(w.kind, w.path, c) })
			if i < 0 {
				select {
				case ev, ok := <-w.ch:
					return r.violation("%s watch on %s of %#x: unexpected %v (open=%v)", w.kind, w.path, s.ID(), ev, ok)
				default:
				}
				keep = append(keep, w)
				continue
			}
			if err := r.expect(s, w, cs[i].typ, znode.StateSyncConnected); err != nil {
				return err
			}
		}
		r.watches[s.ID()] = keep
	}
	return nil
}

// expect checks that w has exactly the event typ (in state) and is then
// closed.
func (r *run) expect(s *zkembed.Session, w pending, typ znode.EventType, state znode.State) error {
	r.res.Events++
	select {
	case ev, ok := <-w.ch:
		if !ok || ev.Type != typ || ev.State != state || (typ != znode.EventNone && ev.Path != w.path) {
			return r.violation("%s watch on %s of %#x: got %v (open=%v), want %v %v", w.kind, w.path, s.ID(), ev, ok, typ, state)
		}
	default:
		return r.violation("%s watch on %s of %#x: no %v event", w.kind, w.path, s.ID(), typ)
	}
	select {
	case ev, ok := <-w.ch:
		if ok {
			return r.violation("%s watch on %s of %#x: a second event %v", w.kind, w.path, s.ID(), ev)
		}
	default:
		return r.violation("%s watch on %s of %#x: not closed after its event", w.kind, w.path, s.ID())
	}
	return nil
}

// ended checks the watches of a session that ended with the changes cs
// (the deletion of its ephemerals): as ZooKeeper serves the close, the
// session's own watches that those deletions fire get their events, then
// every other one ends with an EventNone in state.
func (r *run) ended(s *zkembed.Session, cs []change, state znode.State) error {
	for _, w := range r.watches[s.ID()] {
		typ := znode.EventNone
		if i := slices.IndexFunc(cs, func(c change) bool { return fires(w.kind, w.path, c) }); i >= 0 {
			typ = cs[i].typ
		}
		st := state
		if typ != znode.EventNone {
			st = znode.StateSyncConnected
		}
		if err := r.expect(s, w, typ, st); err != nil {
			return err
		}
	}
	delete(r.watches, s.ID())
	return nil
}
