package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The window without of each automatic snapshot: as long as the snapshot's,
// starting as long after it (a second at most), cut where the next
// snapshot starts, dropped when cut under half or not over yet.
func TestAutoSnapshotPairs(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	span := func(from, to int) snapSpan { return snapSpan{start: at(from), end: at(to)} }
	type want struct{ span, from, to int }
	cases := []struct {
		name  string
		spans []snapSpan
		open  *snapSpan
		now   int
		want  []want
	}{
		{"room to spare", []snapSpan{span(0, 400)}, nil, 5000, []want{{0, 800, 1200}}},
		{"a second's gap at most", []snapSpan{span(0, 3000)}, nil, 10000, []want{{0, 4000, 7000}}},
		{"not over yet", []snapSpan{span(0, 400)}, nil, 1100, nil},
		{"cut by the next snapshot", []snapSpan{span(0, 400), span(1100, 1500)}, nil, 5000, []want{{0, 800, 1100}, {1, 1900, 2300}}},
		{"cut under half: left out", []snapSpan{span(0, 400), span(900, 1300)}, nil, 5000, []want{{1, 1700, 2100}}},
		{"cut by one still being written", []snapSpan{span(0, 400)}, &snapSpan{start: at(1150)}, 1200, []want{{0, 800, 1150}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []want
			for _, p := range pairs(c.spans, c.open, at(c.now)) {
				got = append(got, want{p.span, int(p.from.Sub(t0).Milliseconds()), int(p.to.Sub(t0).Milliseconds())})
			}
			require.Equal(t, c.want, got)
		})
	}
}

// The window before the next snapshot: as long as the snapshot's, ending
// where the next one starts, cut where the window without ends.
func TestAutoSnapshotBeforeNext(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	spans := []snapSpan{{start: at(0), end: at(400)}, {start: at(3000), end: at(3400)}, {start: at(4100), end: at(4500)}}
	cases := []struct {
		name     string
		p        pair
		from, to int
		ok       bool
	}{
		{"room for it", pair{0, at(800), at(1200)}, 2600, 3000, true},
		{"cut where the window without ends", pair{1, at(3800), at(4100)}, 4100, 4100, false},
		{"cut, but half is left", pair{0, at(800), at(2800)}, 2800, 3000, true},
		{"no next snapshot yet", pair{2, at(4900), at(5300)}, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from, to, ok := beforeNext(spans, c.p)
			require.Equal(t, c.ok, ok)
			if ok {
				require.Equal(t, at(c.from), from)
				require.Equal(t, at(c.to), to)
			}
		})
	}
}
