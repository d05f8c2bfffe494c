package zkembed_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
)

// modes runs f on an engine with an (in-memory) log and on one without:
// the two publish and dispatch by different routes.
func modes(t *testing.T, f func(t *testing.T, db *zkembed.DB)) {
	t.Run("log", func(t *testing.T) { f(t, newEnv(t).db) })
	t.Run("nolog", func(t *testing.T) {
		db, err := zkembed.Open("", nil)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Check()); db.Close() })
		f(t, db)
	})
}

func newSession(t testing.TB, db *zkembed.DB) *zkembed.Session {
	t.Helper()
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	return s
}

// ready returns the event already in ch, failing if there is none: events
// are dispatched before the reply that reveals the change.
func ready(t testing.TB, ch <-chan zkembed.Event) zkembed.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		require.True(t, ok, "channel closed without an event")
		return e
	default:
		t.Fatal("no event ready")
		return zkembed.Event{}
	}
}

// quiet asserts that ch has nothing ready.
func quiet(t testing.TB, ch <-chan zkembed.Event) {
	t.Helper()
	select {
	case e, ok := <-ch:
		t.Fatalf("unexpected event %v (open %v)", e, ok)
	default:
	}
}

func closedAfter(t testing.TB, ch <-chan zkembed.Event) {
	t.Helper()
	select {
	case e, ok := <-ch:
		require.False(t, ok, "want closed, got %v", e)
	default:
		t.Fatal("channel not closed")
	}
}

func TestWatchOneShotBasics(t *testing.T) {
	modes(t, func(t *testing.T, db *zkembed.DB) {
		a, b := newSession(t, db), newSession(t, db)
		mustCreate(t, a, "/n", "1")
		_, _, dw, err := b.GetW(ctx, "/n")
		require.NoError(t, err)
		_, _, cw, err := b.ChildrenW(ctx, "/n")
		require.NoError(t, err)
		ok, _, ew, err := b.ExistsW(ctx, "/missing")
		require.NoError(t, err)
		require.False(t, ok)

		st, err := a.SetData(ctx, "/n", []byte("2"), -1)
		require.NoError(t, err)
		e := ready(t, dw) // before the writer's reply returned
		assert.Equal(t, zkembed.Event{Type: zkembed.EventNodeDataChanged, State: zkembed.StateSyncConnected, Path: "/n", Zxid: st.Mzxid}, e)
		closedAfter(t, dw)
		quiet(t, cw)

		_, st, err = a.Create2(ctx, "/missing", nil, zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		assert.Equal(t, zkembed.Event{Type: zkembed.EventNodeCreated, State: zkembed.StateSyncConnected, Path: "/missing", Zxid: st.Czxid}, ready(t, ew))

		mustCreate(t, a, "/n/c", "")
		assert.Equal(t, zkembed.EventNodeChildrenChanged, ready(t, cw).Type)
		closedAfter(t, cw)

		// A failed read sets no watch.
		_, _, _, err = b.GetW(ctx, "/nope")
		require.ErrorIs(t, err, zkembed.ErrNoNode)
		_, _, _, err = b.ChildrenW(ctx, "/nope")
		require.ErrorIs(t, err, zkembed.ErrNoNode)
		require.ErrorIs(t, b.RemoveWatches(ctx, "/nope", zkembed.WatcherTypeAny), zkembed.ErrNoWatcher)
	})
}

// The writer's own event arrives before its reply, for a multi too, in op
// order, each with the multi's zxid.
func TestWatchOwnWriteAndMultiOrder(t *testing.T) {
	modes(t, func(t *testing.T, db *zkembed.DB) {
		s := newSession(t, db)
		mustCreate(t, s, "/m", "")
		stream := s.Events()
		_, _, cw, err := s.ChildrenW(ctx, "/m")
		require.NoError(t, err)
		_, _, ew, err := s.ExistsW(ctx, "/m/a")
		require.NoError(t, err)
		rw, err := s.AddWatch(ctx, "/m", true)
		require.NoError(t, err)
		res, err := s.Multi(ctx,
			&zkembed.CreateOp{Path: "/m/a", Mode: zkembed.ModePersistent, ACL: zkembed.OpenACL()},
			&zkembed.SetDataOp{Path: "/m/a", Data: []byte("x"), Version: -1},
			&zkembed.DeleteOp{Path: "/m/a", Version: -1})
		require.NoError(t, err)
		z := res[1].Stat.Mzxid
		assert.Equal(t, zkembed.EventNodeCreated, ready(t, ew).Type)
		assert.Equal(t, zkembed.EventNodeChildrenChanged, ready(t, cw).Type)
		var got []string
		for range 3 {
			e := ready(t, rw.Events())
			assert.Equal(t, z, e.Zxid)
			got = append(got, e.Type.String()+" "+e.Path)
		}
		assert.Equal(t, []string{"NodeCreated /m/a", "NodeDataChanged /m/a", "NodeDeleted /m/a"}, got)
		got = nil
		for range 4 {
			e := ready(t, stream)
			got = append(got, e.Type.String()+" "+e.Path)
		}
		quiet(t, stream)
		// One per change the session's watches fired: the child watch
		// fired once (then was gone), the exists watch once.
		assert.Equal(t, []string{"NodeCreated /m/a", "NodeChildrenChanged /m", "NodeDataChanged /m/a", "NodeDeleted /m/a"}, got)
		require.NoError(t, rw.Close())
		assert.Equal(t, zkembed.EventPersistentWatchRemoved, ready(t, rw.Events()).Type)
		closedAfter(t, rw.Events())
	})
}

// Session close and expiry end the session's watches and stream. As in
// ZooKeeper, the closing session first gets the events of its own close
// (its ephemerals' deletion), as do others.
func TestWatchSessionEnd(t *testing.T) {
	e := newEnv(t)
	a, b := e.session(t), e.session(t)
	mustCreate(t, a, "/p", "")
	_, err := a.Create(ctx, "/p/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	_, _, aw, err := a.GetW(ctx, "/p/eph")
	require.NoError(t, err)
	as := a.Events()
	_, _, bw, err := b.ChildrenW(ctx, "/p")
	require.NoError(t, err)
	pw, err := a.AddWatch(ctx, "/p", true)
	require.NoError(t, err)

	require.NoError(t, a.Close(ctx))
	assert.Equal(t, zkembed.EventNodeDeleted, ready(t, aw).Type)
	closedAfter(t, aw)
	for _, ch := range []<-chan zkembed.Event{as, pw.Events()} {
		assert.Equal(t, zkembed.EventNodeDeleted, ready(t, ch).Type)
		assert.Equal(t, zkembed.Event{Type: zkembed.EventNone, State: zkembed.StateClosed}, ready(t, ch))
		closedAfter(t, ch)
	}
	assert.Equal(t, zkembed.EventNodeChildrenChanged, ready(t, bw).Type)

	// Expiry: StateExpired.
	c, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 4 * time.Second, IdleExpiry: true})
	require.NoError(t, err)
	cs := c.Events()
	_, _, cw, err := c.ExistsW(ctx, "/x")
	require.NoError(t, err)
	e.clk.Advance(10 * time.Second)
	assert.Equal(t, zkembed.StateExpired, ready(t, cw).State)
	assert.Equal(t, zkembed.StateExpired, ready(t, cs).State)
	closedAfter(t, cs)
	_, _, _, err = c.ExistsW(ctx, "/x")
	require.ErrorIs(t, err, zkembed.ErrSessionExpired)
}

// Registration is atomic with the read it guards: a watcher that read
// version v while later versions were written always gets an event.
// Writers and watchers race; at the end, each watcher's outstanding watch
// must fire if and only if it read a version older than the last one.
func TestWatchRegistrationAtomicStress(t *testing.T) {
	modes(t, func(t *testing.T, db *zkembed.DB) {
		w := newSession(t, db)
		mustCreate(t, w, "/c", "")
		const watchers, writes = 4, 400
		var wg sync.WaitGroup
		stop := make(chan struct{})
		type outstanding struct {
			version int32
			ch      <-chan zkembed.Event
		}
		last := make([]outstanding, watchers)
		for i := range watchers {
			s := newSession(t, db)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, st, ch, err := s.GetW(ctx, "/c")
					if !assert.NoError(t, err) {
						return
					}
					select {
					case ev := <-ch:
						if !assert.Equal(t, zkembed.EventNodeDataChanged, ev.Type) || !assert.Greater(t, ev.Zxid, st.Mzxid) {
							return
						}
					case <-stop:
						last[i] = outstanding{st.Version, ch}
						return
					}
				}
			}()
		}
		for i := range writes {
			_, err := w.SetData(ctx, "/c", []byte(fmt.Sprint(i)), -1)
			require.NoError(t, err)
		}
		close(stop)
		wg.Wait()
		for i, o := range last {
			if o.version < writes {
				select {
				case ev := <-o.ch:
					assert.Equal(t, zkembed.EventNodeDataChanged, ev.Type)
				case <-time.After(5 * time.Second):
					t.Fatalf("watcher %d read version %d of %d and never got its event", i, o.version, writes)
				}
			} else {
				quiet(t, o.ch)
			}
		}
	})
}

// A persistent watch whose consumer does not read gets everything up to
// the backlog bound, then an overflow event, and is gone; the writer never
// blocked.
func TestWatchOverflow(t *testing.T) {
	db, err := zkembed.Open("", &zkembed.Options{WatchBacklog: 100})
	require.NoError(t, err)
	defer db.Close()
	s := newSession(t, db)
	mustCreate(t, s, "/o", "")
	pw, err := s.AddWatch(ctx, "/o", false)
	require.NoError(t, err)
	for i := range 1000 {
		_, err := s.SetData(ctx, "/o", []byte(fmt.Sprint(i)), -1)
		require.NoError(t, err)
	}
	n := 0
	var lastEv zkembed.Event
	for e := range pw.Events() {
		lastEv = e
		n++
	}
	assert.ErrorIs(t, lastEv.Err, zkembed.ErrWatchOverflow)
	assert.Greater(t, n, 100)
	assert.Less(t, n, 200)
	require.ErrorIs(t, s.RemoveWatches(ctx, "/o", zkembed.WatcherTypePersistent), zkembed.ErrNoWatcher)
}

// slowLog is an in-memory log whose appends take a while and which says
// how far it is durable.
type slowLog struct {
	*txnlog.Mem
	durable atomic.Int64
}

func (l *slowLog) Append(records ...*txn.Txn) error {
	time.Sleep(200 * time.Microsecond)
	if err := l.Mem.Append(records...); err != nil {
		return err
	}
	l.durable.Store(int64(records[len(records)-1].Zxid))
	return nil
}

// No event is ever delivered before its change is durable: with concurrent
// writers and slow appends, every event a watcher receives has a zxid the
// log has already made durable.
func TestWatchEventsNeverBeforeDurable(t *testing.T) {
	log := &slowLog{Mem: txnlog.NewMem()}
	db, err := zkembed.Open("", &zkembed.Options{Log: log})
	require.NoError(t, err)
	defer db.Close()
	w := newSession(t, db)
	pw, err := w.AddWatch(ctx, "/", true)
	require.NoError(t, err)
	stream := w.Events()
	var checked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range pw.Events() {
			if e.Type == zkembed.EventNodeCreated || e.Type == zkembed.EventNodeDataChanged {
				if d := zkembed.Zxid(log.durable.Load()); e.Zxid > d {
					t.Errorf("event %v delivered when the log was durable to %v", e, d)
				}
				checked.Add(1)
			}
		}
	}()
	go func() {
		for range stream {
		}
	}()
	var wg sync.WaitGroup
	for i := range 8 {
		s := newSession(t, db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				p := fmt.Sprintf("/w%d-%d", i, j)
				if _, err := s.Create(ctx, p, nil, zkembed.ModePersistent, zkembed.OpenACL()); !assert.NoError(t, err) {
					return
				}
				_, err := s.SetData(ctx, p, []byte("x"), -1)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, pw.Close())
	<-done
	assert.Equal(t, int64(8*50*2), checked.Load())
}
