package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// The layout of a semaphore's directory, as Curator's
// InterProcessSemaphoreV2 lays it out: an exclusive lock that lets one
// acquirer at a time count, and the leases.
const (
	semaphoreLocks  = "locks"
	semaphoreLeases = "leases"
	leaseName       = "lease-"
)

// SemaphoreOptions adjusts a Semaphore. The zero value (or nil) is the
// default.
type SemaphoreOptions struct {
	// Data is stored in every lease node, for observers (who holds one).
	Data []byte
	// ACL of the nodes and of the directories the semaphore creates
	// (default: world:anyone ALL).
	ACL []znode.ACL
}

// ErrLeaseCount is returned for a semaphore of fewer than one lease, and
// by AcquireN for fewer than one lease or more than the semaphore has
// (which could never be granted).
var ErrLeaseCount = errors.New("recipe: lease count out of range")

// Semaphore is a counting semaphore across sessions (Curator's
// InterProcessSemaphoreV2): at most maxLeases leases are held at once,
// each an ephemeral sequential node under dir/leases, so a session's end
// returns its leases.
//
// Acquirers take turns through an exclusive Lock on dir/locks. The one
// whose turn it is creates its lease node and counts the leases: if there
// are at most maxLeases (its own included) it keeps the lease, else it
// waits, watching the leases, until one is released, and counts again. It
// then lets the next acquirer in. Waiting in turn is what keeps acquirers
// from starving each other; the count, made after the lease node exists,
// is what keeps the bound (of any maxLeases+1 leases the last one created
// sees all the others).
//
// Every Semaphore on a directory must be given the same maxLeases, as
// Curator requires. A Semaphore may be shared by goroutines: each Acquire
// is a contender of its own. Node names are Curator's:
// "_c_<uuid>-lock-<seq>" under locks and "_c_<uuid>-lease-<seq>" under
// leases, so its semaphores and ours share leases.
type Semaphore struct {
	c    Client
	dir  string
	max  int
	data []byte
	acl  []znode.ACL
}

// NewSemaphore returns a semaphore of maxLeases leases at dir (created when
// first needed). opts may be nil.
func NewSemaphore(c Client, dir string, maxLeases int, opts *SemaphoreOptions) *Semaphore {
	s := &Semaphore{c: c, dir: dir, max: maxLeases, acl: znode.OpenACL()}
	if opts != nil {
		s.data = opts.Data
		if opts.ACL != nil {
			s.acl = opts.ACL
		}
	}
	return s
}

// Lease is one held lease of a Semaphore.
type Lease struct {
	c    Client
	dir  string
	node string

	mu       sync.Mutex
	released bool
}

// Acquire takes a lease, waiting as long as ctx allows for its turn and
// for a lease to be released. When ctx ends first its nodes are deleted
// and ctx's error returned; when the session ends while waiting,
// ErrSessionLost.
func (s *Semaphore) Acquire(ctx context.Context) (*Lease, error) {
	ls, err := s.AcquireN(ctx, 1)
	if err != nil {
		return nil, err
	}
	return ls[0], nil
}

// AcquireN takes n leases, all or none, waiting as Acquire does. Unlike
// Curator's, it keeps its turn until it has all n, so that two acquirers
// that each got some of what they need cannot wait for each other forever.
func (s *Semaphore) AcquireN(ctx context.Context, n int) ([]*Lease, error) {
	if s.max < 1 || n < 1 || n > s.max {
		return nil, fmt.Errorf("recipe: semaphore %s: %d of %d leases: %w", s.dir, n, s.max, ErrLeaseCount)
	}
	turn := NewLock(s.c, s.dir+"/"+semaphoreLocks, &LockOptions{ACL: s.acl})
	if err := turn.Lock(ctx); err != nil {
		return nil, err
	}
	var leases []*Lease
	var err error
	for range n {
		var l *Lease
		if l, err = s.take(ctx, true); err != nil {
			break
		}
		leases = append(leases, l)
	}
	if uerr := s.endTurn(ctx, turn); err == nil {
		err = uerr
	}
	if err != nil {
		for _, l := range leases {
			_ = l.Release(ctx) // best effort: they are ephemeral
		}
		return nil, err
	}
	return leases, nil
}

// TryAcquire takes a lease if one is free now; it returns nil and no error
// when every lease is held. It never waits, not even for its turn: like
// java.util.concurrent.Semaphore's tryAcquire, it may take a lease an
// acquirer was waiting for. Two TryAcquires racing for the last lease may
// both give up.
func (s *Semaphore) TryAcquire(ctx context.Context) (*Lease, error) {
	if s.max < 1 {
		return nil, fmt.Errorf("recipe: semaphore %s: %d leases: %w", s.dir, s.max, ErrLeaseCount)
	}
	return s.take(ctx, false)
}

// endTurn lets the next acquirer in. A lock node left behind would stall
// every acquirer until this session ended, so a failed unlock is tried
// once more.
func (s *Semaphore) endTurn(ctx context.Context, turn *Lock) error {
	node := turn.Node()
	err := turn.Unlock(ctx)
	if err == nil || errors.Is(err, ErrSessionLost) {
		return err
	}
	if err := deleteHeld(ctx, s.c, node); err != nil {
		return fmt.Errorf("recipe: semaphore %s: %w", s.dir, err)
	}
	return nil
}

// take creates a lease node and keeps it once at most max leases exist,
// waiting for that (or, without wait, giving up: nil, nil). The node is
// deleted unless kept.
func (s *Semaphore) take(ctx context.Context, wait bool) (*Lease, error) {
	dir := s.dir + "/" + semaphoreLeases
	node, err := createProtected(ctx, s.c, dir, newProtectedID(), leaseName, s.data, znode.ModeEphemeralSequential, s.acl)
	if err != nil {
		return nil, fmt.Errorf("recipe: semaphore %s: %w", s.dir, err)
	}
	base := node[len(dir)+1:]
	for {
		var names []string
		var ch <-chan znode.Event // only a waiter needs the watch
		if wait {
			names, _, ch, err = s.c.ChildrenW(ctx, dir)
		} else {
			names, _, err = s.c.GetChildren(ctx, dir)
		}
		if err != nil {
			return nil, s.abandon(ctx, node, err)
		}
		switch {
		case !slices.Contains(names, base): // our ephemeral is gone: the session ended
			return nil, fmt.Errorf("recipe: semaphore %s: %w", s.dir, ErrSessionLost)
		case len(names) <= s.max:
			return &Lease{c: s.c, dir: s.dir, node: node}, nil
		case !wait:
			return nil, s.abandon(ctx, node, nil)
		}
		select {
		case <-ch: // a lease came or went, or the watch was lost: count again
		case <-ctx.Done():
			return nil, s.abandon(ctx, node, ctx.Err())
		case <-s.c.Done():
			return nil, fmt.Errorf("recipe: semaphore %s: %w", s.dir, ErrSessionLost)
		}
	}
}

// abandon deletes node (even when ctx is cancelled) and returns cause,
// wrapped, or the delete's error when cause is nil.
func (s *Semaphore) abandon(ctx context.Context, node string, cause error) error {
	err := cleanup(ctx, s.c, node)
	if cause != nil {
		return fmt.Errorf("recipe: semaphore %s: %w", s.dir, sessionCause(s.c, cause))
	}
	return err
}

// Release returns the lease by deleting its node, which wakes the
// acquirer waiting for one. It fails with ErrNotHeld when called again,
// and with ErrSessionLost if the lease's session ended (the lease was
// returned already).
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return ErrNotHeld
	}
	l.released = true
	if err := deleteHeld(ctx, l.c, l.node); err != nil {
		return fmt.Errorf("recipe: release lease of %s: %w", l.dir, err)
	}
	return nil
}

// Node returns the path of the lease's node.
func (l *Lease) Node() string { return l.node }

// Lost returns a channel closed when the session behind the lease ends:
// from then on the lease is no longer held (its node is deleted by the
// server) and the holder must stop acting on it.
func (l *Lease) Lost() <-chan struct{} { return l.c.Done() }
