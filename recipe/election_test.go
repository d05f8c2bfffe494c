package recipe_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/recipe"
	"github.com/zkembed/zkembed/znode"
)

// watchingClient counts the watches a recipe sets on nodes that exist (a
// wait for a change) and its child listings, so that tests can tell when
// waiters are in place and who woke up.
type watchingClient struct {
	recipe.Client
	watches atomic.Int32
	lists   atomic.Int32
}

func (c *watchingClient) ExistsW(ctx context.Context, path string) (bool, znode.Stat, <-chan znode.Event, error) {
	ok, st, ch, err := c.Client.ExistsW(ctx, path)
	if err == nil && ok {
		c.watches.Add(1)
	}
	return ok, st, ch, err
}

func (c *watchingClient) GetW(ctx context.Context, path string) ([]byte, znode.Stat, <-chan znode.Event, error) {
	data, st, ch, err := c.Client.GetW(ctx, path)
	if err == nil {
		c.watches.Add(1)
	}
	return data, st, ch, err
}

func (c *watchingClient) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	c.lists.Add(1)
	return c.Client.GetChildren(ctx, path)
}

// eventually fails the test unless cond holds within 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// nextLeader returns the next value an observer delivers.
func nextLeader(t *testing.T, obs <-chan recipe.LeaderInfo) recipe.LeaderInfo {
	t.Helper()
	select {
	case info, ok := <-obs:
		require.True(t, ok, "observer closed")
		require.NoError(t, info.Err)
		return info
	case <-time.After(20 * time.Second):
		t.Fatal("observer: no new leader in 20 s")
		return recipe.LeaderInfo{}
	}
}

// notReturned fails if any of chans has a value now.
func notReturned(t *testing.T, what string, chans ...chan error) {
	t.Helper()
	for i, ch := range chans {
		select {
		case err := <-ch:
			t.Fatalf("%s %d returned early (%v)", what, i, err)
		default:
		}
	}
}

func countChildren(t *testing.T, c recipe.Client, dir string) int {
	t.Helper()
	names, _, err := c.GetChildren(context.Background(), dir)
	require.NoError(t, err)
	return len(names)
}

func recvErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("no result in 20 s")
		return nil
	}
}

// Five candidates on five sessions campaign, lead and resign, twice each:
// at no time do two of them lead, and while one leads every observer
// reads its id.
func TestElectionOneLeader(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		dir := b.root + "/one"
		obs := b.client(t)
		const n, rounds = 5, 2
		els := make([]*recipe.Election, n)
		for i := range els {
			els[i] = recipe.NewElection(b.client(t), dir, fmt.Appendf(nil, "cand-%d", i))
		}
		stop := make(chan struct{})
		var sampled, overlaps atomic.Int32
		var monitor sync.WaitGroup
		monitor.Go(func() { // a bystander sampling who leads
			for {
				select {
				case <-stop:
					return
				default:
				}
				leaders := 0
				for _, e := range els {
					if e.IsLeader() {
						leaders++
					}
				}
				if leaders > 1 {
					overlaps.Add(1)
				}
				sampled.Add(1)
				time.Sleep(100 * time.Microsecond)
			}
		})

		var inside, led atomic.Int32
		var wg sync.WaitGroup
		for i, e := range els {
			wg.Go(func() {
				for range rounds {
					if err := e.Campaign(ctx); err != nil {
						t.Error(err)
						return
					}
					if inside.Add(1) != 1 {
						overlaps.Add(1)
					}
					led.Add(1)
					id, node, err := recipe.Leader(ctx, obs, dir)
					if err != nil || string(id) != fmt.Sprintf("cand-%d", i) || node != e.Node() {
						t.Errorf("candidate %d leads; Leader says %q %s (%v)", i, id, node, err)
					}
					if !e.IsLeader() {
						t.Errorf("candidate %d: IsLeader false after Campaign", i)
					}
					time.Sleep(2 * time.Millisecond) // let the others try
					inside.Add(-1)
					if err := e.Resign(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		monitor.Wait()
		require.Zero(t, overlaps.Load(), "two leaders at once")
		require.EqualValues(t, n*rounds, led.Load())
		require.Positive(t, sampled.Load())
		waitChildren(t, obs, dir, 0)
		_, _, err := recipe.Leader(ctx, obs, dir)
		require.ErrorIs(t, err, recipe.ErrNoLeader)
	})
}

// Leadership passes in sequence order: when the leader resigns, and when
// its session expires, the next candidate takes over; a candidate leaving
// from the middle of the queue hands nothing on. Only the successor wakes
// (no herd), and an observer, started before the election's directory
// existed, sees each leader in turn.
func TestElectionFailover(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		dir := b.root + "/failover"
		oc := b.client(t)
		octx, ostop := context.WithCancel(ctx)
		defer ostop()
		obs := recipe.Observe(octx, oc, dir)
		require.Equal(t, "", nextLeader(t, obs).Node, "no directory, no leader")

		const n = 5
		var (
			cs      [n]*watchingClient
			els     [n]*recipe.Election
			cancels [n]context.CancelFunc
			results [n]chan error
		)
		for i := range n {
			cs[i] = &watchingClient{Client: b.client(t)}
			els[i] = recipe.NewElection(cs[i], dir, fmt.Appendf(nil, "cand-%d", i))
			var cctx context.Context
			cctx, cancels[i] = context.WithCancel(ctx)
			defer cancels[i]()
			results[i] = make(chan error, 1)
			go func() { results[i] <- els[i].Campaign(cctx) }()
			waitChildren(t, oc, dir, i+1) // in sequence order
		}
		expectLeader := func(i int) {
			t.Helper()
			require.NoError(t, recvErr(t, results[i]))
			require.True(t, els[i].IsLeader())
			info := nextLeader(t, obs)
			require.Equal(t, fmt.Sprintf("cand-%d", i), string(info.ID))
			require.Equal(t, els[i].Node(), info.Node)
			id, node, err := recipe.Leader(ctx, oc, dir)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("cand-%d", i), string(id))
			require.Equal(t, els[i].Node(), node)
		}
		expectLeader(0)
		// Everyone else waits, each on its predecessor.
		eventually(t, "candidates watching", func() bool {
			for _, c := range cs[1:] {
				if c.watches.Load() == 0 {
					return false
				}
			}
			return true
		})
		notReturned(t, "candidate", results[1:]...)
		lists := func() []int32 {
			var out []int32
			for _, c := range cs[2:] {
				out = append(out, c.lists.Load())
			}
			return out
		}
		before := lists()

		require.NoError(t, els[0].Resign(ctx))
		require.False(t, els[0].IsLeader())
		expectLeader(1)
		require.Equal(t, before, lists(), "candidates behind the successor woke up")
		notReturned(t, "candidate", results[2:]...)

		b.expire(t, cs[1].Client)
		select {
		case <-els[1].Lost():
		default:
			t.Fatal("Lost not closed after the leader's session expired")
		}
		require.False(t, els[1].IsLeader())
		expectLeader(2)
		require.ErrorIs(t, els[1].Resign(ctx), recipe.ErrSessionLost)

		// Candidate 3 withdraws; 4, which watched it, now waits for 2.
		cancels[3]()
		require.ErrorIs(t, recvErr(t, results[3]), context.Canceled)
		waitChildren(t, oc, dir, 2)
		notReturned(t, "candidate", results[4])
		require.False(t, els[4].IsLeader())

		require.NoError(t, els[2].Resign(ctx))
		expectLeader(4)
		require.NoError(t, els[4].Resign(ctx))
		require.Equal(t, "", nextLeader(t, obs).Node, "everyone left")
		_, _, err := recipe.Leader(ctx, oc, dir)
		require.ErrorIs(t, err, recipe.ErrNoLeader)

		ostop()
		select {
		case info, ok := <-obs:
			require.False(t, ok, "observer delivered %+v after its context ended", info)
		case <-time.After(20 * time.Second):
			t.Fatal("observer not closed after its context ended")
		}
	})
}

// A waiting candidate that gives up, by its context or by Resign, leaves
// no node; Campaign and Resign report misuse.
func TestElectionCancelAndResign(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := ctxFor(t)
		c := b.client(t)
		dir := b.root + "/cancel"
		_, _, err := recipe.Leader(ctx, c, dir)
		require.ErrorIs(t, err, recipe.ErrNoLeader, "no directory")

		leader := recipe.NewElection(c, dir, []byte("leader"))
		require.NoError(t, leader.Campaign(ctx))
		require.NoError(t, leader.Campaign(ctx), "Campaign on a leader")
		require.True(t, strings.HasPrefix(leader.Node(), dir+"/_c_"), leader.Node())
		require.Contains(t, leader.Node(), "-latch-", "Curator's LeaderLatch naming")
		data, _, err := c.GetData(ctx, leader.Node())
		require.NoError(t, err)
		require.Equal(t, "leader", string(data))

		// An observer starting now sees the leader first.
		octx, ostop := context.WithCancel(ctx)
		obs := recipe.Observe(octx, b.client(t), dir)
		require.Equal(t, "leader", string(nextLeader(t, obs).ID))
		ostop()
		for range obs { // drain until closed
		}

		other := b.client(t)
		wctx, cancel := context.WithCancel(ctx)
		waiter := recipe.NewElection(other, dir, []byte("waiter"))
		done := make(chan error, 1)
		go func() { done <- waiter.Campaign(wctx) }()
		waitChildren(t, c, dir, 2)
		cancel()
		require.ErrorIs(t, recvErr(t, done), context.Canceled)
		require.Equal(t, 1, countChildren(t, c, dir), "the cancelled candidate's node is gone when Campaign returns")
		require.Equal(t, "", waiter.Node())

		short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel2()
		require.ErrorIs(t, recipe.NewElection(other, dir, nil).Campaign(short), context.DeadlineExceeded)
		require.Equal(t, 1, countChildren(t, c, dir))

		resigner := recipe.NewElection(other, dir, []byte("resigner"))
		go func() { done <- resigner.Campaign(ctx) }()
		waitChildren(t, c, dir, 2)
		require.ErrorIs(t, resigner.Campaign(ctx), recipe.ErrCampaigning)
		require.NoError(t, resigner.Resign(ctx), "Resign while campaigning")
		require.Equal(t, 1, countChildren(t, c, dir), "Resign returned before the node went")
		require.ErrorIs(t, recvErr(t, done), recipe.ErrResigned)
		require.ErrorIs(t, resigner.Resign(ctx), recipe.ErrNotHeld)
		require.True(t, leader.IsLeader())

		require.NoError(t, leader.Resign(ctx))
		require.ErrorIs(t, leader.Resign(ctx), recipe.ErrNotHeld)
		require.False(t, leader.IsLeader())
		waitChildren(t, c, dir, 0)
		_, _, err = recipe.Leader(ctx, c, dir)
		require.ErrorIs(t, err, recipe.ErrNoLeader)

		// A resigned candidate may run again.
		require.NoError(t, leader.Campaign(ctx))
		require.True(t, leader.IsLeader())
		require.NoError(t, leader.Resign(ctx))
	})
}
