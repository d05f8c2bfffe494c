package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A small load: every figure is there, the limits hold, and Close leaves
// no goroutine behind.
func TestLoad(t *testing.T) {
	r, err := Load(LoadConfig{Nodes: 20_000, Sessions: 1_000, Watches: 10_000, Clients: 4, Duration: 300 * time.Millisecond})
	require.NoError(t, err)
	t.Log(r)
	require.Positive(t, r.Ops)
	require.Zero(t, r.Errors, r.FirstError)
	require.LessOrEqual(t, r.P50us, r.P99us)
	require.LessOrEqual(t, r.P99us, r.P999us)
	require.Positive(t, r.Fired, "the run's writes fire some of the watches")
	require.Positive(t, r.HeapPerNode)
	require.True(t, r.OversizeRejected)
	require.True(t, r.OverflowEnded)
}
