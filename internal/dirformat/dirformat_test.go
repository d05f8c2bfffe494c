package dirformat

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRoundTripAndRejects(t *testing.T) {
	for _, bits := range []int{2, 10, 32, 48} {
		got, err := Parse(Encode(bits))
		require.NoError(t, err)
		require.Equal(t, bits, got)
	}
	for _, bad := range []string{"", "zkembed data directory\n", "zkembed data directory\nzxid-counter-bits 32", "zkembed data directory\nzxid-counter-bits 32\nmore",
		"zkembed data directory\nzxid-counter-bits 1\n", "zkembed data directory\nzxid-counter-bits 49\n", "zkembed data directory\nzxid-counter-bits 032\n"} {
		_, err := Parse([]byte(bad))
		require.ErrorIs(t, err, ErrMalformed, "%q", bad)
	}
}

// Parse never panics and accepts only what Encode writes.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Encode(32)))
	f.Add([]byte("zkembed data directory\nzxid-counter-bits -1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bits, err := Parse(b); err == nil && string(Encode(bits)) != string(b) {
			t.Fatalf("%q accepted as %d bits", b, bits)
		}
	})
}
