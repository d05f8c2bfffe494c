package watch

import (
	"errors"
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// ErrOverflow ends a stream whose consumer fell behind by more than the
// backlog limit. The events before it were all delivered; the watch is
// gone, and the consumer must re-read the state it was watching and watch
// again.
var ErrOverflow = errors.New("watch: consumer fell behind by more than the backlog limit; the watch was removed")

// chanBuffer is the channel capacity of a Queue: events a consumer may be
// behind by before the backlog (and its goroutine) comes into play.
const chanBuffer = 4

// Queue delivers an ordered, unbounded-looking stream of events without
// ever blocking the producer. Events go straight into a small channel while
// it has room; after that they wait in a backlog, which a goroutine of the
// Queue's own drains into the channel while the consumer is behind, and
// which is bounded by a limit.
type Queue struct {
	ch chan znode.Event
	// sink, if set, replaces the channel: every event goes straight to
	// it (see Registry.Sink).
	sink func(znode.Event) bool

	mu      sync.Mutex
	backlog []znode.Event
	limit   int
	pumping bool // a pump goroutine is running
	ending  bool // the final event has been queued; nothing after it
	closed  bool // ch is closed

	stop <-chan struct{} // closed when the engine stops: pumps give up
	wg   *sync.WaitGroup // counts pump goroutines
}

// NewQueue returns a Queue whose backlog holds at most limit events. Its
// pump goroutines are counted in wg and give up (closing the channel, the
// backlog discarded) once stop is closed.
func NewQueue(limit int, stop <-chan struct{}, wg *sync.WaitGroup) *Queue {
	return &Queue{ch: make(chan znode.Event, chanBuffer), limit: max(limit, 1), stop: stop, wg: wg}
}

// C returns the channel the consumer reads.
func (q *Queue) C() <-chan znode.Event { return q.ch }

// push queues e. It never blocks. It returns false, queueing nothing, if
// the backlog is full: the caller must then end the Queue with an overflow
// event.
func (q *Queue) push(e znode.Event) bool {
	if q.sink != nil {
		return q.sink(e)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ending {
		return true // already ended: nothing more is delivered
	}
	if q.tryDirect(e) {
		return true
	}
	if len(q.backlog) >= q.limit {
		return false
	}
	q.enqueue(e)
	return true
}

// end queues final as the last event, past the limit if need be, and
// closes the channel once it has been delivered. Later pushes and ends do
// nothing.
func (q *Queue) end(final znode.Event) {
	if q.sink != nil {
		q.sink(final)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ending {
		return
	}
	q.ending = true
	if q.tryDirect(final) {
		q.closed = true
		close(q.ch)
		return
	}
	q.enqueue(final)
}

// tryDirect sends e on the channel if nothing waits before it and there is
// room. REQUIRES: q.mu held.
func (q *Queue) tryDirect(e znode.Event) bool {
	if q.pumping || len(q.backlog) > 0 {
		return false
	}
	select {
	case q.ch <- e:
		return true
	default:
		return false
	}
}

// enqueue appends e to the backlog and makes sure a pump runs.
// REQUIRES: q.mu held.
func (q *Queue) enqueue(e znode.Event) {
	q.backlog = append(q.backlog, e)
	if !q.pumping {
		q.pumping = true
		q.wg.Add(1)
		go q.pump()
	}
}

// pump drains the backlog into the channel, in order, and exits when it is
// empty (closing the channel if the Queue has ended) or when the engine
// stops.
func (q *Queue) pump() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(q.backlog) == 0 {
			q.pumping = false
			q.backlog = nil
			if q.ending && !q.closed {
				q.closed = true
				close(q.ch)
			}
			q.mu.Unlock()
			return
		}
		// The event leaves the backlog only once sent, so that the
		// backlog limit counts it while it waits: the bound does not
		// depend on when this goroutine runs. Only the pump removes from
		// the front.
		e := q.backlog[0]
		q.mu.Unlock()
		select {
		case q.ch <- e:
			q.mu.Lock()
			q.backlog[0] = znode.Event{}
			q.backlog = q.backlog[1:]
			q.mu.Unlock()
		case <-q.stop:
			q.mu.Lock()
			q.pumping, q.ending, q.backlog = false, true, nil
			if !q.closed {
				q.closed = true
				close(q.ch)
			}
			q.mu.Unlock()
			return
		}
	}
}

// Backlog returns the number of events waiting beyond the channel.
func (q *Queue) Backlog() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.backlog)
}
