package recipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zkembed/zkembed/znode"
)

// latchName is the node name of an election's candidates, as Curator's
// LeaderLatch names them.
const latchName = "latch-"

// ErrNoLeader is returned by Leader when an election has no candidate.
var ErrNoLeader = errors.New("recipe: no leader")

// ErrResigned is returned by a Campaign that Resign ended before it won.
var ErrResigned = errors.New("recipe: resigned")

// ErrCampaigning is returned by Campaign on an Election whose Campaign is
// already running: one Election is one candidate.
var ErrCampaigning = errors.New("recipe: already campaigning")

// Election is one candidate in a leader election (ZooKeeper's election
// recipe, with the guarantees of Curator's LeaderLatch): each candidate
// creates an ephemeral sequential node under the election's directory,
// holding its id; the lowest sequence leads, and every other candidate
// watches only the node just before its own, so a leader's departure wakes
// exactly one candidate, its successor in sequence order.
//
// Nodes are named "_c_<uuid>-latch-<seq>" like Curator's LeaderLatch's,
// and their data is the candidate's id, so Curator's participants and
// observers and ours see the same leader. Any child ending in a sequence
// number counts as a candidate.
//
// Leadership lasts until Resign or the end of the session (Lost): a leader
// must stop acting as one when Lost is closed, because its node is gone and
// its successor is taking over. The methods are safe for concurrent use.
type Election struct {
	c   Client
	dir string
	id  []byte
	acl []znode.ACL

	mu       sync.Mutex
	resign   context.CancelCauseFunc // ends the running Campaign; nil when none runs
	finished chan struct{}           // closed when the running Campaign returns
	node     string                  // our node while campaigning or leading
	leader   bool
}

// NewElection returns a candidate for the election at dir (created when
// first needed). id is stored in the candidate's node so that observers
// (Leader, Observe) can tell who leads.
func NewElection(c Client, dir string, id []byte) *Election {
	return &Election{c: c, dir: dir, id: id, acl: znode.OpenACL()}
}

// Campaign runs for leadership and returns once the candidate leads. When
// ctx ends first, or Resign is called, the candidate's node is deleted and
// ctx's error (or ErrResigned) is returned; when the session ends first,
// ErrSessionLost. Campaign on a leader returns nil at once.
func (e *Election) Campaign(ctx context.Context) error {
	select {
	case <-e.c.Done():
		// A go-zookeeper connection would open a new session for the
		// create, unknown to Lost: refuse rather than lead unseen.
		return fmt.Errorf("recipe: campaign %s: %w", e.dir, ErrSessionLost)
	default:
	}
	e.mu.Lock()
	if e.resign != nil {
		e.mu.Unlock()
		return ErrCampaigning
	}
	if e.leader {
		e.mu.Unlock()
		return nil
	}
	cctx, cancel := context.WithCancelCause(ctx)
	finished := make(chan struct{})
	e.resign, e.finished = cancel, finished
	e.mu.Unlock()

	err := e.campaign(cctx)
	cancel(nil)
	e.mu.Lock()
	e.resign, e.finished = nil, nil
	e.leader = err == nil
	if err != nil {
		e.node = ""
	}
	e.mu.Unlock()
	close(finished)
	return err
}

// campaign creates the candidate's node and, while it is not the lowest,
// waits for its predecessor. On error the node is deleted.
func (e *Election) campaign(ctx context.Context) error {
	node, err := createProtected(ctx, e.c, e.dir, newProtectedID(), latchName, e.id, znode.ModeEphemeralSequential, e.acl)
	if err != nil {
		return e.abandon(ctx, "", err)
	}
	e.mu.Lock()
	e.node = node // from now on Resign can find it
	e.mu.Unlock()
	name := node[len(e.dir)+1:]
	for {
		if err := ctx.Err(); err != nil { // Resign or ctx ended during the create
			return e.abandon(ctx, node, err)
		}
		ps, err := participants(ctx, e.c, e.dir)
		if err != nil {
			return e.abandon(ctx, node, err)
		}
		i := indexOf(ps, name)
		switch {
		case i < 0: // our ephemeral is gone: the session ended
			return e.abandon(ctx, "", ErrSessionLost)
		case i == 0:
			return nil
		}
		if err := waitGone(ctx, e.c, e.dir+"/"+ps[i-1].name); err != nil {
			return e.abandon(ctx, node, err)
		}
	}
}

// abandon deletes node unless it is "" (even when ctx is cancelled) and
// returns cause, wrapped: ErrResigned when Resign cancelled ctx,
// ErrSessionLost when an operation failed because the session ended.
func (e *Election) abandon(ctx context.Context, node string, cause error) error {
	if node != "" {
		_ = cleanup(ctx, e.c, node) // a node that stays is ephemeral: it goes with the session
	}
	switch {
	case errors.Is(context.Cause(ctx), ErrResigned):
		cause = ErrResigned
	case ctx.Err() == nil && sessionOver(e.c):
		cause = ErrSessionLost
	}
	return fmt.Errorf("recipe: campaign %s: %w", e.dir, cause)
}

// Resign gives up leadership, or candidacy if Campaign is running (which
// then returns ErrResigned), and returns once the candidate's node is
// deleted. It fails with ErrNotHeld if the candidate neither leads nor
// campaigns. A leader whose session ended has lost leadership already;
// Resign then reports ErrSessionLost.
func (e *Election) Resign(ctx context.Context) error {
	e.mu.Lock()
	if resign := e.resign; resign != nil {
		finished := e.finished
		resign(ErrResigned)
		e.mu.Unlock()
		select {
		case <-finished: // Campaign deleted the node unless it won first
		case <-ctx.Done():
			return fmt.Errorf("recipe: resign %s: %w", e.dir, ctx.Err())
		}
		e.mu.Lock()
		if !e.leader {
			e.mu.Unlock()
			return nil
		}
	}
	defer e.mu.Unlock()
	if !e.leader {
		return ErrNotHeld
	}
	node := e.node
	e.node, e.leader = "", false
	if err := deleteHeld(ctx, e.c, node); err != nil {
		return fmt.Errorf("recipe: resign %s: %w", e.dir, err)
	}
	return nil
}

// IsLeader reports whether the candidate leads: Campaign succeeded, Resign
// was not called and the session has not ended.
func (e *Election) IsLeader() bool {
	e.mu.Lock()
	leader := e.leader
	e.mu.Unlock()
	return leader && !sessionOver(e.c)
}

// Node returns the path of the candidate's node while it campaigns or
// leads, or "".
func (e *Election) Node() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.node
}

// Lost returns a channel closed when the session behind the candidate
// ends: from then on a leader no longer leads (its node is deleted by the
// server and its successor takes over).
func (e *Election) Lost() <-chan struct{} { return e.c.Done() }

// LeaderInfo is the leader of an election as an observer sees it.
type LeaderInfo struct {
	// ID is the leader's id (its node's data).
	ID []byte
	// Node is the leader's node; "" when the election has no candidate.
	Node string
	// Err, on the last value Observe delivers, says why observing stopped
	// before its context ended (ErrSessionLost, or an error of the
	// session's).
	Err error
}

// Leader returns the id and node of the election's leader at dir: the
// candidate with the lowest sequence, which leads or is about to (its
// Campaign may not have returned yet). It fails with ErrNoLeader when there
// is no candidate. Anyone may ask, candidate or not.
func Leader(ctx context.Context, c Client, dir string) (id []byte, node string, err error) {
	info, _, err := leaderOf(ctx, c, dir, false)
	if err != nil {
		return nil, "", fmt.Errorf("recipe: leader %s: %w", dir, err)
	}
	if info.Node == "" {
		return nil, "", fmt.Errorf("recipe: leader %s: %w", dir, ErrNoLeader)
	}
	return info.ID, info.Node, nil
}

// Observe delivers the leader of the election at dir (Node "" when there
// is none), first as it is now and then at each change, until ctx ends or
// the session does (then a last value carries ErrSessionLost); the channel
// is then closed. Read it until it is closed or end ctx: Observe waits for
// each value to be received. A reader slower than the changes sees the
// leader current when it reads, not every leader in between.
//
// It watches the leader's node (a leader changes only when its node goes,
// since every later candidate has a higher sequence), and the directory
// only while there is no candidate, so candidates coming and going behind
// the leader cost an observer nothing.
func Observe(ctx context.Context, c Client, dir string) <-chan LeaderInfo {
	out := make(chan LeaderInfo)
	go observe(ctx, c, dir, out)
	return out
}

// observe is Observe's goroutine; it ends with ctx or the session.
func observe(ctx context.Context, c Client, dir string, out chan<- LeaderInfo) {
	defer close(out)
	send := func(info LeaderInfo) bool {
		select {
		case out <- info:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var last *LeaderInfo
	backoff := 10 * time.Millisecond
	for {
		info, changed, err := leaderOf(ctx, c, dir, true)
		switch {
		case ctx.Err() != nil:
			return
		case sessionOver(c):
			send(LeaderInfo{Err: fmt.Errorf("recipe: observe %s: %w", dir, ErrSessionLost)})
			return
		case errors.Is(err, znode.ErrConnectionLoss):
			// The client reconnects by itself; look again when it has.
			select {
			case <-time.After(backoff):
				backoff = min(2*backoff, time.Second)
				continue
			case <-ctx.Done():
				return
			}
		case err != nil:
			send(LeaderInfo{Err: fmt.Errorf("recipe: observe %s: %w", dir, err)})
			return
		}
		backoff = 10 * time.Millisecond
		if last == nil || info.Node != last.Node || !bytes.Equal(info.ID, last.ID) {
			if !send(info) {
				return
			}
			last = &info
		}
		select {
		case <-changed: // the leader went (or changed its id), or the watch was lost: look again
		case <-ctx.Done():
			return
		case <-c.Done(): // the next look reports it
		}
	}
}

// leaderOf returns the election's leader (Node "" when there is none) and,
// with watch, a channel that gets an event when that may have changed: a
// watch on the leader's node, on the directory's children while there is
// no candidate, or on the directory's creation while it does not exist.
func leaderOf(ctx context.Context, c Client, dir string, watch bool) (LeaderInfo, <-chan znode.Event, error) {
	for {
		ps, err := participants(ctx, c, dir)
		switch {
		case errors.Is(err, znode.ErrNoNode):
			if !watch {
				return LeaderInfo{}, nil, nil
			}
			ok, _, ch, err := c.ExistsW(ctx, dir)
			if err != nil || ok {
				if err != nil {
					return LeaderInfo{}, nil, err
				}
				continue // created meanwhile
			}
			return LeaderInfo{}, ch, nil
		case err != nil:
			return LeaderInfo{}, nil, err
		case len(ps) == 0:
			if !watch {
				return LeaderInfo{}, nil, nil
			}
			names, _, ch, err := c.ChildrenW(ctx, dir)
			if errors.Is(err, znode.ErrNoNode) {
				continue // deleted meanwhile
			}
			if err != nil {
				return LeaderInfo{}, nil, err
			}
			if len(sortParticipants(names)) > 0 {
				continue // a candidate came meanwhile; the watch fires at a later change, harmlessly
			}
			return LeaderInfo{}, ch, nil
		}
		node := dir + "/" + ps[0].name
		var id []byte
		var ch <-chan znode.Event
		if watch {
			id, _, ch, err = c.GetW(ctx, node)
		} else {
			id, _, err = c.GetData(ctx, node)
		}
		if errors.Is(err, znode.ErrNoNode) {
			continue // the leader left between the listing and the read
		}
		if err != nil {
			return LeaderInfo{}, nil, err
		}
		return LeaderInfo{ID: id, Node: node}, ch, nil
	}
}
