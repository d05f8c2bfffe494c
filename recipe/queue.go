package recipe

import (
	"context"
	"errors"
	"fmt"

	"github.com/zkembed/zkembed/znode"
)

// queueName is the node name of a queue's items, as ZooKeeper's queue
// recipe (org.apache.zookeeper.recipes.queue.DistributedQueue) names them.
const queueName = "qn-"

// Queue is a distributed FIFO queue (ZooKeeper's queue recipe, Curator's
// DistributedQueue, kazoo's Queue): each item is a persistent sequential
// node "qn-<seq>" under the queue's directory holding the item's bytes,
// and a consumer takes the item with the lowest sequence by deleting it.
// Any child whose name ends in a ten-digit sequence counts as an item.
//
// Guarantees:
//   - Every item is returned by exactly one Take or TryTake: the delete
//     decides, and a consumer whose delete finds the node gone moves on to
//     the next item.
//   - Items leave (are deleted) in sequence order, the order in which the
//     server applied their Puts: an item whose Put returned before another
//     Put began leaves first, so one producer's items leave in its order.
//     A consumer deletes an item only after every older one is gone; but
//     two consumers may hand adjacent items to their callers in either
//     order.
//   - Items are persistent: they outlive the producer's session, and a
//     consumer's session ending loses nothing it has not taken.
//
// As in every ZooKeeper queue, a reply lost to a connection loss leaves the
// outcome unknown: a Put that fails with znode.ErrConnectionLoss may have
// added its item, and a Take that fails so may have removed one. An
// embedded session never loses a reply.
//
// Waiting consumers watch the directory's child list, so a Put wakes every
// waiting consumer (the recipe's herd effect: one of them wins the item).
// A Queue is safe for concurrent use.
type Queue struct {
	c   Client
	dir string
	acl []znode.ACL
}

// NewQueue returns the queue at dir, which is created when first needed.
func NewQueue(c Client, dir string) *Queue {
	return &Queue{c: c, dir: dir, acl: znode.OpenACL()}
}

// Put appends an item holding data.
func (q *Queue) Put(ctx context.Context, data []byte) error {
	for attempt := 0; ; attempt++ {
		_, err := q.c.Create(ctx, q.dir+"/"+queueName, data, znode.ModePersistentSequential, q.acl)
		if errors.Is(err, znode.ErrNoNode) && attempt < 3 {
			err = ensurePath(ctx, q.c, q.dir, q.acl)
			if err == nil {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("recipe: queue put %s: %w", q.dir, err)
		}
		return nil
	}
}

// Take removes and returns the item at the head of the queue, waiting for
// one as long as ctx allows. When ctx ends first it returns ctx's error and
// has taken nothing; when the session ends while it waits, ErrSessionLost.
func (q *Queue) Take(ctx context.Context) ([]byte, error) {
	for {
		data, ok, err := q.tryTake(ctx)
		if err == nil && ok {
			return data, nil
		}
		if err == nil {
			err = q.waitItems(ctx)
		}
		if err != nil {
			if ctx.Err() == nil && queueSessionOver(q.c) && !errors.Is(err, ErrSessionLost) {
				// A call saw the session's end before Done did.
				err = fmt.Errorf("%w (%w)", ErrSessionLost, err)
			}
			return nil, fmt.Errorf("recipe: queue take %s: %w", q.dir, err)
		}
	}
}

// queueSessionOver reports whether c's session has ended.
func queueSessionOver(c Client) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// waitItems returns when the directory may have items: it has some now, or
// its child list changed (or the watch was lost) since it had none.
func (q *Queue) waitItems(ctx context.Context) error {
	names, _, ch, err := q.c.ChildrenW(ctx, q.dir)
	if errors.Is(err, znode.ErrNoNode) {
		// No directory yet: wait for it (and so for the first Put).
		var ok bool
		ok, _, ch, err = q.c.ExistsW(ctx, q.dir)
		if err == nil && ok {
			return nil
		}
	}
	if err != nil {
		return err
	}
	if len(sortParticipants(names)) > 0 {
		return nil // the watch stays set and fires on a later change
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-q.c.Done():
		return ErrSessionLost
	}
}

// TryTake removes and returns the item at the head of the queue if there
// is one, and reports whether there was; it never waits for a Put.
func (q *Queue) TryTake(ctx context.Context) ([]byte, bool, error) {
	data, ok, err := q.tryTake(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("recipe: queue take %s: %w", q.dir, err)
	}
	return data, ok, nil
}

// tryTake takes the first item it can, trying them in sequence order: one
// another consumer takes first is passed over for the next.
func (q *Queue) tryTake(ctx context.Context) ([]byte, bool, error) {
	ps, err := participants(ctx, q.c, q.dir)
	if errors.Is(err, znode.ErrNoNode) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for _, p := range ps {
		data, ok, err := q.take(ctx, q.dir+"/"+p.name)
		if err != nil || ok {
			return data, ok, err
		}
	}
	return nil, false, nil
}

// take reads item and deletes it at the version read, so that what it
// returns is what it deleted. It reports false when another consumer took
// the item first.
func (q *Queue) take(ctx context.Context, item string) ([]byte, bool, error) {
	for {
		data, st, err := q.c.GetData(ctx, item)
		if errors.Is(err, znode.ErrNoNode) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		err = q.c.Delete(ctx, item, st.Version)
		switch {
		case err == nil:
			return data, true, nil
		case errors.Is(err, znode.ErrNoNode):
			return nil, false, nil
		case errors.Is(err, znode.ErrBadVersion):
			// Someone rewrote the item between our read and delete:
			// read it again rather than return bytes we did not delete.
		default:
			return nil, false, err
		}
	}
}

// Len returns the number of items in the queue.
func (q *Queue) Len(ctx context.Context) (int, error) {
	ps, err := participants(ctx, q.c, q.dir)
	if errors.Is(err, znode.ErrNoNode) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("recipe: queue len %s: %w", q.dir, err)
	}
	return len(ps), nil
}
