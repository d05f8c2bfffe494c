package recipe_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/recipe"
	"github.com/zkembed/zkembed/znode"
)

var (
	readerNode = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-__READ__[0-9]{10}$`)
	writerNode = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-__WRIT__[0-9]{10}$`)
)

// Readers hold the lock together; a writer cannot get in while they do;
// nodes are named as Curator names them.
func TestRWLockReadersShare(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/share"
		var readers []*recipe.RWLock
		for i := range 3 {
			r := recipe.NewRWLock(b.client(t), dir, &recipe.LockOptions{Data: []byte(fmt.Sprint("reader-", i))})
			// Each RLock returns while the earlier readers still hold:
			// an exclusive lock would make the second one wait forever.
			require.NoError(t, r.RLock(ctx))
			readers = append(readers, r)
		}
		for i, r := range readers {
			_, base := splitPath(r.Node())
			require.Regexp(t, readerNode, base)
			data, st, err := c.GetData(ctx, r.Node())
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint("reader-", i), string(data))
			require.Equal(t, st.Czxid, r.Token())
		}
		require.Less(t, readers[0].Token(), readers[1].Token())

		more := recipe.NewRWLock(c, dir, nil)
		ok, err := more.TryRLock(ctx)
		require.NoError(t, err)
		require.True(t, ok, "TryRLock among readers")
		require.ErrorIs(t, more.RLock(ctx), recipe.ErrLockHeld)
		_, err = more.TryLock(ctx)
		require.ErrorIs(t, err, recipe.ErrLockHeld)
		require.ErrorIs(t, more.Unlock(ctx), recipe.ErrNotHeld, "Unlock of the read side")
		require.NoError(t, more.RUnlock(ctx))
		require.ErrorIs(t, more.RUnlock(ctx), recipe.ErrNotHeld)

		w := recipe.NewRWLock(c, dir, nil)
		ok, err = w.TryLock(ctx)
		require.NoError(t, err)
		require.False(t, ok, "TryLock while read-held")
		waitChildren(t, c, dir, 3) // the failed TryLock left nothing behind
		lastReader := readers[2].Token()
		for _, r := range readers {
			require.NoError(t, r.RUnlock(ctx))
		}
		ok, err = w.TryLock(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		_, base := splitPath(w.Node())
		require.Regexp(t, writerNode, base)
		require.Greater(t, w.Token(), lastReader, "a later node, a larger token")
		ok, err = more.TryRLock(ctx)
		require.NoError(t, err)
		require.False(t, ok, "TryRLock while write-held")
		require.ErrorIs(t, w.RUnlock(ctx), recipe.ErrNotHeld, "RUnlock of the write side")
		require.NoError(t, w.Unlock(ctx))
		require.Zero(t, w.Token())
		waitChildren(t, c, dir, 0)
	})
}

func splitPath(p string) (string, string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return "", p
}

// rwTracker records who is inside and fails on a writer sharing the lock.
type rwTracker struct {
	mu         sync.Mutex
	readers    int
	writers    int
	maxReaders int
	violations int
	entered    int
}

func (tr *rwTracker) enter(write bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.entered++
	if write {
		if tr.readers > 0 || tr.writers > 0 {
			tr.violations++
		}
		tr.writers++
		return
	}
	if tr.writers > 0 {
		tr.violations++
	}
	tr.readers++
	tr.maxReaders = max(tr.maxReaders, tr.readers)
}

func (tr *rwTracker) leave(write bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if write {
		tr.writers--
	} else {
		tr.readers--
	}
}

// Twenty goroutines on four sessions mix reads and writes: a writer never
// shares the lock with anyone, everyone gets in, nothing is left behind.
func TestRWLockExclusion(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		var cs []recipe.Client
		for range 4 {
			cs = append(cs, b.client(t))
		}
		dir := b.root + "/mixed"
		const goroutines, rounds = 20, 3
		var tr rwTracker
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*rounds)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := recipe.NewRWLock(cs[g%len(cs)], dir, nil)
				for r := range rounds {
					write := (g+r)%3 == 0
					var err error
					if write {
						err = l.Lock(ctx)
					} else {
						err = l.RLock(ctx)
					}
					if err != nil {
						errs <- err
						return
					}
					tr.enter(write)
					time.Sleep(time.Millisecond) // long enough for an overlap to show
					tr.leave(write)
					if write {
						err = l.Unlock(ctx)
					} else {
						err = l.RUnlock(ctx)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Zero(t, tr.violations, "a writer shared the lock")
		require.Equal(t, goroutines*rounds, tr.entered)
		t.Logf("at most %d readers inside at once", tr.maxReaders)
		waitChildren(t, cs[0], dir, 0)
	})
}

// The queue is fair, as Curator's: a writer queued behind readers gets the
// lock only once they have all left, and a reader queued behind a waiting
// writer waits for that writer instead of joining the readers.
func TestRWLockFairness(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/fair"
		var readersIn, writerIn atomic.Int32
		r1, r2 := recipe.NewRWLock(b.client(t), dir, nil), recipe.NewRWLock(b.client(t), dir, nil)
		require.NoError(t, r1.RLock(ctx))
		require.NoError(t, r2.RLock(ctx))
		readersIn.Store(2)

		// got reports an acquisition: the error and how many of the other
		// side were inside at that moment.
		type got struct {
			inside int32
			err    error
		}
		w := recipe.NewRWLock(b.client(t), dir, nil)
		wGot := make(chan got, 1)
		go func() {
			err := w.Lock(ctx)
			if err == nil {
				writerIn.Store(1)
			}
			wGot <- got{readersIn.Load(), err}
		}()
		waitChildren(t, c, dir, 3)

		r3 := recipe.NewRWLock(b.client(t), dir, nil)
		r3Got := make(chan got, 1)
		go func() {
			err := r3.RLock(ctx)
			r3Got <- got{writerIn.Load(), err}
		}()
		waitChildren(t, c, dir, 4)

		// Behind the waiting writer, no reader gets in, not even one that
		// does not wait.
		ok, err := recipe.NewRWLock(c, dir, nil).TryRLock(ctx)
		require.NoError(t, err)
		require.False(t, ok, "TryRLock behind a waiting writer")
		waitChildren(t, c, dir, 4)

		readersIn.Add(-1)
		require.NoError(t, r1.RUnlock(ctx))
		select {
		case g := <-wGot:
			t.Fatalf("writer got in with %d readers inside (%v)", g.inside, g.err)
		case <-r3Got:
			t.Fatal("a reader queued behind the writer got in before it")
		case <-time.After(100 * time.Millisecond):
		}
		readersIn.Add(-1)
		require.NoError(t, r2.RUnlock(ctx))
		wr := <-wGot
		require.NoError(t, wr.err)
		require.Equal(t, int32(0), wr.inside, "readers inside when the writer got in")

		select {
		case <-r3Got:
			t.Fatal("reader got in while the writer held the lock")
		case <-time.After(100 * time.Millisecond):
		}
		writerIn.Store(0)
		require.NoError(t, w.Unlock(ctx))
		rg := <-r3Got
		require.NoError(t, rg.err)
		require.Equal(t, int32(0), rg.inside, "writers inside when the queued reader got in")
		require.NoError(t, r3.RUnlock(ctx))
		waitChildren(t, c, dir, 0)
	})
}

// A waiter of either side whose context ends gives up and leaves no node.
func TestRWLockCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/cancel"
		giveUp := func(t *testing.T, wait func(ctx context.Context) error, before int) {
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- wait(wctx) }()
			waitChildren(t, c, dir, before+1)
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			waitChildren(t, c, dir, before)

			short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel2()
			require.ErrorIs(t, wait(short), context.DeadlineExceeded)
			waitChildren(t, c, dir, before)
		}

		w := recipe.NewRWLock(c, dir, nil)
		require.NoError(t, w.Lock(ctx))
		giveUp(t, recipe.NewRWLock(b.client(t), dir, nil).RLock, 1)
		giveUp(t, recipe.NewRWLock(b.client(t), dir, nil).Lock, 1)
		require.NoError(t, w.Unlock(ctx))

		r := recipe.NewRWLock(c, dir, nil)
		require.NoError(t, r.RLock(ctx))
		giveUp(t, recipe.NewRWLock(b.client(t), dir, nil).Lock, 1)
		require.NoError(t, r.RUnlock(ctx))
		waitChildren(t, c, dir, 0)
	})
}

// A writer whose session expires loses the lock (Lost is closed) and the
// readers waiting for it get in, together.
func TestRWLockHolderExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		hc, wc := b.client(t), b.client(t)
		dir := b.root + "/expiry"
		holder := recipe.NewRWLock(hc, dir, nil)
		require.NoError(t, holder.Lock(ctx))

		readers := []*recipe.RWLock{recipe.NewRWLock(wc, dir, nil), recipe.NewRWLock(wc, dir, nil)}
		got := make(chan error, len(readers))
		for _, r := range readers {
			go func() { got <- r.RLock(ctx) }()
		}
		waitChildren(t, wc, dir, 3)
		select {
		case err := <-got:
			t.Fatalf("a reader got in while the writer held the lock: %v", err)
		case <-time.After(50 * time.Millisecond):
		}

		b.expire(t, hc)
		select {
		case <-holder.Lost():
		default:
			t.Fatal("Lost not closed after the holder's session expired")
		}
		for range readers {
			require.NoError(t, <-got)
		}
		require.ErrorIs(t, holder.Unlock(ctx), recipe.ErrSessionLost)
		for _, r := range readers {
			require.NotEmpty(t, r.Node(), "both readers hold at once")
		}
		for _, r := range readers {
			require.NoError(t, r.RUnlock(ctx))
		}
		waitChildren(t, wc, dir, 0)
	})
}

// An exclusive Lock on the same directory is a writer to the RWLock's
// readers and writers, and they are contenders to it.
func TestRWLockWithExclusiveLock(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/mixed-kinds"
		ex := recipe.NewLock(c, dir, nil)
		require.NoError(t, ex.Lock(ctx))
		rw := recipe.NewRWLock(b.client(t), dir, nil)
		ok, err := rw.TryRLock(ctx)
		require.NoError(t, err)
		require.False(t, ok, "TryRLock while an exclusive Lock holds")
		require.NoError(t, ex.Unlock(ctx))

		require.NoError(t, rw.RLock(ctx))
		ok, err = ex.TryLock(ctx)
		require.NoError(t, err)
		require.False(t, ok, "TryLock of a Lock while a reader holds")
		require.NoError(t, rw.RUnlock(ctx))
		waitChildren(t, c, dir, 0)
	})
}

// watchRecorder remembers the paths its client set data watches on (the
// recipes wait for a node's deletion with getData watches).
type watchRecorder struct {
	recipe.Client
	mu    sync.Mutex
	paths []string
}

func (c *watchRecorder) GetW(ctx context.Context, path string) ([]byte, znode.Stat, <-chan znode.Event, error) {
	c.mu.Lock()
	c.paths = append(c.paths, path)
	c.mu.Unlock()
	return c.Client.GetW(ctx, path)
}

func (c *watchRecorder) watched(t *testing.T) string {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		paths := slices.Clone(c.paths)
		c.mu.Unlock()
		if len(paths) > 0 {
			require.Len(t, paths, 1, "one watch while the queue stands still")
			return paths[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("no watch set")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Waiting watches one node: a writer its immediate predecessor, a reader
// the last writer before it, never the readers in between.
func TestRWLockWatchesOneNode(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/watches"
		w1 := recipe.NewRWLock(c, dir, nil)
		require.NoError(t, w1.Lock(ctx))

		// Queue: w1 (holds), r1, r2, w2, r3.
		type waiter struct {
			rec   *watchRecorder
			l     *recipe.RWLock
			write bool
			got   chan error
		}
		var ws []*waiter
		for i, write := range []bool{false, false, true, false} {
			w := &waiter{rec: &watchRecorder{Client: b.client(t)}, write: write, got: make(chan error, 1)}
			w.l = recipe.NewRWLock(w.rec, dir, nil)
			go func() {
				if write {
					w.got <- w.l.Lock(ctx)
				} else {
					w.got <- w.l.RLock(ctx)
				}
			}()
			waitChildren(t, c, dir, i+2)
			ws = append(ws, w)
		}
		names, _, err := c.GetChildren(ctx, dir)
		require.NoError(t, err)
		slices.SortFunc(names, func(a, b string) int { return strings.Compare(a[len(a)-10:], b[len(b)-10:]) })
		queue := make([]string, len(names))
		for i, n := range names {
			queue[i] = dir + "/" + n
		}
		require.Equal(t, queue[0], ws[0].rec.watched(t), "r1 watches w1")
		require.Equal(t, queue[0], ws[1].rec.watched(t), "r2 watches w1, not r1")
		require.Equal(t, queue[2], ws[2].rec.watched(t), "w2 watches r2, its predecessor")
		require.Equal(t, queue[3], ws[3].rec.watched(t), "r3 watches w2, not r2 or r1")

		require.NoError(t, w1.Unlock(ctx))
		require.NoError(t, <-ws[0].got)
		require.NoError(t, <-ws[1].got)
		require.NoError(t, ws[0].l.RUnlock(ctx))
		require.NoError(t, ws[1].l.RUnlock(ctx))
		require.NoError(t, <-ws[2].got)
		require.NoError(t, ws[2].l.Unlock(ctx))
		require.NoError(t, <-ws[3].got)
		require.NoError(t, ws[3].l.RUnlock(ctx))
		waitChildren(t, c, dir, 0)
	})
}
