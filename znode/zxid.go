package znode

import "fmt"

// Zxid is a ZooKeeper transaction id: epoch<<counterBits | counter. Zxids of
// one engine are strictly increasing. ZooKeeper uses counterBits = 32; zkembed
// lets it be configured (see Layout), which matters only for rollover.
type Zxid int64

// String formats the zxid as ZooKeeper logs it: 0x followed by hex digits.
func (z Zxid) String() string { return fmt.Sprintf("0x%x", int64(z)) }

// Layout splits zxids into epoch and counter.
type Layout struct {
	CounterBits uint // width of the counter; 32 in ZooKeeper
}

// DefaultLayout is ZooKeeper's: a 32-bit epoch above a 32-bit counter.
var DefaultLayout = Layout{CounterBits: 32}

// Make builds the zxid of counter within epoch.
func (l Layout) Make(epoch, counter int64) Zxid {
	return Zxid(epoch<<l.CounterBits | counter)
}

// Epoch returns z's epoch.
func (l Layout) Epoch(z Zxid) int64 { return int64(z) >> l.CounterBits }

// Counter returns z's counter.
func (l Layout) Counter(z Zxid) int64 { return int64(z) & l.MaxCounter() }

// MaxCounter is the all-ones counter. Like a ZooKeeper leader, zkembed never
// assigns it to a transaction: reaching it starts the next epoch.
func (l Layout) MaxCounter() int64 { return 1<<l.CounterBits - 1 }

// MaxEpoch is the largest epoch whose zxids are still positive int64s.
func (l Layout) MaxEpoch() int64 { return 1<<(63-l.CounterBits) - 1 }
