package recipe

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// lockName is the node name of an exclusive lock's participants, as
// Curator's InterProcessMutex and go-zookeeper's Lock name theirs.
const lockName = "lock-"

// LockOptions adjusts a Lock. The zero value (or nil) is the default.
type LockOptions struct {
	// Data is stored in the lock node, for observers (who holds it).
	Data []byte
	// ACL of the lock node and of the directory if it is created
	// (default: world:anyone ALL).
	ACL []znode.ACL
}

// Lock is an exclusive lock (ZooKeeper's lock recipe): each contender
// creates an ephemeral sequential node under the lock's directory; the
// lowest sequence holds the lock and every other contender watches only
// the node just before its own, so a release wakes exactly one waiter.
//
// A Lock is one contender: use one Lock value per goroutine (several may
// share a Client). Its nodes are named "_c_<uuid>-lock-<seq>", like
// Curator's InterProcessMutex and go-zookeeper's Lock, so those holders and
// ours exclude each other; any child ending in a sequence number counts as
// a contender, so kazoo's "<id>__lock__<seq>" holders exclude ours too. For
// kazoo to respect ours, give its Lock extra_lock_patterns=("-lock-",).
type Lock struct {
	c    Client
	dir  string
	data []byte
	acl  []znode.ACL

	mu        sync.Mutex
	acquiring bool       // Lock or TryLock is running
	node      string     // our node while held
	token     znode.Zxid // node's czxid while held
}

// NewLock returns a contender for the lock at dir (created when first
// needed). opts may be nil.
func NewLock(c Client, dir string, opts *LockOptions) *Lock {
	l := &Lock{c: c, dir: dir, acl: znode.OpenACL()}
	if opts != nil {
		l.data = opts.Data
		if opts.ACL != nil {
			l.acl = opts.ACL
		}
	}
	return l
}

// ErrLockHeld is returned by Lock and TryLock on a Lock that already
// holds (or is acquiring) its lock: a Lock is not reentrant.
var ErrLockHeld = errors.New("recipe: lock already held by this contender")

// Lock acquires the lock, waiting as long as ctx allows. When ctx ends
// first, the contender's node is deleted and ctx's error returned. If the
// session ends while waiting it returns ErrSessionLost.
func (l *Lock) Lock(ctx context.Context) error {
	_, err := l.acquire(ctx, true)
	return err
}

// TryLock acquires the lock if it is free now and reports whether it did;
// it never waits for another holder.
func (l *Lock) TryLock(ctx context.Context) (bool, error) {
	return l.acquire(ctx, false)
}

func (l *Lock) acquire(ctx context.Context, wait bool) (bool, error) {
	l.mu.Lock()
	if l.acquiring || l.node != "" {
		l.mu.Unlock()
		return false, ErrLockHeld
	}
	l.acquiring = true
	l.mu.Unlock()
	node, held, err := l.contend(ctx, wait)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acquiring = false
	if held {
		l.node = node
	}
	return held, err
}

// contend creates the contender's node and, while it is not the lowest,
// waits for its predecessor (or gives up, without wait). It returns the
// node and whether it holds the lock; the node is deleted unless held.
func (l *Lock) contend(ctx context.Context, wait bool) (string, bool, error) {
	node, err := createProtected(ctx, l.c, l.dir, newProtectedID(), lockName, l.data, znode.ModeEphemeralSequential, l.acl)
	if err != nil {
		return "", false, fmt.Errorf("recipe: lock %s: %w", l.dir, err)
	}
	name := node[len(l.dir)+1:]
	for {
		ps, err := participants(ctx, l.c, l.dir)
		if err != nil {
			return "", false, l.abandon(ctx, node, err)
		}
		i := indexOf(ps, name)
		switch {
		case i < 0: // our ephemeral is gone: the session ended
			return "", false, fmt.Errorf("recipe: lock %s: %w", l.dir, ErrSessionLost)
		case i == 0:
			ok, st, err := l.c.Exists(ctx, node)
			if err != nil {
				return "", false, l.abandon(ctx, node, err)
			}
			if !ok {
				return "", false, fmt.Errorf("recipe: lock %s: %w", l.dir, ErrSessionLost)
			}
			l.mu.Lock()
			l.token = st.Czxid
			l.mu.Unlock()
			return node, true, nil
		case !wait:
			return "", false, l.abandon(ctx, node, nil)
		}
		if err := waitGone(ctx, l.c, l.dir+"/"+ps[i-1].name); err != nil {
			return "", false, l.abandon(ctx, node, err)
		}
	}
}

// abandon deletes node (even when ctx is cancelled) and returns cause,
// wrapped, or the delete's error when cause is nil.
func (l *Lock) abandon(ctx context.Context, node string, cause error) error {
	err := cleanup(ctx, l.c, node)
	if cause != nil {
		return fmt.Errorf("recipe: lock %s: %w", l.dir, sessionCause(l.c, cause))
	}
	return err
}

// Unlock releases the lock by deleting the holder's node. It fails with
// ErrNotHeld if the Lock does not hold it. A holder whose session ended
// has lost the lock already; Unlock then reports ErrSessionLost.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node == "" {
		return ErrNotHeld
	}
	node := l.node
	l.node, l.token = "", 0
	if err := deleteHeld(ctx, l.c, node); err != nil {
		return fmt.Errorf("recipe: unlock %s: %w", l.dir, err)
	}
	return nil
}

// Token returns the fencing token of the held lock: the czxid of the
// holder's node, which grows with every acquisition of the lock (a later
// holder's node is created later). Hand it to the resource the lock
// guards so that it can refuse a stale holder. 0 when not held.
func (l *Lock) Token() znode.Zxid {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node == "" {
		return 0
	}
	return l.token
}

// Node returns the path of the holder's node, or "" when not held.
func (l *Lock) Node() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.node
}

// Lost returns a channel closed when the session behind the lock ends:
// from then on a held lock is no longer held (its node is deleted by the
// server) and the holder must stop acting on it.
func (l *Lock) Lost() <-chan struct{} { return l.c.Done() }
