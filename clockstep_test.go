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
