package recipe_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/recipe"
)

// One producer, one consumer: items come out in the order they went in,
// as "qn-<seq>" nodes that outlive the producer's session.
func TestQueueFIFO(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		dir := b.root + "/fifo"
		producer := b.client(t)
		pq := recipe.NewQueue(producer, dir)
		const n = 20
		for i := range n {
			require.NoError(t, pq.Put(ctx, []byte(fmt.Sprintf("item-%02d", i))))
		}
		consumer := b.client(t)
		names, _, err := consumer.GetChildren(ctx, dir)
		require.NoError(t, err)
		require.Len(t, names, n)
		for _, name := range names {
			require.True(t, strings.HasPrefix(name, "qn-"), name)
			_, st, err := consumer.GetData(ctx, dir+"/"+name)
			require.NoError(t, err)
			require.Zero(t, st.EphemeralOwner, "items are persistent")
		}

		b.expire(t, producer)
		cq := recipe.NewQueue(consumer, dir)
		l, err := cq.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, n, l, "items after the producer's session ended")
		for i := range n {
			data, err := cq.Take(ctx)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("item-%02d", i), string(data))
		}
		_, ok, err := cq.TryTake(ctx)
		require.NoError(t, err)
		require.False(t, ok, "TryTake on an empty queue")
		l, err = cq.Len(ctx)
		require.NoError(t, err)
		require.Zero(t, l)

		// A queue whose directory does not exist yet is empty.
		missing := recipe.NewQueue(consumer, b.root+"/missing")
		l, err = missing.Len(ctx)
		require.NoError(t, err)
		require.Zero(t, l)
		_, ok, err = missing.TryTake(ctx)
		require.NoError(t, err)
		require.False(t, ok)
	})
}

// deleteOrder is a Client whose successful deletes are recorded in the
// order the server made them: the lock is held across the call.
type deleteOrder struct {
	recipe.Client
	mu  *sync.Mutex
	log *[]string
}

func (c deleteOrder) Delete(ctx context.Context, path string, version int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.Client.Delete(ctx, path, version)
	if err == nil {
		*c.log = append(*c.log, path)
	}
	return err
}

// Four producers and four consumers on separate sessions: every item is
// taken exactly once, items leave in sequence order (so each producer's
// in its order), and consumers blocked on an empty queue give up cleanly.
func TestQueueConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		dir := b.root + "/q"
		const producers, consumers, perProducer = 4, 4, 50
		const total = producers * perProducer

		var (
			deletesMu sync.Mutex
			deletes   []string
			taken     atomic.Int32
			wg        sync.WaitGroup
		)
		takeCtx, stopTaking := context.WithCancel(ctx)
		defer stopTaking()
		got := make([][]string, consumers)
		errs := make(chan error, producers+consumers)
		for i := range consumers {
			q := recipe.NewQueue(deleteOrder{Client: b.client(t), mu: &deletesMu, log: &deletes}, dir)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					data, err := q.Take(takeCtx)
					if err != nil {
						if takeCtx.Err() == nil {
							errs <- err
						}
						return
					}
					got[i] = append(got[i], string(data))
					if taken.Add(1) == total {
						stopTaking() // the others are waiting on an empty queue
					}
				}
			}()
		}
		var pwg sync.WaitGroup
		for p := range producers {
			q := recipe.NewQueue(b.client(t), dir)
			pwg.Add(1)
			go func() {
				defer pwg.Done()
				for k := range perProducer {
					if err := q.Put(ctx, []byte(fmt.Sprintf("p%d-%03d", p, k))); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		pwg.Wait()
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}

		seen := map[string]int{}
		for i, items := range got {
			last := map[string]string{}
			for _, it := range items {
				seen[it]++
				p := it[:2]
				require.Less(t, last[p], it, "consumer %d took %s's items out of order", i, p)
				last[p] = it
			}
		}
		require.Len(t, seen, total, "distinct items taken")
		for it, n := range seen {
			require.Equal(t, 1, n, "item %s taken %d times", it, n)
		}
		require.Len(t, deletes, total, "successful deletes")
		for i := 1; i < len(deletes); i++ {
			require.Less(t, seqOf(t, deletes[i-1]), seqOf(t, deletes[i]), "items deleted out of sequence order")
		}
		l, err := recipe.NewQueue(b.client(t), dir).Len(ctx)
		require.NoError(t, err)
		require.Zero(t, l, "items left after every one was taken")
	})
}

func seqOf(t *testing.T, path string) string {
	i := strings.LastIndex(path, "qn-")
	require.GreaterOrEqual(t, i, 0, path)
	return path[i+3:]
}

// Take waits for a Put (even before the directory exists), and a Take
// whose context ends returns the context's error having taken nothing.
func TestQueueTakeBlocksAndCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		dir := b.root + "/block"
		cq := recipe.NewQueue(b.client(t), dir)
		pq := recipe.NewQueue(b.client(t), dir)

		got := make(chan string, 1)
		go func() {
			data, err := cq.Take(ctx)
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			got <- string(data)
		}()
		select {
		case g := <-got:
			t.Fatalf("Take returned %q from an empty queue", g)
		case <-time.After(100 * time.Millisecond):
		}
		require.NoError(t, pq.Put(ctx, []byte("first")))
		require.Equal(t, "first", <-got)

		// A cancelled wait takes nothing: the next Put stays queued.
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := cq.Take(wctx)
			done <- err
		}()
		time.Sleep(50 * time.Millisecond) // usually waiting by now; either way it must not take
		cancel()
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(20 * time.Second):
			t.Fatal("Take did not return after its context was cancelled")
		}
		short, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel2()
		_, err := cq.Take(short)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, pq.Put(ctx, []byte("second")))
		l, err := cq.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, l)

		// Cancel racing a Put: the item is either returned or still
		// queued, never lost.
		const rounds = 20
		returned := 0
		for i := range rounds {
			rctx, rcancel := context.WithCancel(ctx)
			type result struct {
				data []byte
				err  error
			}
			res := make(chan result, 1)
			go func() {
				data, err := cq.Take(rctx)
				res <- result{data, err}
			}()
			go rcancel()
			require.NoError(t, pq.Put(ctx, []byte(fmt.Sprintf("race-%02d", i))))
			r := <-res
			if r.err != nil {
				require.ErrorIs(t, r.err, context.Canceled)
			} else {
				returned++
			}
			rcancel()
		}
		l, err = cq.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, 1+rounds, returned+l, "items returned plus items queued")
	})
}

// A consumer whose session ends while it waits gets ErrSessionLost.
func TestQueueTakeSessionLost(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		if b.name == "zookeeper" {
			t.Skip("expiry takes seconds on ZooKeeper; go-zookeeper's side is covered on zk-on-zkembed")
		}
		c := b.client(t)
		done := make(chan error, 1)
		go func() {
			_, err := recipe.NewQueue(c, b.root+"/lost").Take(ctxFor(t))
			done <- err
		}()
		time.Sleep(50 * time.Millisecond) // usually waiting by now; a call that sees the end works as well
		b.expire(t, c)
		require.ErrorIs(t, <-done, recipe.ErrSessionLost)
	})
}
