package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A ratio is the median of the rounds' ratios, not their mean nor the
// ratio of the totals.
func TestCompareSidesTakesTheMedianRatio(t *testing.T) {
	for _, tc := range []struct {
		name     string
		eng, ref []float64
		want     float64
	}{
		{"odd", []float64{50, 90, 10}, []float64{100, 100, 100}, 0.5},
		{"even: the mean of the middle two", []float64{10, 40, 60, 400}, []float64{100, 100, 100, 100}, 0.5},
		{"per round, not of the totals", []float64{10, 100, 100}, []float64{100, 1000, 1000}, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compareSides(side{rates: tc.eng}, side{rates: tc.ref})
			require.InDelta(t, tc.want, c.Ratio, 1e-9)
			require.Len(t, c.Ratios, len(tc.eng))
		})
	}
}

func TestDurableRefusesBadConfig(t *testing.T) {
	_, err := Durable(DurableConfig{Duration: 20 * time.Millisecond, Rounds: 5})
	require.ErrorContains(t, err, "shorter than")
	_, err = Durable(DurableConfig{Duration: time.Second, RawWork: []time.Duration{0}})
	require.ErrorContains(t, err, "must be positive")
}
