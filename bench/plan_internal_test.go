package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A round of another target or measurement is never merged into a result.
func TestAddRoundRefusesAnotherMeasurement(t *testing.T) {
	base := Result{Target: "mem", Workload: WorkCreate, Clients: 1, hist: newHist()}
	for _, other := range []Result{
		{Target: "durable", Workload: WorkCreate, Clients: 1, hist: newHist()},
		{Target: "mem", Workload: WorkCreate, Clients: 16, hist: newHist()},
		{Target: "mem", Workload: WorkSet, Clients: 1, hist: newHist()},
	} {
		r := base
		require.Panics(t, func() { r.addRound(other) }, "%s %s", other.Target, other.key())
	}
	r := base
	r.addRound(Result{Target: "mem", Workload: WorkCreate, Clients: 1, hist: newHist()})
	require.Len(t, r.RoundOpsPerSec, 2)
}
