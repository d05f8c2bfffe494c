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
// directory back to SnapshotRetain files), so the file's fsync and the
// deletion of the oldest snapshot fall in it; its window without is as
// long, and starts as long after it ends (a second at most). A window
// without that would reach the next snapshot is cut short there, and
// left out with its snapshot's if that leaves it under half as long.
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
	// snapshots have ended and been followed by their window without, or
	// a writer fails.
	snaps := filepath.Join(dir, "snapshots")
	stop := make(chan struct{})
	wait, errs := runWriters(ctx, db, cfg, stop)
	var spans []snapSpan
	var open *snapSpan
	limit := time.Duration(cfg.Rounds+2) * 2 * time.Minute
	deadline := time.Now().Add(limit)
	for {
		time.Sleep(time.Millisecond)
		now := time.Now()
		tmp, finals, size, err := listSnapshots(snaps)
		if err != nil {
			close(stop)
			wait()
			return rep, err
		}
		if open == nil && tmp != "" {
			open = &snapSpan{start: now}
		}
		if open != nil && tmp == "" && open.written.IsZero() {
			open.written, open.size = now, size
		}
		if open != nil && !open.written.IsZero() && finals <= zkembed.DefaultSnapshotRetain {
			open.end = now
			spans = append(spans, *open)
			open = nil
		}
		if len(pairs(spans, open, now)) >= cfg.Rounds || now.After(deadline) || len(errs) > 0 {
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
	var late []time.Duration // p99s of the windows before the next snapshot
	for _, p := range pairs(spans, open, end) {
		s := spans[p.span]
		during, without := windowOf(all, s.start, s.end, true), windowOf(all, p.from, p.to, false)
		during.Snapshots, during.Overlap = 1, 1
		if d := s.written.Sub(s.start).Seconds(); d > 0 {
			during.MiBPerSecond = float64(s.size) / (1 << 20) / d
		}
		rep.Windows = append(rep.Windows, during, without)
		rep.PairRatios = append(rep.PairRatios, float64(during.P99)/float64(without.P99))
		if from, to, ok := beforeNext(spans, p); ok {
			late = append(late, windowOf(all, from, to, false).P99)
		}
	}
	if len(late) > 0 {
		rep.P99Before = median(late)
	}
	if len(rep.PairRatios) < cfg.Rounds {
		return rep, fmt.Errorf("%d automatic snapshots in %v, %d of them with room for a window without one before the next; %d wanted",
			len(spans), limit, len(rep.PairRatios), cfg.Rounds)
	}
	rep.summarize()
	return rep, nil
}

// snapSpan is one automatic snapshot as seen from its directory.
type snapSpan struct {
	start, written, end time.Time // temp file seen; renamed; pruned
	size                int64     // the newest snapshot's size once renamed
}

// listSnapshots returns the temporary file in dir (if any), how many
// finished snapshots it holds, and the size of the newest.
func listSnapshots(dir string) (tmp string, finals int, newest int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, 0, err
	}
	var last string
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".tmp"):
			tmp = name
		default:
			finals++
			last = max(last, name) // names sort by zxid (fixed-width hex)
		}
	}
	if last != "" {
		if fi, err := os.Stat(filepath.Join(dir, last)); err == nil {
			newest = fi.Size()
		}
	}
	return tmp, finals, newest, nil
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
// fails sends its error on errs and ends). wait waits for every writer to
// end and returns their writes.
func runWriters(ctx context.Context, db *zkembed.DB, cfg SnapshotImpactConfig, stop <-chan struct{}) (wait func() []timedWrite, errs <-chan error) {
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
				if _, err := s.SetData(ctx, Path((w*7919+i*104729)%cfg.Nodes), []byte("x"), -1); err != nil {
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
	var lat []time.Duration
	for _, w := range all {
		if !w.start.Before(from) && w.start.Before(to) {
			lat = append(lat, w.latency)
		}
	}
	return SnapshotImpactWindow{During: during, Length: to.Sub(from), Writes: len(lat),
		P50: percentile(lat, 50), P99: percentile(lat, 99)}
}
