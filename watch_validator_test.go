package zkembed_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// The watch validator: a long random workload of writes, session closes,
// registrations and removals, checked against a model that derives the
// events from the log alone (which records a write produces which events,
// by ZooKeeper's table) and decides with its own matching rules which watch
// gets what. After every step each channel must hold exactly what the
// model expects: every watched change fires exactly once, in order, none
// after removal. (That no event precedes its durable record needs
// concurrency and a slow log: TestWatchEventsNeverBeforeDurable.)

// vWatch is the model of one watch.
type vWatch struct {
	session int64
	path    string
	kind    string // data, exist, child, persistent, recursive
	ch      <-chan zkembed.Event
	pw      *zkembed.Watch
	live    bool
	spent   bool // a one-shot watch used up by a change it could not read
	want    []zkembed.Event
	got     []zkembed.Event
}

func (w *vWatch) fires(e zkembed.Event) bool {
	switch w.kind {
	case "data", "exist":
		return e.Path == w.path && (e.Type == zkembed.EventNodeCreated || e.Type == zkembed.EventNodeDataChanged || e.Type == zkembed.EventNodeDeleted)
	case "child":
		return e.Path == w.path && (e.Type == zkembed.EventNodeChildrenChanged || e.Type == zkembed.EventNodeDeleted)
	case "persistent":
		return e.Path == w.path
	case "recursive":
		return e.Type != zkembed.EventNodeChildrenChanged && (e.Path == w.path || strings.HasPrefix(e.Path, w.path+"/"))
	}
	panic(w.kind)
}

// vEvent is an event the model expects, and whether an unauthenticated
// session may read the node it is about (ZooKeeper checks READ before it
// notifies).
type vEvent struct {
	zkembed.Event
	readable bool
}

// eventsOf is ZooKeeper's trigger table applied to one record; readable
// tracks, from the log alone, which nodes world:anyone may read.
func eventsOf(x *txn.Txn, readable map[string]bool) []vEvent {
	var out []vEvent
	ev := func(t zkembed.EventType, p string) {
		out = append(out, vEvent{zkembed.Event{Type: t, State: zkembed.StateSyncConnected, Path: p, Zxid: x.Zxid}, p == "/" || readable[p]})
	}
	parent := func(p string) string { q, _ := znode.Split(p); return q }
	worldRead := func(acl []znode.ACL) bool {
		for _, a := range acl {
			if a.Scheme == "world" && a.ID.ID == "anyone" && a.Perms&znode.PermRead != 0 {
				return true
			}
		}
		return false
	}
	for _, op := range x.Ops {
		switch op.Type {
		case txn.TypeCreate:
			readable[op.Path] = worldRead(op.ACL)
			ev(zkembed.EventNodeCreated, op.Path)
			ev(zkembed.EventNodeChildrenChanged, parent(op.Path))
		case txn.TypeDelete, txn.TypeDeleteContainer:
			ev(zkembed.EventNodeDeleted, op.Path)
			ev(zkembed.EventNodeChildrenChanged, parent(op.Path))
			delete(readable, op.Path)
		case txn.TypeSetData:
			ev(zkembed.EventNodeDataChanged, op.Path)
		case txn.TypeSetACL:
			readable[op.Path] = worldRead(op.ACL)
		case txn.TypeCloseSession:
			for _, p := range op.Paths {
				ev(zkembed.EventNodeDeleted, p)
				ev(zkembed.EventNodeChildrenChanged, parent(p))
				delete(readable, p)
			}
		}
	}
	return out
}

func TestWatchValidatorRandom(t *testing.T) {
	seeds, steps := 20, 600
	if testing.Short() {
		seeds = 4
	}
	total := 0
	for seed := range seeds {
		total += runWatchValidator(t, uint64(seed), steps)
	}
	t.Logf("%d seeds x %d steps: %d events checked", seeds, steps, total)
}

func runWatchValidator(t *testing.T, seed uint64, steps int) int {
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(seed, 99))
	paths := []string{"/a", "/a/b", "/a/c", "/a/b/d", "/e", "/e/f"}
	const nSessions = 3
	sessions := make([]*zkembed.Session, nSessions)
	ids := make([]int64, nSessions)
	streams := map[int64]*vWatch{}
	for i := range sessions {
		sessions[i] = e.session(t)
		ids[i] = sessions[i].ID()
	}
	var watches, ended []*vWatch
	seen := len(e.log.Records())
	checked := 0

	// advance feeds the model every record logged since the last step.
	readable := map[string]bool{}
	advance := func() {
		recs := e.log.Records()
		for _, x := range recs[seen:] {
			for _, ev := range eventsOf(x, readable) {
				hit := map[int64]bool{}
				for _, w := range watches {
					if !w.live || !w.fires(ev.Event) {
						continue
					}
					oneShot := w.kind != "persistent" && w.kind != "recursive"
					if !ev.readable {
						// Not told, and a one-shot watch is used up:
						// it waits until its session ends.
						if oneShot {
							w.live, w.spent = false, true
						}
						continue
					}
					w.want = append(w.want, ev.Event)
					hit[w.session] = true
					if oneShot {
						w.live = false
					}
				}
				for id, s := range streams {
					if hit[id] {
						s.want = append(s.want, ev.Event)
					}
				}
			}
			for _, op := range x.Ops {
				if op.Type != txn.TypeCloseSession {
					continue
				}
				// The closing session's watches end after the events of
				// its own close.
				end := zkembed.Event{Type: zkembed.EventNone, State: zkembed.StateClosed}
				for _, w := range watches {
					if w.session == op.Session && (w.live || w.spent) {
						w.want, w.live, w.spent = append(w.want, end), false, false
					}
				}
				if st := streams[op.Session]; st != nil {
					st.want, st.live = append(st.want, end), false
					ended = append(ended, st)
					delete(streams, op.Session)
				}
			}
		}
		seen = len(recs)
		all := append(append([]*vWatch{}, watches...), ended...)
		for _, s := range streams {
			all = append(all, s)
		}
		for _, w := range all {
		drain:
			for {
				select {
				case ev, ok := <-w.ch:
					if !ok {
						break drain
					}
					w.got = append(w.got, ev)
				default:
					// Persistent watches and streams pass a burst through
					// a small channel: the rest follows as it is read.
					if len(w.got) >= len(w.want) || w.kind == "data" || w.kind == "exist" || w.kind == "child" {
						break drain
					}
					select {
					case ev, ok := <-w.ch:
						if !ok {
							break drain
						}
						w.got = append(w.got, ev)
					case <-time.After(2 * time.Second):
						break drain
					}
				}
			}
			require.Equal(t, w.want, w.got, "seed %d: %s watch of session %d on %s", seed, w.kind, w.session, w.path)
		}
	}

	for step := range steps {
		i := rng.IntN(nSessions)
		s := sessions[i]
		p := paths[rng.IntN(len(paths))]
		switch r := rng.IntN(100); {
		case r < 15:
			mode := zkembed.ModePersistent
			if rng.IntN(3) == 0 {
				mode = zkembed.ModeEphemeral
			}
			_, _ = s.Create(ctx, p, []byte("x"), mode, zkembed.OpenACL())
		case r < 25:
			_ = s.Delete(ctx, p, -1)
		case r < 37:
			_, _ = s.SetData(ctx, p, []byte(fmt.Sprint(step)), -1)
		case r < 40:
			a := zkembed.OpenACL()
			if rng.IntN(2) == 0 {
				a[0].Perms &^= zkembed.PermRead
			}
			_, _ = s.SetACL(ctx, p, a, -1)
		case r < 45:
			q := paths[rng.IntN(len(paths))]
			_, _ = s.Multi(ctx,
				&zkembed.CreateOp{Path: q, Mode: zkembed.ModePersistent, ACL: zkembed.OpenACL()},
				&zkembed.SetDataOp{Path: q, Data: []byte("m"), Version: -1},
				&zkembed.SetDataOp{Path: p, Data: []byte("n"), Version: -1})
		case r < 48:
			require.NoError(t, s.Close(ctx))
			sessions[i] = e.session(t)
			ids[i] = sessions[i].ID()
		case r < 56:
			if _, _, ch, err := s.GetW(ctx, p); err == nil {
				watches = append(watches, &vWatch{session: ids[i], path: p, kind: "data", ch: ch, live: true})
			} else {
				require.True(t, errors.Is(err, zkembed.ErrNoNode) || errors.Is(err, zkembed.ErrNoAuth), err)
			}
		case r < 64:
			_, _, ch, err := s.ExistsW(ctx, p)
			require.NoError(t, err)
			watches = append(watches, &vWatch{session: ids[i], path: p, kind: "exist", ch: ch, live: true})
		case r < 72:
			if _, _, ch, err := s.ChildrenW(ctx, p); err == nil {
				watches = append(watches, &vWatch{session: ids[i], path: p, kind: "child", ch: ch, live: true})
			} else {
				require.True(t, errors.Is(err, zkembed.ErrNoNode) || errors.Is(err, zkembed.ErrNoAuth), err)
			}
		case r < 78:
			rec := rng.IntN(2) == 0
			pw, err := s.AddWatch(ctx, p, rec)
			require.NoError(t, err)
			kind := "persistent"
			if rec {
				kind = "recursive"
			}
			watches = append(watches, &vWatch{session: ids[i], path: p, kind: kind, ch: pw.Events(), pw: pw, live: true})
		case r < 86:
			kind := zkembed.WatcherType(1 + rng.IntN(5))
			selects := map[zkembed.WatcherType][]string{
				zkembed.WatcherTypeChildren: {"child"}, zkembed.WatcherTypeData: {"data", "exist"},
				zkembed.WatcherTypeAny:        {"data", "exist", "child", "persistent", "recursive"},
				zkembed.WatcherTypePersistent: {"persistent"}, zkembed.WatcherTypePersistentRecursive: {"recursive"},
			}[kind]
			n := 0
			for _, w := range watches {
				if w.live && w.session == ids[i] && w.path == p && contains(selects, w.kind) {
					w.live = false
					w.want = append(w.want, zkembed.Event{Type: removedType(w.kind), State: zkembed.StateSyncConnected, Path: p})
					n++
				}
			}
			err := s.RemoveWatches(ctx, p, kind)
			if n == 0 {
				require.ErrorIs(t, err, zkembed.ErrNoWatcher)
			} else {
				require.NoError(t, err)
			}
		case r < 90:
			for _, w := range watches {
				if w.pw != nil && w.live && w.session == ids[i] {
					require.NoError(t, w.pw.Close())
					w.live = false
					w.want = append(w.want, zkembed.Event{Type: zkembed.EventPersistentWatchRemoved, State: zkembed.StateSyncConnected, Path: w.path})
					break
				}
			}
		case r < 93:
			if streams[ids[i]] == nil {
				streams[ids[i]] = &vWatch{session: ids[i], kind: "stream", ch: s.Events(), live: true}
			}
		default:
			_, _ = e.db.ReapNow()
		}
		advance()
	}
	for _, w := range watches {
		checked += len(w.got)
	}
	return checked
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func removedType(kind string) zkembed.EventType {
	switch kind {
	case "child":
		return zkembed.EventChildWatchRemoved
	case "persistent", "recursive":
		return zkembed.EventPersistentWatchRemoved
	}
	return zkembed.EventDataWatchRemoved
}
