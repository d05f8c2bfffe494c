package recipe

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// The node names of a read-write lock's participants, as Curator's
// InterProcessReadWriteLock names them (both eight characters long: Curator
// sorts by what follows them).
const (
	readLockName  = "__READ__"
	writeLockName = "__WRIT__"
)

// RWLock is a read-write lock (ZooKeeper's shared lock recipe): readers
// and writers queue as ephemeral sequential nodes in one directory, in
// sequence order. A writer holds the lock when its node is the lowest of
// all; a reader holds it when no writer's node comes before its own. So
// many readers hold it at once, a writer holds it alone, and the queue is
// fair: a reader that arrives after a waiting writer waits for that writer
// rather than starving it.
//
// Waiting watches one node: a writer its immediate predecessor, a reader
// the last writer before it (the readers in between do not matter to it),
// so a release wakes only those it lets in.
//
// An RWLock is one contender, holding either side or none at a time: use
// one value per goroutine (several may share a Client). It is not
// reentrant and, unlike Curator's, does not let a writer take the read
// side too: Curator's downgrade (write, then read, then unlock the write)
// can let a writer queued meanwhile in alongside the downgraded reader.
//
// Nodes are named "_c_<uuid>-__READ__<seq>" and "_c_<uuid>-__WRIT__<seq>",
// like Curator's, so its readers and writers and ours share one lock. A
// child whose name does not contain "__READ__" but ends in a sequence
// number (a writer, or an exclusive Lock on the same directory) counts as
// a writer: readers never pass it.
type RWLock struct {
	c    Client
	dir  string
	data []byte
	acl  []znode.ACL

	mu        sync.Mutex
	acquiring bool       // a Lock/RLock or TryLock/TryRLock is running
	node      string     // our node while held
	write     bool       // node is a writer's
	token     znode.Zxid // node's czxid while held
}

// NewRWLock returns a contender for the read-write lock at dir (created
// when first needed). opts may be nil; its Data goes into the node of
// either side.
func NewRWLock(c Client, dir string, opts *LockOptions) *RWLock {
	l := &RWLock{c: c, dir: dir, acl: znode.OpenACL()}
	if opts != nil {
		l.data = opts.Data
		if opts.ACL != nil {
			l.acl = opts.ACL
		}
	}
	return l
}

// Lock acquires the write lock, waiting as long as ctx allows, until every
// participant queued before it (reader or writer) has left. When ctx ends
// first, the contender's node is deleted and ctx's error returned; when
// the session ends while waiting, ErrSessionLost. It fails with
// ErrLockHeld if the RWLock holds (or is acquiring) either side.
func (l *RWLock) Lock(ctx context.Context) error {
	_, err := l.acquire(ctx, true, true)
	return err
}

// TryLock acquires the write lock if nobody holds or waits for the lock
// now, and reports whether it did; it never waits.
func (l *RWLock) TryLock(ctx context.Context) (bool, error) {
	return l.acquire(ctx, true, false)
}

// RLock acquires the read lock, waiting as long as ctx allows until no
// writer is queued before it: other readers do not hold it up, a writer
// that queued earlier (holding or waiting) does. Errors are those of Lock.
func (l *RWLock) RLock(ctx context.Context) error {
	_, err := l.acquire(ctx, false, true)
	return err
}

// TryRLock acquires the read lock if no writer holds or waits for the
// lock now, and reports whether it did; it never waits.
func (l *RWLock) TryRLock(ctx context.Context) (bool, error) {
	return l.acquire(ctx, false, false)
}

func (l *RWLock) acquire(ctx context.Context, write, wait bool) (bool, error) {
	l.mu.Lock()
	if l.acquiring || l.node != "" {
		l.mu.Unlock()
		return false, ErrLockHeld
	}
	l.acquiring = true
	l.mu.Unlock()
	node, token, held, err := l.contend(ctx, write, wait)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acquiring = false
	if held {
		l.node, l.write, l.token = node, write, token
	}
	return held, err
}

// rwSide names the side in errors.
func rwSide(write bool) string {
	if write {
		return "write lock"
	}
	return "read lock"
}

// isReader tells a reader's node from everything else; Curator too looks
// for the name anywhere in the node's name.
func isReader(name string) bool { return strings.Contains(name, readLockName) }

// blocker returns the index of the participant that keeps ps[i] from
// holding the lock, the one to wait for, or -1 when ps[i] holds it.
func blocker(ps []participant, i int, write bool) int {
	if write {
		return i - 1 // its predecessor, whatever it is; -1 at the head
	}
	for j := i - 1; j >= 0; j-- {
		if !isReader(ps[j].name) {
			return j
		}
	}
	return -1
}

// contend creates the contender's node and waits (or, without wait, gives
// up) until no participant blocks it. It returns the node, its czxid and
// whether it holds the lock; the node is deleted unless held.
func (l *RWLock) contend(ctx context.Context, write, wait bool) (string, znode.Zxid, bool, error) {
	name := readLockName
	if write {
		name = writeLockName
	}
	node, err := createProtected(ctx, l.c, l.dir, newProtectedID(), name, l.data, znode.ModeEphemeralSequential, l.acl)
	if err != nil {
		return "", 0, false, fmt.Errorf("recipe: %s %s: %w", rwSide(write), l.dir, err)
	}
	base := node[len(l.dir)+1:]
	for {
		ps, err := participants(ctx, l.c, l.dir)
		if err != nil {
			return "", 0, false, l.abandon(ctx, write, node, err)
		}
		i := indexOf(ps, base)
		if i < 0 { // our ephemeral is gone: the session ended
			return "", 0, false, fmt.Errorf("recipe: %s %s: %w", rwSide(write), l.dir, ErrSessionLost)
		}
		j := blocker(ps, i, write)
		if j < 0 {
			ok, st, err := l.c.Exists(ctx, node)
			if err != nil {
				return "", 0, false, l.abandon(ctx, write, node, err)
			}
			if !ok {
				return "", 0, false, fmt.Errorf("recipe: %s %s: %w", rwSide(write), l.dir, ErrSessionLost)
			}
			return node, st.Czxid, true, nil
		}
		if !wait {
			return "", 0, false, l.abandon(ctx, write, node, nil)
		}
		if err := waitGone(ctx, l.c, l.dir+"/"+ps[j].name); err != nil {
			return "", 0, false, l.abandon(ctx, write, node, err)
		}
	}
}

// abandon deletes node (even when ctx is cancelled) and returns cause,
// wrapped, or the delete's error when cause is nil.
func (l *RWLock) abandon(ctx context.Context, write bool, node string, cause error) error {
	err := cleanup(ctx, l.c, node)
	if cause != nil {
		return fmt.Errorf("recipe: %s %s: %w", rwSide(write), l.dir, sessionCause(l.c, cause))
	}
	return err
}

// Unlock releases the write lock. It fails with ErrNotHeld if the RWLock
// does not hold the write side, and with ErrSessionLost if its session
// ended (the lock was lost already).
func (l *RWLock) Unlock(ctx context.Context) error { return l.release(ctx, true) }

// RUnlock releases the read lock. It fails with ErrNotHeld if the RWLock
// does not hold the read side, and with ErrSessionLost if its session
// ended (the lock was lost already).
func (l *RWLock) RUnlock(ctx context.Context) error { return l.release(ctx, false) }

func (l *RWLock) release(ctx context.Context, write bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node == "" || l.write != write {
		return ErrNotHeld
	}
	node := l.node
	l.node, l.write, l.token = "", false, 0
	if err := deleteHeld(ctx, l.c, node); err != nil {
		return fmt.Errorf("recipe: un%s %s: %w", rwSide(write), l.dir, err)
	}
	return nil
}

// Token returns the fencing token of the held side: the czxid of the
// holder's node, larger for a node queued later. A writer holds only once
// everyone queued before it has left, so a resource that remembers the
// largest token a writer showed it can refuse any smaller one: a stale
// writer, or a reader whose turn ended before that writer's. 0 when
// nothing is held.
func (l *RWLock) Token() znode.Zxid {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node == "" {
		return 0
	}
	return l.token
}

// Node returns the path of the holder's node, or "" when nothing is held.
func (l *RWLock) Node() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.node
}

// Lost returns a channel closed when the session behind the lock ends:
// from then on a held side is no longer held (its node is deleted by the
// server) and the holder must stop acting on it.
func (l *RWLock) Lost() <-chan struct{} { return l.c.Done() }
