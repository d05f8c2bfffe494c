package recipe_test

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
)

// Ten goroutines on five sessions add 1 twenty times each: no increment is
// lost, and each Add saw a value of its own.
func TestCounterConcurrentAdd(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		path := b.root + "/counters/hits" // the parent is created too
		var clients []recipe.Client
		for range 5 {
			clients = append(clients, b.client(t))
		}
		const goroutines, adds = 10, 20
		results := make(chan int64, goroutines*adds)
		errs := make(chan error, goroutines)
		var wg sync.WaitGroup
		for i := range goroutines {
			ct := recipe.NewCounter(clients[i%len(clients)], path)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range adds {
					v, err := ct.Add(ctx, 1)
					if err != nil {
						errs <- err
						return
					}
					results <- v
				}
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		seen := map[int64]bool{}
		for v := range results {
			require.False(t, seen[v], "two Adds returned %d", v)
			seen[v] = true
		}
		for v := int64(1); v <= goroutines*adds; v++ {
			require.True(t, seen[v], "no Add returned %d", v)
		}
		v, st, err := recipe.NewCounter(b.client(t), path).Get(ctx)
		require.NoError(t, err)
		require.EqualValues(t, goroutines*adds, v)
		require.EqualValues(t, goroutines*adds, st.Version, "one setData per increment")
	})
}

// The node holds 8 bytes, big-endian, as Curator's DistributedAtomicLong
// writes them; an absent counter reads as 0 and an empty node as 0.
func TestCounterEncoding(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		path := b.root + "/enc"
		ct := recipe.NewCounter(c, path)
		v, st, err := ct.Get(ctx)
		require.NoError(t, err)
		require.Zero(t, v)
		require.Zero(t, st.Version)
		data, _, err := c.GetData(ctx, path)
		require.NoError(t, err)
		require.Equal(t, make([]byte, 8), data, "Get creates the node holding 0")

		v, err = ct.Add(ctx, 0x0102030405060708)
		require.NoError(t, err)
		require.EqualValues(t, 0x0102030405060708, v)
		data, _, err = c.GetData(ctx, path)
		require.NoError(t, err)
		require.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, data)

		v, err = ct.Add(ctx, -0x0102030405060709)
		require.NoError(t, err)
		require.EqualValues(t, -1, v)
		data, _, err = c.GetData(ctx, path)
		require.NoError(t, err)
		require.Equal(t, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, data)

		// Curator's value, written by hand, reads back.
		_, err = c.SetData(ctx, path, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, -1)
		require.NoError(t, err)
		v, _, err = ct.Get(ctx)
		require.NoError(t, err)
		require.EqualValues(t, int64(math.MinInt64), v)

		empty := b.root + "/empty"
		_, err = c.Create(ctx, empty, nil, zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		v, err = recipe.NewCounter(c, empty).Add(ctx, 5)
		require.NoError(t, err)
		require.EqualValues(t, 5, v, "an empty node counts as 0")
	})
}

// CompareAndSet succeeds only at the version read: a stale version fails
// and changes nothing.
func TestCounterCompareAndSet(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		path := b.root + "/cas"
		mine := recipe.NewCounter(b.client(t), path)
		theirs := recipe.NewCounter(b.client(t), path)

		v, st, err := mine.Get(ctx)
		require.NoError(t, err)
		require.Zero(t, v)
		ok, err := mine.CompareAndSet(ctx, st.Version, 10)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = mine.CompareAndSet(ctx, st.Version, 20)
		require.NoError(t, err)
		require.False(t, ok, "CompareAndSet at a version already used")

		v, st, err = mine.Get(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 10, v)
		_, err = theirs.Add(ctx, 1)
		require.NoError(t, err)
		ok, err = mine.CompareAndSet(ctx, st.Version, 100)
		require.NoError(t, err)
		require.False(t, ok, "CompareAndSet after another session's Add")
		v, _, err = theirs.Get(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 11, v, "a failed CompareAndSet changed the value")

		_, err = mine.CompareAndSet(ctx, -1, 0)
		require.ErrorIs(t, err, zkembed.ErrBadArguments, "version -1 would skip the compare")
	})
}

// A node that does not hold an 8-byte value is an error callers can test,
// and is left as it is.
func TestCounterMalformed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		path := b.root + "/bad"
		_, err := c.Create(ctx, path, []byte("seven"), zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		ct := recipe.NewCounter(c, path)
		_, _, err = ct.Get(ctx)
		require.ErrorIs(t, err, recipe.ErrBadCounterValue)
		require.Contains(t, err.Error(), path)
		require.Contains(t, err.Error(), "5 bytes")
		_, err = ct.Add(ctx, 1)
		require.ErrorIs(t, err, recipe.ErrBadCounterValue)
		_, err = ct.Wait(ctx, func(int64) bool { return true })
		require.ErrorIs(t, err, recipe.ErrBadCounterValue)
		data, _, err := c.GetData(ctx, path)
		require.NoError(t, err)
		require.Equal(t, "seven", string(data), "a malformed node is not overwritten")
	})
}

// Wait returns once the condition holds, waking on the node's changes
// (including its creation), and gives up with its context.
func TestCounterWait(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		path := b.root + "/wait"
		waiter := recipe.NewCounter(b.client(t), path)
		got := make(chan int64, 1)
		errs := make(chan error, 1)
		go func() {
			v, err := waiter.Wait(ctx, func(v int64) bool { return v >= 3 })
			if err != nil {
				errs <- err
				return
			}
			got <- v
		}()
		adder := recipe.NewCounter(b.client(t), path)
		for range 3 {
			select {
			case v := <-got:
				t.Fatalf("Wait returned %d before the value reached 3", v)
			case err := <-errs:
				t.Fatal(err)
			default:
			}
			_, err := adder.Add(ctx, 1)
			require.NoError(t, err)
		}
		select {
		case v := <-got:
			require.EqualValues(t, 3, v)
		case err := <-errs:
			t.Fatal(err)
		}

		short, cancel := context.WithCancel(ctx)
		cancel()
		_, err := waiter.Wait(short, func(v int64) bool { return v > 100 })
		require.ErrorIs(t, err, context.Canceled)
	})
}
