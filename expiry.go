package zkembed

import (
	"time"

	"github.com/zkembed/zkembed/clock"
)

// expiryQueue is ZooKeeper's ExpiryQueue: sessions sit in buckets that are
// tick boundaries, and the expirer wakes at each due boundary. A request
// refreshes only the session's lastTouch (an atomic store, no lock on the
// read path); a due bucket re-files each session whose refreshed deadline
// lies ahead and expires the rest. Lifetime after the last request is thus
// between timeout and timeout + tick, as in ZooKeeper. Times are the clock's
// steady reading in ms (DB.steadyMillis). Guarded by DB.mu.
type expiryQueue struct {
	buckets map[int64][]*sessionState // deadline ms → sessions, in filing order
	timer   clock.Timer               // armed for armedAt, or nil
	armedAt int64
}

func (q *expiryQueue) init() { q.buckets = map[int64][]*sessionState{} }

// deadline returns ZooKeeper's expiration time for a touch at now:
// ((now + timeout) / tick + 1) × tick.
func (db *DB) deadline(now int64, timeout time.Duration) int64 {
	tick := db.opts.TickTime.Milliseconds()
	return ((now+timeout.Milliseconds())/tick + 1) * tick
}

// touchAndQueueLocked marks st as active now and files it in its bucket.
// REQUIRES: db.mu held.
func (db *DB) touchAndQueueLocked(st *sessionState) {
	now := db.steadyMillis()
	st.touch(now)
	db.fileLocked(st, db.deadline(now, st.liveTimeout()))
}

func (db *DB) fileLocked(st *sessionState, at int64) {
	q := &db.mu.expiry
	st.bucket = at
	q.buckets[at] = append(q.buckets[at], st)
	if q.timer == nil || at < q.armedAt {
		db.armExpiryLocked(at)
	}
}

// armExpiryLocked (re)arms the expirer for the bucket at ms.
func (db *DB) armExpiryLocked(at int64) {
	q := &db.mu.expiry
	if q.timer != nil && q.timer.Stop() {
		db.timers.Done()
	}
	q.armedAt = at
	db.timers.Add(1)
	q.timer = db.clock.AfterFunc(time.Duration(at-db.steadyMillis())*time.Millisecond, db.expireDue)
}

// expireDue is the expirer's timer callback: it handles every bucket whose
// time has come, oldest first, then arms itself for the next bucket.
func (db *DB) expireDue() {
	defer db.timers.Done()
	// A failure to log an expiry stops the engine; there is no caller to
	// tell, and the next write reports it.
	_ = db.update("expireSession", "", func() error {
		db.expireDueLocked()
		return nil
	})
}

// expireDueLocked does expireDue's work. REQUIRES: db.mu held.
func (db *DB) expireDueLocked() {
	q := &db.mu.expiry
	q.timer = nil
	if db.mu.closed {
		return
	}
	now := db.steadyMillis()
	for {
		at, ok := q.earliest()
		if !ok || at > now {
			break
		}
		due := q.buckets[at]
		delete(q.buckets, at)
		for _, st := range due {
			if st.bucket != at || st.closing.Load() || db.mu.sessions[st.id] != st {
				continue // re-filed, closed, or already gone
			}
			if !st.idleExpiry.Load() {
				db.touchAndQueueLocked(st) // the engine heartbeats for it
				continue
			}
			if next := db.deadline(st.lastTouch.Load(), st.liveTimeout()); next > now {
				db.fileLocked(st, next)
				continue
			}
			_ = db.closeSessionLocked(st, "expireSession")
		}
	}
	if at, ok := q.earliest(); ok && (q.timer == nil || at < q.armedAt) {
		db.armExpiryLocked(at)
	}
}

// earliest returns the earliest bucket. There are at most
// MaxSessionTimeout/TickTime + 2 buckets, so a scan is cheap.
func (q *expiryQueue) earliest() (int64, bool) {
	first, ok := int64(0), false
	for at := range q.buckets {
		if !ok || at < first {
			first, ok = at, true
		}
	}
	return first, ok
}

// stop disarms the expirer. REQUIRES: db.mu held.
func (q *expiryQueue) stop(db *DB) {
	if q.timer != nil && q.timer.Stop() {
		db.timers.Done()
	}
	q.timer = nil
}
