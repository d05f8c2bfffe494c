package recipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/zkembed/zkembed/znode"
)

// ErrBadCounterValue is returned when a counter's node holds something
// other than an 8-byte big-endian int64 (or nothing).
var ErrBadCounterValue = errors.New("recipe: counter node does not hold an 8-byte big-endian int64")

// Counter is a shared 64-bit counter in one persistent node (Curator's
// DistributedAtomicLong in its optimistic mode, and SharedCount's
// versioned compare-and-set): every change is a setData conditioned on
// the version just read, so concurrent changes from any number of
// sessions are serialised by the server and none is lost.
//
// The node holds the value as 8 bytes, big-endian two's complement: the
// encoding of DistributedAtomicLong, so Curator and this Counter can share
// a node. (SharedCount's 4-byte int is not compatible.) An empty node reads
// as 0, as in DistributedAtomicLong. Arithmetic wraps around like Java's
// long and Go's int64.
//
// The node is created, holding 0, when first needed; it is persistent, so
// the count survives every session. A Counter is safe for concurrent use.
type Counter struct {
	c    Client
	path string
	acl  []znode.ACL
}

// NewCounter returns the counter stored at path.
func NewCounter(c Client, path string) *Counter {
	return &Counter{c: c, path: path, acl: znode.OpenACL()}
}

// Get returns the counter's value and the Stat of its node; Stat.Version is
// what CompareAndSet expects. It creates the node (holding 0) if absent, so
// that a version always names a value someone can see.
func (ct *Counter) Get(ctx context.Context) (int64, znode.Stat, error) {
	for {
		v, st, err := ct.read(ctx)
		if errors.Is(err, znode.ErrNoNode) {
			if err = ct.create(ctx); err == nil {
				continue
			}
		}
		if err != nil {
			return 0, znode.Stat{}, fmt.Errorf("recipe: counter %s: %w", ct.path, err)
		}
		return v, st, nil
	}
}

// Add adds delta to the counter and returns the new value. It retries its
// compare-and-set until no other change comes between its read and its
// write, backing off a little when contended.
func (ct *Counter) Add(ctx context.Context, delta int64) (int64, error) {
	for attempt := 0; ; attempt++ {
		v, st, err := ct.Get(ctx)
		if err != nil {
			return 0, err
		}
		_, err = ct.c.SetData(ctx, ct.path, encodeCounter(v+delta), st.Version)
		switch {
		case err == nil:
			return v + delta, nil
		case errors.Is(err, znode.ErrBadVersion), errors.Is(err, znode.ErrNoNode):
			// Another change came first (or the node was deleted): again.
		default:
			return 0, fmt.Errorf("recipe: counter %s: %w", ct.path, err)
		}
		if err := counterBackoff(ctx, ct.c, attempt); err != nil {
			return 0, fmt.Errorf("recipe: counter %s: %w", ct.path, err)
		}
	}
}

// CompareAndSet sets the counter to value if its node is still at
// expectedVersion (a Stat.Version from Get) and reports whether it did.
// A false result means another change came first; read again with Get.
func (ct *Counter) CompareAndSet(ctx context.Context, expectedVersion int32, value int64) (bool, error) {
	if expectedVersion < 0 {
		// -1 would mean "any version" to ZooKeeper: not a compare.
		return false, fmt.Errorf("recipe: counter %s: version %d: %w", ct.path, expectedVersion, znode.ErrBadArguments)
	}
	_, err := ct.c.SetData(ctx, ct.path, encodeCounter(value), expectedVersion)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, znode.ErrBadVersion):
		return false, nil
	}
	return false, fmt.Errorf("recipe: counter %s: %w", ct.path, err)
}

// Wait returns the counter's value once cond holds for it, watching the
// node between checks. It fails with ctx's error when ctx ends first and
// with ErrSessionLost when the session does.
func (ct *Counter) Wait(ctx context.Context, cond func(int64) bool) (int64, error) {
	for {
		data, _, ch, err := ct.c.GetW(ctx, ct.path)
		var v int64
		switch {
		case errors.Is(err, znode.ErrNoNode):
			// An absent counter is 0; watch for its creation.
			var ok bool
			ok, _, ch, err = ct.c.ExistsW(ctx, ct.path)
			if err == nil && ok {
				continue
			}
		case err == nil:
			v, err = decodeCounter(data)
		}
		if err != nil {
			return 0, fmt.Errorf("recipe: counter %s: %w", ct.path, err)
		}
		if cond(v) {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, fmt.Errorf("recipe: counter %s: %w", ct.path, ctx.Err())
		case <-ct.c.Done():
			return 0, fmt.Errorf("recipe: counter %s: %w", ct.path, ErrSessionLost)
		}
	}
}

// read returns the node's value and Stat.
func (ct *Counter) read(ctx context.Context) (int64, znode.Stat, error) {
	data, st, err := ct.c.GetData(ctx, ct.path)
	if err != nil {
		return 0, znode.Stat{}, err
	}
	v, err := decodeCounter(data)
	return v, st, err
}

// create makes the node holding 0, with its missing ancestors; a node that
// another session created first is as good.
func (ct *Counter) create(ctx context.Context) error {
	_, err := ct.c.Create(ctx, ct.path, encodeCounter(0), znode.ModePersistent, ct.acl)
	if errors.Is(err, znode.ErrNoNode) {
		if parent, _ := znode.Split(ct.path); parent != "/" {
			if err = ensurePath(ctx, ct.c, parent, ct.acl); err == nil {
				_, err = ct.c.Create(ctx, ct.path, encodeCounter(0), znode.ModePersistent, ct.acl)
			}
		}
	}
	if errors.Is(err, znode.ErrNodeExists) {
		return nil
	}
	return err
}

func encodeCounter(v int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(v))
}

func decodeCounter(data []byte) (int64, error) {
	switch len(data) {
	case 0:
		return 0, nil
	case 8:
		return int64(binary.BigEndian.Uint64(data)), nil
	}
	return 0, fmt.Errorf("%w (it holds %d bytes)", ErrBadCounterValue, len(data))
}

// counterBackoff sleeps a random while that grows with attempt (up to about 10
// ms), so that contenders that collided spread out; the first retry is
// immediate.
func counterBackoff(ctx context.Context, c Client, attempt int) error {
	if attempt == 0 {
		return nil
	}
	return pause(ctx, c, time.Duration(rand.Int64N(int64(min(attempt, 10))*int64(time.Millisecond))))
}
