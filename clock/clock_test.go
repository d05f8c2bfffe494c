package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/clock"
)

func TestVirtual(t *testing.T) {
	start := time.Unix(1000, 0)
	v := clock.NewVirtual(start)
	var fired []string
	var at []time.Duration
	record := func(name string) func() {
		return func() {
			fired = append(fired, name)
			at = append(at, v.Now().Sub(start))
		}
	}
	v.AfterFunc(3*time.Second, record("c"))
	v.AfterFunc(time.Second, record("a"))
	v.AfterFunc(time.Second, record("a2")) // same deadline: scheduling order
	stopped := v.AfterFunc(2*time.Second, record("stopped"))
	v.AfterFunc(2*time.Second, func() {
		record("b")()
		v.AfterFunc(500*time.Millisecond, record("b+")) // scheduled from a timer
	})
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop())
	v.Advance(2500 * time.Millisecond)
	assert.Equal(t, []string{"a", "a2", "b", "b+"}, fired)
	assert.Equal(t, []time.Duration{time.Second, time.Second, 2 * time.Second, 2500 * time.Millisecond}, at,
		"each timer runs with the clock at its deadline")
	assert.Equal(t, start.Add(2500*time.Millisecond), v.Now())
	assert.Equal(t, 1, v.Pending())
	v.Advance(time.Hour)
	assert.Equal(t, "c", fired[len(fired)-1])
	assert.Equal(t, 0, v.Pending())
}

func TestReal(t *testing.T) {
	c := clock.Real()
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	assert.WithinDuration(t, time.Now(), c.Now(), time.Second)
	assert.True(t, c.AfterFunc(time.Hour, func() {}).Stop())
}

// Both clocks are Steady: the virtual one reads its own time, the real one
// Unix time as of the process's first reading plus monotonic time since.
func TestSteady(t *testing.T) {
	v := clock.NewVirtual(time.Unix(1000, 5))
	var c clock.Clock = v
	s, ok := c.(clock.Steady)
	require.True(t, ok)
	assert.Equal(t, 1000*time.Second+5, s.Steady())
	v.Advance(time.Minute)
	assert.Equal(t, 1060*time.Second+5, s.Steady())

	r, ok := clock.Real().(clock.Steady)
	require.True(t, ok)
	a := r.Steady()
	time.Sleep(2 * time.Millisecond)
	b := r.Steady()
	assert.GreaterOrEqual(t, b-a, 2*time.Millisecond)
	assert.InDelta(t, float64(time.Now().UnixNano()), float64(b), float64(time.Minute), "near Unix time while the wall clock has not stepped")
}
