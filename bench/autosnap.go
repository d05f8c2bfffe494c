package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zkembed/zkembed"
)

// AutoSnapshotImpact is SnapshotImpact with the engine's own automatic
// snapshots instead of DB.Snapshot calls: the engine runs with its
// defaults (or cfg.Every records between snapshots), writes go on without
// a break, and the windows are found afterwards from the snapshots
// directory, read every millisecond. A snapshot's window runs from the
// appearance of its temporary file to the end of its pruning (the
// directory back to SnapshotRetain files, or the next snapshot begun), so
// the file's fsync and the deletion of the oldest snapshot fall in it, the
// directory's fsync after that and the log's truncation just after it
// (spanTracker has the rules); its window without is as
// long, and starts as long after it ends (a second at most). A window
// without that would reach the next snapshot is cut short there, and
// left out with its snapshot's if that leaves it under half as long, as
// is a pair with under minWindowWrites writes in either window. A failed
// automatic snapshot fails the run.
//
// This measures what an engine's users see: the automatic snapshot is
// written at the pace the engine chooses for the write rate (see
// Options.SnapshotBytesPerSecond), which DB.Snapshot, written at the cap,
// does not. cfg.BytesPerSecond sets the cap (default the engine's).
// Each window's MiBPerSecond is the rate its snapshot was written at.
func AutoSnapshotImpact(cfg SnapshotImpactConfig) (SnapshotImpactReport, error) {
	cfg = cfg.withDefaults() // Duration is not used
	rep := SnapshotImpactReport{BytesPerSecond: cfg.BytesPerSecond, Auto: true}
	parent, err := os.MkdirTemp(cfg.Dir, "zkembed-autosnap-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(parent)
	dir := filepath.Join(parent, "data")
	db, _, err := buildTree(dir, cfg.Nodes, 100)
	if err != nil {
		return rep, err
	}
	if err := db.Close(); err != nil {
		return rep, err
	}
	// The engine's defaults (synced, SnapshotRetain, the pace), but for
	// cfg.Every and the cap.
	db, err = zkembed.Open(dir, &zkembed.Options{SnapshotEvery: cfg.Every, SnapshotBytesPerSecond: cfg.BytesPerSecond})
	if err != nil {
		return rep, err
	}
	defer db.Close()
	ctx := context.Background()
	if err := churn(ctx, db, cfg); err != nil {
		return rep, err
	}

	// The pace of an automatic snapshot follows the previous one's size:
	// give it one, as a restarted engine has.
	if _, err := db.Snapshot(ctx); err != nil {
		return rep, err
	}

	// Watch the snapshots directory while the writers run, until Rounds
	// snapshots have ended and been followed by their window without, a
	// writer or a snapshot fails, or the deadline passes.
	snaps := filepath.Join(dir, "snapshots")
	stop := make(chan struct{})
	wait, errs := runWriters(ctx, db, cfg, stop, 0)
	var track spanTracker
	limit := time.Duration(cfg.Rounds+2) * 2 * time.Minute
	deadline := time.Now().Add(limit)
	for {
		time.Sleep(time.Millisecond)
		now := time.Now()
		l, err := listSnapshots(snaps)
		if err != nil {
			close(stop)
			wait()
			return rep, err
		}
		track.observe(now, l, zkembed.DefaultSnapshotRetain)
		if len(pairs(track.done, track.open, now)) >= cfg.Rounds || now.After(deadline) || len(errs) > 0 || track.failed > 0 {
			break
		}
	}
	end := time.Now()
	close(stop)
	all := wait()
	select {
	case err := <-errs:
		return rep, fmt.Errorf("writer: %w", err)
	default:
	}
	if track.failed > 0 {
		return rep, fmt.Errorf("an automatic snapshot failed: %w", db.SnapshotError())
	}
	spans, open := track.done, track.open
	var late []time.Duration // p99s of the windows before the next snapshot
	thin := 0                // pairs left out for too few writes
	for _, p := range pairs(spans, open, end) {
		s := spans[p.span]
		during, without := windowOf(all, s.start, s.end, true), windowOf(all, p.from, p.to, false)
		if during.Writes < minWindowWrites || without.Writes < minWindowWrites {
			thin++
			continue
		}
		during.Snapshots, during.Overlap = 1, 1
		if d := s.written.Sub(s.start).Seconds(); d > 0 {
			during.MiBPerSecond = float64(s.size) / (1 << 20) / d
		}
		rep.Windows = append(rep.Windows, during, without)
		rep.PairRatios = append(rep.PairRatios, float64(during.P99)/float64(without.P99))
		if from, to, ok := beforeNext(spans, p); ok {
			if w := windowOf(all, from, to, false); w.Writes >= minWindowWrites {
				late = append(late, w.P99)
			}
		}
	}
	if len(late) > 0 {
		rep.P99Before, rep.BeforeWindows = median(late), len(late)
	}
	if len(rep.PairRatios) < cfg.Rounds {
		return rep, fmt.Errorf("%d automatic snapshots in %v, %d of them with room for a window without one before the next and %d writes in each (%d had fewer); %d wanted",
			len(spans), limit, len(rep.PairRatios), minWindowWrites, thin, cfg.Rounds)
	}
	rep.summarize()
	rep.Snapshots = len(spans) // all seen, not only those in pairs
	return rep, nil
}

// minWindowWrites is the fewest writes a window's p99 is taken from; a
// pair with a thinner window is left out.
const minWindowWrites = 50

// snapSpan is one automatic snapshot as seen from its directory.
type snapSpan struct {
	tmp                 string    // its temporary file's name
	start, written, end time.Time // temp file seen; renamed; pruned
	size                int64     // its size once renamed
}

// listing is what the snapshots directory held at one moment.
type listing struct {
	tmp    string           // the temporary file, if any
	finals map[string]int64 // the finished snapshots, by name, and their sizes
}

// listSnapshots lists dir.
func listSnapshots(dir string) (listing, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return listing{}, err
	}
	l := listing{finals: make(map[string]int64, len(entries))}
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".tmp") {
			l.tmp = name
		} else if fi, err := e.Info(); err == nil { // else removed meanwhile
			l.finals[name] = fi.Size()
		}
	}
	return l, nil
}

// spanTracker follows automatic snapshots through successive listings of
// their directory. A snapshot is written once its temporary file is gone
// and the snapshot of the same name is there (a temporary file gone
// without it is a failed snapshot), and over once the directory is back
// to retain snapshots or the next one has started. A snapshot that comes
// and goes between two listings is not seen.
type spanTracker struct {
	done   []snapSpan // over, in order
	open   *snapSpan  // in progress, if any
	failed int        // snapshots whose temporary file went without them
}

// observe takes the listing l made at now.
func (s *spanTracker) observe(now time.Time, l listing, retain int) {
	if o := s.open; o != nil && o.written.IsZero() && l.tmp != o.tmp {
		if size, ok := l.finals[strings.TrimSuffix(o.tmp, ".tmp")]; ok {
			o.written, o.size = now, size
		} else {
			s.failed++
			s.open = nil
		}
	}
	if o := s.open; o != nil && !o.written.IsZero() && (len(l.finals) <= retain || l.tmp != "") {
		o.end = now
		s.done = append(s.done, *o)
		s.open = nil
	}
	if s.open == nil && l.tmp != "" {
		s.open = &snapSpan{tmp: l.tmp, start: now}
	}
}

// pair is a snapshot's window without: writes that started in [from, to).
type pair struct {
	span     int // index in the spans
	from, to time.Time
}

// pairs returns the windows without of the snapshots in spans whose window
// has ended by now: as long as the snapshot's own window, starting as long
// after it ends (a second at most), but cut short where the next snapshot
// (the next span, or open) starts, and left out if that leaves it under
// half the snapshot's length.
func pairs(spans []snapSpan, open *snapSpan, now time.Time) []pair {
	var out []pair
	for i, s := range spans {
		var next time.Time
		switch {
		case i+1 < len(spans):
			next = spans[i+1].start
		case open != nil:
			next = open.start
		}
		length := s.end.Sub(s.start)
		gap := min(time.Second, length)
		from, to := s.end.Add(gap), s.end.Add(gap+length)
		if !next.IsZero() && to.After(next) {
			to = next
		}
		if to.Sub(from) >= length/2 && !to.After(now) {
			out = append(out, pair{i, from, to})
		}
	}
	return out
}

// beforeNext returns the window right before the snapshot after p's: as
// long as p's snapshot, ending where the next starts, cut where p's window
// without ends, and not ok if that leaves under half or there is no next
// snapshot yet. Further from p's snapshot than p's window without, it
// shows whether that snapshot's after-effects (ext4 discarding the pruned
// file's blocks, compactions of the truncated log) raised p's window.
func beforeNext(spans []snapSpan, p pair) (from, to time.Time, ok bool) {
	if p.span+1 >= len(spans) {
		return from, to, false
	}
	s := spans[p.span]
	length := s.end.Sub(s.start)
	to = spans[p.span+1].start
	from = to.Add(-length)
	if from.Before(p.to) {
		from = p.to
	}
	return from, to, to.Sub(from) >= length/2
}

// timedWrite is one synced setData: when it started and how long it took.
type timedWrite struct {
	start   time.Time
	latency time.Duration
}

// runWriters starts cfg.Writers synced setData loops, each on a session
// of its own, that run until stop is closed or they fail (a writer that
// fails sends its error on errs and ends). offset shifts the nodes they
// write. wait waits for every writer to end and returns their writes.
func runWriters(ctx context.Context, db *zkembed.DB, cfg SnapshotImpactConfig, stop <-chan struct{}, offset int) (wait func() []timedWrite, errs <-chan error) {
	var mu sync.Mutex
	var all []timedWrite
	var wg sync.WaitGroup
	failed := make(chan error, cfg.Writers)
	for w := range cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := db.NewSession(ctx, nil)
			if err != nil {
				failed <- err
				return
			}
			defer s.Close(ctx)
			var mine []timedWrite
			defer func() {
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				if _, err := s.SetData(ctx, Path((w*7919+i*104729+offset)%cfg.Nodes), []byte("x"), -1); err != nil {
					failed <- err
					return
				}
				mine = append(mine, timedWrite{start, time.Since(start)})
			}
		}()
	}
	return func() []timedWrite { wg.Wait(); return all }, failed
}

// windowOf is the window of the writes that started in [from, to).
func windowOf(all []timedWrite, from, to time.Time, during bool) SnapshotImpactWindow {
	var in []timedWrite
	for _, w := range all {
		if !w.start.Before(from) && w.start.Before(to) {
			in = append(in, w)
		}
	}
	return windowOfAll(in, to.Sub(from), during)
}

// windowOfAll is the window of length holding the writes ws.
func windowOfAll(ws []timedWrite, length time.Duration, during bool) SnapshotImpactWindow {
	lat := make([]time.Duration, len(ws))
	for i, w := range ws {
		lat[i] = w.latency
	}
	return SnapshotImpactWindow{During: during, Length: length, Writes: len(lat),
		P50: percentile(lat, 50), P99: percentile(lat, 99)}
}
