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

// Snapshots followed through listings of their directory, with retain 3.
func TestAutoSnapshotSpans(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	list := func(tmp string, finals ...string) listing {
		l := listing{tmp: tmp, finals: map[string]int64{}}
		for _, f := range finals {
			l.finals[f] = int64(len(f))
		}
		return l
	}
	old := []string{"snapshot.1", "snapshot.2", "snapshot.3"}
	with := func(more ...string) []string { return append(append([]string{}, old...), more...) }
	type span struct{ start, written, end int }
	cases := []struct {
		name     string
		listings []listing // one per millisecond, from 1
		done     []span
		open     bool
		failed   int
	}{
		{"written, then pruned", []listing{list("", old...), list("snapshot.4.tmp", old...), list("snapshot.4.tmp", old...),
			list("", with("snapshot.4")...), list("", old[1:]...)}, []span{{2, 4, 5}}, false, 0},
		{"the next begins before the listing shows the pruning", []listing{list("snapshot.4.tmp", old...),
			list("", with("snapshot.4")...), list("snapshot.5.tmp", with("snapshot.4")...)}, []span{{1, 2, 3}}, true, 0},
		{"renamed and the next begun between two listings", []listing{list("snapshot.4.tmp", old...),
			list("snapshot.5.tmp", old[1:]...)}, nil, true, 1},
		{"renamed, pruned and the next begun between two listings", []listing{list("snapshot.4.tmp", old...),
			list("snapshot.5.tmp", append(old[1:], "snapshot.4")...)}, []span{{1, 2, 2}}, true, 0},
		{"a temporary file gone without its snapshot: failed", []listing{list("snapshot.4.tmp", old...), list("", old...)}, nil, false, 1},
		{"fewer than retain: over at once", []listing{list("snapshot.1.tmp"), list("", "snapshot.1")}, []span{{1, 2, 2}}, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr spanTracker
			for i, l := range c.listings {
				tr.observe(at(i+1), l, 3)
			}
			var got []span
			for _, s := range tr.done {
				got = append(got, span{int(s.start.Sub(t0).Milliseconds()), int(s.written.Sub(t0).Milliseconds()), int(s.end.Sub(t0).Milliseconds())})
				require.Equal(t, int64(len("snapshot.4")), s.size, "the size of its own file")
			}
			require.Equal(t, c.done, got)
			require.Equal(t, c.open, tr.open != nil, "a snapshot in progress")
			require.Equal(t, c.failed, tr.failed)
		})
	}
}
