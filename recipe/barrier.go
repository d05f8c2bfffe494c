package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// Barrier is a barrier (ZooKeeper's barrier recipe, Curator's
// DistributedBarrier): while its node exists, Wait blocks; removing the
// node releases every waiter at once.
//
// The node is persistent, as Curator's is: a barrier outlives the session
// that set it, and stays set until someone removes it. A Barrier holds no
// state of its own and is safe for concurrent use.
type Barrier struct {
	c    Client
	path string
	acl  []znode.ACL
}

// NewBarrier returns the barrier whose node is path.
func NewBarrier(c Client, path string) *Barrier {
	return &Barrier{c: c, path: path, acl: znode.OpenACL()}
}

// Set sets the barrier by creating its node (and missing parents). Setting
// a barrier that is set already is not an error.
func (b *Barrier) Set(ctx context.Context) error {
	if err := ensurePath(ctx, b.c, b.path, b.acl); err != nil {
		return fmt.Errorf("recipe: set barrier %s: %w", b.path, err)
	}
	return nil
}

// Remove removes the barrier, releasing every waiter. Removing a barrier
// that is not set is not an error.
func (b *Barrier) Remove(ctx context.Context) error {
	err := b.c.Delete(ctx, b.path, -1)
	if err != nil && !errors.Is(err, znode.ErrNoNode) {
		return fmt.Errorf("recipe: remove barrier %s: %w", b.path, err)
	}
	return nil
}

// Wait blocks while the barrier is set: it returns nil once its node does
// not exist (at once if it never did), ctx's error when ctx ends first and
// ErrSessionLost when the session does.
func (b *Barrier) Wait(ctx context.Context) error {
	// An exists watch, as Curator's: a barrier not set yet may be set
	// later, and a watch on its creation is then what a waiter wants.
	if err := waitGone(ctx, b.c, b.path); err != nil {
		return fmt.Errorf("recipe: wait barrier %s: %w", b.path, err)
	}
	return nil
}

// readyName is the node a double barrier's last participant creates to
// let everyone in, as Curator's DistributedDoubleBarrier names it.
const readyName = "ready"

// ErrEntered is returned by Enter on a DoubleBarrier that has entered (or
// is entering or leaving) already: one DoubleBarrier is one participant.
var ErrEntered = errors.New("recipe: double barrier already entered")

// DoubleBarrier is one participant of a double barrier (ZooKeeper's double
// barrier recipe, Curator's DistributedDoubleBarrier): Enter returns once
// count participants have entered, and Leave once all who entered have
// left, so that a group starts a computation together and finishes it
// together.
//
// Each participant is an ephemeral node named by a random uuid under the
// barrier's directory; the participant whose node makes the count reach
// count creates the persistent node "ready", on which every participant
// waits. count is a threshold, not a limit: later participants enter at
// once while "ready" exists. Leave follows the classic algorithm: the
// participant lowest in name order waits for the highest to go, every
// other one deletes its node and waits for the lowest, which goes last;
// each waits on one node, never the whole directory. Whoever sees the
// directory empty of participants deletes "ready" (the first one does).
//
// A directory serves one round at a time: participants of the next round
// should enter after everyone has left the last. The methods are safe for
// concurrent use.
type DoubleBarrier struct {
	c     Client
	dir   string
	count int
	acl   []znode.ACL

	mu   sync.Mutex
	busy bool   // Enter or Leave is running
	node string // our node while entered
}

// NewDoubleBarrier returns a participant of the double barrier at dir
// (created when first needed) that lets participants in once count of them
// have entered.
func NewDoubleBarrier(c Client, dir string, count int) *DoubleBarrier {
	return &DoubleBarrier{c: c, dir: dir, count: count, acl: znode.OpenACL()}
}

// Enter joins the barrier and returns once count participants have
// joined. When ctx ends first, the participant's node is deleted and ctx's
// error returned; when the session ends first, ErrSessionLost.
func (b *DoubleBarrier) Enter(ctx context.Context) error {
	if b.count < 1 {
		return fmt.Errorf("recipe: enter %s: count %d: %w", b.dir, b.count, znode.ErrBadArguments)
	}
	b.mu.Lock()
	if b.busy || b.node != "" {
		b.mu.Unlock()
		return ErrEntered
	}
	b.busy = true
	b.mu.Unlock()
	node, err := b.enter(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.busy = false
	if err == nil {
		b.node = node
	}
	return err
}

func (b *DoubleBarrier) enter(ctx context.Context) (string, error) {
	node := b.dir + "/" + newProtectedID()
	if err := b.join(ctx, node); err != nil {
		return "", b.fail(ctx, "enter", "", err)
	}
	ready := b.dir + "/" + readyName
	for {
		// The watch on "ready" is set before counting: whoever completes
		// the count later creates "ready" after it, and so wakes us.
		ok, _, ch, err := b.c.ExistsW(ctx, ready)
		if err != nil {
			return "", b.fail(ctx, "enter", node, err)
		}
		if ok {
			return node, nil
		}
		names, _, err := b.c.GetChildren(ctx, b.dir)
		if err != nil {
			return "", b.fail(ctx, "enter", node, err)
		}
		ps := barrierParticipants(names)
		if !slices.Contains(ps, node[len(b.dir)+1:]) { // our ephemeral is gone: the session ended
			return "", b.fail(ctx, "enter", "", ErrSessionLost)
		}
		if len(ps) >= b.count {
			// Persistent: a participant that has not looked yet must still
			// find it if our session ends now.
			_, err := b.c.Create(ctx, ready, nil, znode.ModePersistent, b.acl)
			if err != nil && !errors.Is(err, znode.ErrNodeExists) {
				return "", b.fail(ctx, "enter", node, err)
			}
			return node, nil
		}
		select {
		case <-ch: // "ready" created, or the watch was lost: look again
		case <-ctx.Done():
			return "", b.fail(ctx, "enter", node, ctx.Err())
		case <-b.c.Done():
			return "", b.fail(ctx, "enter", node, ErrSessionLost)
		}
	}
}

// join creates the participant's ephemeral node, and dir if missing. The
// name is fresh, so after a lost reply an existing node is ours: the
// lookup waits for the connection (findProtected, as a protected create
// does) rather than give up with a node that would count as a participant
// for the whole session and that nothing would delete.
func (b *DoubleBarrier) join(ctx context.Context, node string) error {
	name := node[len(b.dir)+1:]
	for attempt := 0; ; attempt++ {
		_, err := b.c.Create(ctx, node, nil, znode.ModeEphemeral, b.acl)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, znode.ErrNoNode) && attempt < 3:
			if err := ensurePath(ctx, b.c, b.dir, b.acl); err != nil {
				return err
			}
		case errors.Is(err, znode.ErrConnectionLoss):
			_, found, ferr := findProtected(ctx, b.c, b.dir, name)
			switch {
			case ferr != nil:
				return ferr // the session ended: its node, if any, goes with it
			case found:
				return nil // enter deletes it if ctx has ended meanwhile
			case attempt >= 10:
				return err
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
		default:
			return err
		}
	}
}

// Leave leaves the barrier and returns once every participant has left
// (the directory holds no participant). It fails with ErrNotHeld if the
// participant has not entered. The participant's node is deleted whatever
// happens: when ctx ends first Leave returns ctx's error having left, but
// without seeing the others go.
func (b *DoubleBarrier) Leave(ctx context.Context) error {
	b.mu.Lock()
	if b.busy {
		b.mu.Unlock()
		return ErrEntered
	}
	if b.node == "" {
		b.mu.Unlock()
		return ErrNotHeld
	}
	node := b.node
	b.busy = true
	b.mu.Unlock()
	err := b.leave(ctx, node)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.busy, b.node = false, ""
	return err
}

func (b *DoubleBarrier) leave(ctx context.Context, node string) error {
	name := node[len(b.dir)+1:]
	mine := node // our node while it exists, then ""
	for {
		names, _, err := b.c.GetChildren(ctx, b.dir)
		if err != nil && !errors.Is(err, znode.ErrNoNode) {
			return b.fail(ctx, "leave", mine, err)
		}
		ps := barrierParticipants(names)
		if len(ps) == 0 {
			break
		}
		i := slices.Index(ps, name)
		if i < 0 && mine != "" { // our ephemeral is gone: the session ended
			return b.fail(ctx, "leave", "", ErrSessionLost)
		}
		var watch string
		switch {
		case i == 0 && len(ps) == 1: // the last one
			if err := cleanup(ctx, b.c, mine); err != nil {
				return b.fail(ctx, "leave", mine, err)
			}
			mine = ""
			continue // to see the directory empty
		case i == 0: // the lowest goes last: wait for the highest
			watch = ps[len(ps)-1]
		default: // go now, then wait for the lowest, which goes last
			if mine != "" {
				if err := cleanup(ctx, b.c, mine); err != nil {
					return b.fail(ctx, "leave", mine, err)
				}
				mine = ""
			}
			watch = ps[0]
		}
		if err := waitGone(ctx, b.c, b.dir+"/"+watch); err != nil {
			return b.fail(ctx, "leave", mine, err)
		}
	}
	// Everybody has left, so nobody waits for "ready" any more.
	if err := cleanup(ctx, b.c, b.dir+"/"+readyName); err != nil {
		return fmt.Errorf("recipe: leave %s: %w", b.dir, err)
	}
	return nil
}

// fail deletes node unless it is "" (even when ctx is cancelled) and
// returns cause wrapped, ErrSessionLost when an operation failed because
// the session ended.
func (b *DoubleBarrier) fail(ctx context.Context, op string, node string, cause error) error {
	if node != "" {
		_ = cleanup(ctx, b.c, node) // a node that stays is ephemeral: it goes with the session
	}
	if ctx.Err() == nil && sessionOver(b.c) {
		cause = ErrSessionLost
	}
	return fmt.Errorf("recipe: %s %s: %w", op, b.dir, cause)
}

// Node returns the path of the participant's node while it is entered
// (from Enter's return until Leave's), or "".
func (b *DoubleBarrier) Node() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.node
}

// barrierParticipants returns the participants' names among a double
// barrier's children, sorted.
func barrierParticipants(names []string) []string {
	out := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == readyName })
	slices.Sort(out)
	return out
}
