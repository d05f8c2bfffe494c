// Package clock is the engine's source of time: the wall clock by default, or
// a virtual clock that tests and simulations move by hand.
//
// The engine reads time only through a Clock (Now for ctime, mtime and TTLs;
// a Steady clock's reading for session deadlines; AfterFunc for session
// expiry and reaping), so a virtual clock makes every timed behaviour
// deterministic. Virtual.Advance runs the
// timers that fall due synchronously, in deadline order, each with the clock
// set to its deadline: when Advance returns, every expiry due by then has
// happened. Go's testing/synctest works with the Real clock as well.
package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Clock tells time and runs functions later.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once, in its own goroutine or (virtual clocks)
	// inside Advance, after d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call; it reports whether the call was still pending.
	Stop() bool
}

// Steady is a Clock that also keeps a reading that never steps. A wall
// clock steps when NTP corrects it or a virtual machine resumes; the engine
// times sessions on the steady reading, as ZooKeeper's ExpiryQueue does on
// System.nanoTime, so that a step neither expires live sessions nor keeps
// dead ones alive. A Clock without it has its sessions timed by Now.
type Steady interface {
	Clock
	// Steady returns the time since the Unix epoch as Now read it at some
	// fixed moment, plus the time elapsed since that moment on a clock that
	// never steps.
	Steady() time.Duration
}

// Real returns the wall clock, Steady on Go's monotonic clock.
func Real() Clock { return realClock{} }

type realClock struct{}

// realStart is when the process first read the real clock: a steady
// reading is measured from it.
var realStart = time.Now()

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
func (realClock) Steady() time.Duration {
	return time.Duration(realStart.UnixNano()) + time.Since(realStart) // Since: monotonic
}

// Virtual is a clock that moves only when told to. It is safe for concurrent
// use.
type Virtual struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64
}

// NewVirtual returns a virtual clock reading start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// Steady returns the virtual time since the Unix epoch: a virtual clock
// never steps.
func (v *Virtual) Steady() time.Duration { return time.Duration(v.Now().UnixNano()) }

// AfterFunc schedules f to run when the clock reaches Now()+d.
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq++
	t := &virtualTimer{clock: v, when: v.now.Add(d), seq: v.seq, f: f, index: -1}
	heap.Push(&v.timers, t)
	return t
}

// Advance moves the clock forward by d, running every timer that falls due
// (including timers those timers schedule) in deadline order, ties in
// scheduling order.
func (v *Virtual) Advance(d time.Duration) {
	v.mu.Lock()
	end := v.now.Add(d)
	v.mu.Unlock()
	v.AdvanceTo(end)
}

// AdvanceTo moves the clock to t (if t is later) the way Advance does.
func (v *Virtual) AdvanceTo(t time.Time) {
	for {
		v.mu.Lock()
		if len(v.timers) == 0 || v.timers[0].when.After(t) {
			if t.After(v.now) {
				v.now = t
			}
			v.mu.Unlock()
			return
		}
		next := heap.Pop(&v.timers).(*virtualTimer)
		if next.when.After(v.now) {
			v.now = next.when
		}
		v.mu.Unlock()
		next.f()
	}
}

// Pending returns the number of scheduled timers.
func (v *Virtual) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.timers)
}

type virtualTimer struct {
	clock *Virtual
	when  time.Time
	seq   uint64
	f     func()
	index int // position in the heap, -1 when not in it
}

func (t *virtualTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.clock.timers, t.index)
	return true
}

type timerHeap []*virtualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*virtualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
