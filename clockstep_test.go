package zkembed_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
)

// steppedClock is the real clock with an offset that a test steps, as NTP
// or a virtual machine's resume steps a system's wall clock: timers still
// run on real, monotonic time.
type steppedClock struct{ offset atomic.Int64 }

func (c *steppedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *steppedClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return time.AfterFunc(d, f)
}
func (c *steppedClock) step(d time.Duration) { c.offset.Add(int64(d)) }

// Steady is the real clock's: no step moves it.
func (c *steppedClock) Steady() time.Duration { return clock.Real().(clock.Steady).Steady() }

// A wall clock stepped back between a create and a setData leaves the node
// with mtime before ctime, as ZooKeeper does (it stamps each transaction
// with the wall clock and checks nothing of it); such a tree is still
// consistent, its snapshot loads, and the store reopens.
func TestWallClockStepBackKeepsStoreOpenable(t *testing.T) {
	dir := t.TempDir()
	clk := &steppedClock{}
	db, err := zkembed.Open(dir, &zkembed.Options{Clock: clk})
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	created := mustCreate(t, s, "/n", "1")
	clk.step(-time.Hour)
	_, err = s.SetData(ctx, "/n", []byte("2"), -1)
	require.NoError(t, err)
	st := stat(t, s, "/n")
	require.Less(t, st.Mtime, created.Ctime, "the setData was stamped with the stepped-back clock")
	require.NoError(t, db.Check())
	info, err := db.Snapshot(ctx)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	db, err = zkembed.Open(dir, &zkembed.Options{Clock: clk})
	require.NoError(t, err, "the store reopens from its snapshot")
	defer db.Close()
	assert.Equal(t, info.Zxid, db.Recovery().SnapshotZxid, "restored from the snapshot taken after the step")
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	data, st2, err := s2.GetData(ctx, "/n")
	require.NoError(t, err)
	assert.Equal(t, "2", string(data))
	assert.Equal(t, st, st2)
	require.NoError(t, db.Check())
}

// Sessions are timed on the clock's steady reading, as ZooKeeper's
// ExpiryQueue is on System.nanoTime: a wall clock stepped forward does not
// expire a session that keeps pinging, and one stepped back does not keep
// an idle session alive.
func TestWallClockStepsDoNotTimeSessions(t *testing.T) {
	clk := &steppedClock{}
	db, err := zkembed.Open("", &zkembed.Options{Clock: clk, TickTime: 50 * time.Millisecond})
	require.NoError(t, err)
	defer db.Close()
	pinging, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: time.Second, IdleExpiry: true})
	require.NoError(t, err)
	idle, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 100 * time.Millisecond, IdleExpiry: true})
	require.NoError(t, err)

	require.NoError(t, pinging.Ping(ctx))
	clk.step(time.Hour)
	select { // the expirer runs for the idle session's bucket
	case <-idle.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("an idle session with a 100 ms timeout was still alive 5 s later")
	}
	require.NoError(t, pinging.Ping(ctx), "a session that pinged just before a forward step of the wall clock expired with an idle one")

	later, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 100 * time.Millisecond, IdleExpiry: true})
	require.NoError(t, err)
	clk.step(-2 * time.Hour)
	select {
	case <-later.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("an idle session with a 100 ms timeout was still alive 5 s after a backward step")
	}
}
