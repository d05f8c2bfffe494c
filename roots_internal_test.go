package zkembed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
)

// openLazy opens an engine on log whose sync leaders publish no read root
// unless told to by the window and bound given: every read that follows a
// write then brings the root up to date itself (see Read roots in
// commit.go).
func openLazy(t *testing.T, log txnlog.Log, window, maxUnshown int) *DB {
	t.Helper()
	db, err := Open("", &Options{Log: log})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.mu.Lock()
	db.rootWindow, db.maxUnshown = window, maxUnshown
	db.mu.Unlock()
	db.readSeen.Store(false)
	return db
}

// rootLag is how far the published root is behind the last dispatched
// record.
func rootLag(db *DB) int64 {
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	return int64(db.shown.Load()) - int64(db.root.Load().Zxid())
}

// A sync leader publishes its batch as the read root while a reader was
// seen in the last rootWindow batches, or when maxUnshown records wait;
// otherwise the root stays behind until a reader brings it up to date.
func TestLeadersPublishRootsWhileReadersAreAbout(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name               string
		window, maxUnshown int
		readFirst          bool
		writes, size       int   // setData calls, and their data's size
		lag                int64 // the root's lag after the writes
	}{
		{"no reader: nothing published", 4, 1000, false, 10, 1, 10},
		{"a reader: the next window's batches published", 4, 1000, true, 4, 1, 0},
		{"a reader: published up to the window's end", 4, 1000, true, 7, 1, 3},
		{"no reader: published at the bound", 0, 5, false, 7, 1, 2},
		// 10 × 900,000 B reach maxUnshownBytes (8 MiB); 9 do not.
		{"no reader: published at the bound of data", 0, 1000, false, 11, 900_000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openLazy(t, txnlog.NewMem(), tc.window, tc.maxUnshown)
			s, err := db.NewSession(ctx, nil)
			require.NoError(t, err)
			_, err = s.Create(ctx, "/x", nil, ModePersistent, OpenACL())
			require.NoError(t, err)
			_, _, err = s.GetData(ctx, "/x")
			require.NoError(t, err)
			require.Zero(t, rootLag(db), "a read brings the root up to date")
			db.readSeen.Store(tc.readFirst)
			db.mu.Lock()
			db.mu.rootBatches, db.mu.sinceRoot, db.mu.sinceRootBytes = 0, 0, 0
			db.mu.Unlock()
			for i := range tc.writes {
				// One write at a time: one batch each.
				data := make([]byte, tc.size)
				data[0] = byte(i)
				_, err := s.SetData(ctx, "/x", data, -1)
				require.NoError(t, err)
			}
			require.Equal(t, tc.lag, rootLag(db))
			data, st, err := s.GetData(ctx, "/x")
			require.NoError(t, err)
			require.Equal(t, byte(tc.writes-1), data[0])
			require.Equal(t, int32(tc.writes), st.Version)
			require.Zero(t, rootLag(db))
			require.NoError(t, db.Check())
		})
	}
}

// The bound counts ops, not records: a multi may hold thousands, each of
// which a reader would have to apply.
func TestLeadersCountOpsNotRecords(t *testing.T) {
	ctx := context.Background()
	db := openLazy(t, txnlog.NewMem(), 0, 5)
	s := newSession(t, db)
	multi := func(names ...string) {
		var ops []Op
		for _, n := range names {
			ops = append(ops, &CreateOp{Path: "/" + n, ACL: OpenACL()})
		}
		_, err := s.Multi(ctx, ops...)
		require.NoError(t, err)
	}
	_, _, err := s.Exists(ctx, "/a") // brings the root up to date
	require.NoError(t, err)
	db.mu.Lock()
	db.mu.sinceRoot, db.mu.sinceRootBytes = 0, 0
	db.mu.Unlock()
	multi("a", "b", "c")
	require.Equal(t, int64(1), rootLag(db), "3 ops: under the bound")
	multi("d", "e", "f")
	require.Zero(t, rootLag(db), "6 ops: published")
	require.NoError(t, db.Check())
}

// A closeSession counts the ephemerals it deletes, and one that does not
// list them (too many to list) is published at once.
func TestLeadersCountTheDeletesOfACloseSession(t *testing.T) {
	ctx := context.Background()
	db := openLazy(t, txnlog.NewMem(), 0, 5)
	owner := func(ephemerals int) *Session {
		s := newSession(t, db)
		for i := range ephemerals {
			_, err := s.Create(ctx, fmt.Sprintf("/e%x-%d", s.ID(), i), nil, ModeEphemeral, OpenACL())
			require.NoError(t, err)
		}
		return s
	}
	settle := func() { // bring the root up to date and count from zero
		_, _, err := newSession(t, db).Exists(ctx, "/")
		require.NoError(t, err)
		db.mu.Lock()
		db.mu.sinceRoot, db.mu.sinceRootBytes = 0, 0
		db.mu.Unlock()
	}
	a, b := owner(3), owner(1)
	settle()
	require.NoError(t, a.Close(ctx))
	require.Equal(t, int64(1), rootLag(db), "1 op and 3 deletes: under the bound")
	require.NoError(t, b.Close(ctx))
	require.Zero(t, rootLag(db), "4 + 2 changes: published")

	defer func(v int) { closeSessionPathsMax = v }(closeSessionPathsMax)
	closeSessionPathsMax = 0 // no close lists its paths
	c := owner(1)
	settle()
	require.NoError(t, c.Close(ctx))
	require.Zero(t, rootLag(db), "a close that lists no paths: published")
	require.NoError(t, db.Check())
}

// With no root published by sync leaders, every read still sees every
// write answered before it began: readers bring the root up to date.
func TestReadsSeeAnsweredWritesWithoutPublishedRoots(t *testing.T) {
	ctx := context.Background()
	db := openLazy(t, txnlog.NewMem(), 0, 1<<30)
	const writers, readers = 6, 4
	n := 300
	if testing.Short() {
		n = 100
	}
	ss := make([]*Session, writers+readers)
	for i := range ss {
		var err error
		ss[i], err = db.NewSession(ctx, nil)
		require.NoError(t, err)
	}
	for w := range writers {
		_, err := ss[w].Create(ctx, fmt.Sprintf("/w%d", w), nil, ModePersistent, OpenACL())
		require.NoError(t, err)
	}
	require.Positive(t, rootLag(db), "no root published")
	var versions, children [writers]atomic.Int32 // answered so far
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, p := ss[w], fmt.Sprintf("/w%d", w)
			for i := range n {
				var err error
				if i%2 == 0 {
					_, err = s.SetData(ctx, p, []byte(fmt.Sprint(i)), -1)
					versions[w].Add(1)
				} else {
					_, err = s.Create(ctx, fmt.Sprintf("%s/c%d", p, children[w].Load()), nil, ModePersistent, OpenACL())
					children[w].Add(1)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var rwg sync.WaitGroup
	for r := range readers {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			s := ss[writers+r]
			for i := 0; !stop.Load(); i++ {
				w := (r + i) % writers
				p := fmt.Sprintf("/w%d", w)
				v, c := versions[w].Load(), children[w].Load()
				_, st, err := s.GetData(ctx, p)
				if err == nil && st.Version < v {
					err = fmt.Errorf("read %s at version %d after version %d was answered", p, st.Version, v)
				}
				if err == nil && st.NumChildren < c {
					err = fmt.Errorf("read %s with %d children after %d creates were answered", p, st.NumChildren, c)
				}
				if err == nil && c > 0 {
					var ok bool
					ok, _, err = s.Exists(ctx, fmt.Sprintf("%s/c%d", p, c-1))
					if err == nil && !ok {
						err = fmt.Errorf("%s/c%d missing after its create was answered", p, c-1)
					}
				}
				if err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	require.Positive(t, reads.Load())
	t.Logf("%d reads beside %d writes", reads.Load(), writers*n)
	require.NoError(t, db.Check())
}

// A watch set by a read is set on the records whose events have been
// dispatched, even when the published root lags them: the first write
// answered after the read fires it.
func TestWatchesSetOnARootThatLagsFire(t *testing.T) {
	ctx := context.Background()
	db := openLazy(t, txnlog.NewMem(), 0, 1<<30)
	writer, watcher := newSession(t, db), newSession(t, db)
	_, err := writer.Create(ctx, "/x", nil, ModePersistent, OpenACL())
	require.NoError(t, err)
	_, _, err = watcher.GetData(ctx, "/x")
	require.NoError(t, err)
	var version atomic.Int32 // answered so far
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		for !stop.Load() {
			st, err := writer.SetData(ctx, "/x", nil, -1)
			if err != nil {
				done <- err
				return
			}
			version.Store(st.Version)
		}
		done <- nil
	}()
	watches := 200
	if testing.Short() {
		watches = 50
	}
	for range watches {
		_, st, ch, err := watcher.GetW(ctx, "/x")
		require.NoError(t, err)
		deadline := time.Now().Add(10 * time.Second)
		for version.Load() <= st.Version {
			require.True(t, time.Now().Before(deadline), "writer stalled")
			time.Sleep(10 * time.Microsecond)
		}
		// Events are dispatched before the reply of the write that
		// causes them: the event must be there already.
		select {
		case ev := <-ch:
			require.Equal(t, "/x", ev.Path)
		default:
			t.Fatalf("no event for the watch set at version %d after version %d was answered", st.Version, version.Load())
		}
	}
	stop.Store(true)
	require.NoError(t, <-done)
	require.NoError(t, db.Check())
}

// failingLog is an in-memory log whose appends fail once fail is set.
type failingLog struct {
	*txnlog.Mem
	fail atomic.Bool
}

var errDisk = errors.New("injected disk failure")

func (l *failingLog) Append(records ...*txn.Txn) error {
	if l.fail.Load() {
		return errDisk
	}
	return l.Mem.Append(records...)
}

// After a storage failure, reads see every record that made it to the
// log, also those no root was published for.
func TestReadsAfterAFailureSeeLoggedWrites(t *testing.T) {
	ctx := context.Background()
	log := &failingLog{Mem: txnlog.NewMem()}
	db := openLazy(t, log, 0, 1<<30)
	s := newSession(t, db)
	for i := range 5 {
		_, err := s.Create(ctx, fmt.Sprintf("/n%d", i), []byte{byte(i)}, ModePersistent, OpenACL())
		require.NoError(t, err)
	}
	require.Positive(t, rootLag(db), "the answered creates are in no published root")
	log.fail.Store(true)
	_, err := s.Create(ctx, "/lost", nil, ModePersistent, OpenACL())
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorIs(t, err, errDisk)
	for i := range 5 {
		data, _, err := s.GetData(ctx, fmt.Sprintf("/n%d", i))
		require.NoError(t, err, "an answered create is readable after the failure")
		require.Equal(t, []byte{byte(i)}, data)
	}
	ok, _, err := s.Exists(ctx, "/lost")
	require.NoError(t, err)
	require.False(t, ok, "the failed create is not shown")
	require.Zero(t, rootLag(db))
}

func newSession(t *testing.T, db *DB) *Session {
	t.Helper()
	s, err := db.NewSession(context.Background(), nil)
	require.NoError(t, err)
	return s
}
