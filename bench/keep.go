package bench

import (
	"errors"
	"io"
	"sync"
)

// kept holds what a target starts for its runs (a durable engine, a wire
// server, an etcd server) from its first Open until Close, so that every
// run of a plan finds it as a server that stays up between runs is found:
// its log past pebble's first memtables and WAL files, its caches warm.
// (A ZooKeeper target is such a server; the runs on each work under their
// own new root.) Fresh for every run, a durable engine began each one
// with pebble's small first memtables and new WAL files: in turns with a
// build that kept it, it ran 3.4–4.1x a warm ZooKeeper's synced writes
// with 16 clients against 5.1–5.3x kept (BENCHMARKS.md, session 13). Kept, its background work (an automatic
// snapshot every Options.SnapshotEvery records, pebble's flushes) may
// still run when the next target's run starts, as a ZooKeeper's own
// snapshots may.
type kept[S any] struct {
	mu      sync.Mutex
	s       S
	stop    func() error
	started bool
}

// get returns the kept value, starting it with start on first use.
func (k *kept[S]) get(start func() (S, func() error, error)) (S, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.started {
		s, stop, err := start()
		if err != nil {
			return s, err
		}
		k.s, k.stop, k.started = s, stop, true
	}
	return k.s, nil
}

// Close stops the kept value, if one was started; the next get starts a
// new one.
func (k *kept[S]) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.started {
		return nil
	}
	var zero S
	err := k.stop()
	k.s, k.stop, k.started = zero, nil, false
	return err
}

// CloseTargets stops what the targets keep between runs (see Target).
func CloseTargets(targets []Target) error {
	var errs []error
	for _, t := range targets {
		if c, ok := t.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
