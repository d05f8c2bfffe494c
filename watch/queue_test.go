package watch

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/znode"
)

// ev is the i-th event of a queue test.
func ev(i int) znode.Event {
	return znode.Event{Type: znode.EventNodeDataChanged, State: znode.StateSyncConnected, Path: "/q", Zxid: znode.Zxid(i)}
}

// evs is ev(from) .. ev(to-1).
func evs(from, to int) []znode.Event {
	var out []znode.Event
	for i := from; i < to; i++ {
		out = append(out, ev(i))
	}
	return out
}

func pumping(q *Queue) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pumping
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out waiting", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

var final = znode.Event{Type: znode.EventNone, State: znode.StateClosed}

// Up to chanBuffer events go straight into the channel: no backlog, no
// goroutine.
func TestQueueDirect(t *testing.T) {
	h := newHarness(t)
	q := h.queue(10)
	for i := range chanBuffer {
		require.True(t, q.push(ev(i)))
	}
	assert.Equal(t, 0, q.Backlog())
	assert.False(t, pumping(q))
	assert.True(t, waitWithin(&h.wg, timeout), "no pump for events that fit the channel")
	for i := range chanBuffer {
		assert.Equal(t, ev(i), recv(t, q.C()))
	}
	noEvent(t, q.C())
}

// The producer never blocks: 100k events with nobody reading go into the
// backlog, and a reader then gets them all, in order.
func TestQueueNeverBlocks(t *testing.T) {
	const n = 100_000
	h := newHarness(t)
	q := h.queue(2 * n)
	start := time.Now()
	done := make(chan bool, 1)
	go func() {
		ok := true
		for i := range n {
			ok = q.push(ev(i)) && ok
		}
		done <- ok
	}()
	select {
	case ok := <-done:
		require.True(t, ok, "a push under the limit failed")
	case <-time.After(timeout):
		require.FailNow(t, "push blocked with nobody reading")
	}
	t.Logf("pushed %d events unread in %v", n, time.Since(start))
	assert.GreaterOrEqual(t, q.Backlog(), n-chanBuffer-1)
	for i := range n {
		e := recv(t, q.C())
		if e != ev(i) {
			require.Equal(t, ev(i), e, "event %d", i)
		}
	}
	q.end(final)
	assert.Equal(t, []znode.Event{final}, drain(t, q.C()))
	assert.True(t, waitWithin(&h.wg, timeout), "the pump exits once the backlog is drained")
}

// With no reader, exactly chanBuffer+limit events fit; the next push
// fails and queues nothing. end still gets its final event through, past
// the limit, behind everything accepted.
func TestQueueOverflow(t *testing.T) {
	for _, limit := range []int{1, 4, 100} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			h := newHarness(t)
			q := h.queue(limit)
			n := 0
			for q.push(ev(n)) {
				n++
				require.LessOrEqual(t, n, chanBuffer+limit, "the backlog is not bounded")
			}
			assert.Equal(t, chanBuffer+limit, n)
			t.Logf("limit %d: %d events accepted", limit, n)
			q.end(final)
			q.end(znode.Event{Type: znode.EventNone, State: znode.StateExpired}) // ignored
			assert.Equal(t, append(evs(0, n), final), drain(t, q.C()))
			assert.True(t, waitWithin(&h.wg, timeout))
		})
	}
}

// The bound does not depend on scheduling: after chanBuffer+limit events
// with no reader, the next push fails, also once the pump has run and
// blocked on the full channel holding the first backlog event (found in
// review: the pump used to take that event out of the count).
func TestQueueOverflowBoundExact(t *testing.T) {
	const limit = 4
	h := newHarness(t)
	q := h.queue(limit)
	for i := range chanBuffer + limit {
		require.True(t, q.push(ev(i)))
	}
	// Let the pump run: it blocks on the full channel.
	for range 100 {
		runtime.Gosched()
	}
	time.Sleep(10 * time.Millisecond)
	require.True(t, pumping(q))
	assert.Equal(t, limit, q.Backlog())
	assert.False(t, q.push(ev(chanBuffer+limit)), "push %d beyond chanBuffer+limit succeeded", chanBuffer+limit+1)
}

// end on a queue with room delivers the final event and closes at once,
// without a goroutine; later pushes and ends deliver nothing.
func TestQueueEnd(t *testing.T) {
	h := newHarness(t)
	q := h.queue(10)
	require.True(t, q.push(ev(0)))
	q.end(final)
	assert.False(t, pumping(q))
	assert.True(t, q.push(ev(1)), "a push after the end reports success and does nothing")
	q.end(znode.Event{Type: znode.EventNone, State: znode.StateExpired})
	assert.Equal(t, []znode.Event{ev(0), final}, drain(t, q.C()))
	assert.True(t, waitWithin(&h.wg, timeout))
}

// end behind a backlog: the final event waits its turn; the pump closes
// the channel after delivering it and exits.
func TestQueueEndBehindBacklog(t *testing.T) {
	h := newHarness(t)
	q := h.queue(100)
	for i := range chanBuffer + 20 {
		require.True(t, q.push(ev(i)))
	}
	q.end(final)
	assert.True(t, q.push(ev(999)))
	assert.Equal(t, append(evs(0, chanBuffer+20), final), drain(t, q.C()))
	assert.True(t, waitWithin(&h.wg, timeout))
	assert.False(t, pumping(q))
}

// A limit below one is one.
func TestQueueMinimumLimit(t *testing.T) {
	for _, limit := range []int{0, -5} {
		h := newHarness(t)
		q := h.queue(limit)
		assert.Equal(t, 1, q.limit)
		n := 0
		for q.push(ev(n)) {
			n++
			require.LessOrEqual(t, n, chanBuffer+2)
		}
		q.end(final)
		assert.Equal(t, append(evs(0, n), final), drain(t, q.C()))
	}
}

// The pump exists only while the consumer is behind: once a slow consumer
// has caught up, it exits; the next burst starts another, which exits too.
func TestQueuePumpExitsAfterCatchUp(t *testing.T) {
	h := newHarness(t)
	q := h.queue(10_000)
	next := 0
	for round := range 3 {
		burst := chanBuffer + 100*(round+1)
		for range burst {
			require.True(t, q.push(ev(next)))
			next++
		}
		assert.True(t, pumping(q))
		for i := next - burst; i < next; i++ {
			assert.Equal(t, ev(i), recv(t, q.C()))
			if i%20 == 0 {
				time.Sleep(time.Millisecond) // slow
			}
		}
		require.True(t, waitWithin(&h.wg, timeout), "round %d: the pump did not exit after the consumer caught up", round)
		assert.False(t, pumping(q))
		assert.Equal(t, 0, q.Backlog())
		noEvent(t, q.C())
	}
}

// Closing stop makes the pumps of unread queues give up: each exits,
// closing its channel; what was in the channel is still read first, in
// order, and the backlog is discarded. The queue then ignores pushes and
// ends.
func TestQueueStopEndsPumps(t *testing.T) {
	h := newHarness(t)
	var qs []*Queue
	for i := range 5 {
		q := h.queue(1000)
		for j := range chanBuffer + 1 + 50*i {
			require.True(t, q.push(ev(j)))
		}
		qs = append(qs, q)
	}
	for _, q := range qs {
		waitFor(t, "the pump to run", func() bool { return pumping(q) })
	}
	h.halt()
	require.True(t, waitWithin(&h.wg, timeout), "pumps did not exit on stop")
	for i, q := range qs {
		assert.True(t, q.push(ev(9999)), "a stopped queue ignores pushes")
		q.end(final) // and ends
		got := drain(t, q.C())
		assert.GreaterOrEqual(t, len(got), chanBuffer, "queue %d", i)
		assert.Equal(t, evs(0, len(got)), got, "queue %d: a prefix, in order", i)
		assert.Equal(t, 0, q.Backlog())
	}
}

// A producer and a slow consumer at once: every event exactly once, in
// order, and the pump comes and goes without losing any.
func TestQueueConcurrent(t *testing.T) {
	const n = 50_000
	h := newHarness(t)
	q := h.queue(n)
	var got []znode.Event
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range q.C() {
			got = append(got, e)
			if len(got)%1000 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for i := range n {
		require.True(t, q.push(ev(i)))
		if i%3000 == 0 {
			time.Sleep(2 * time.Millisecond) // let the consumer catch up now and then
		}
	}
	q.end(final)
	require.True(t, waitWithin(&wg, timeout), "the consumer did not see the close")
	require.Equal(t, append(evs(0, n), final), got)
	assert.True(t, waitWithin(&h.wg, timeout))
}
