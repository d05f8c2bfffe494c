package recipe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkembed/zkembed/znode"
)

// The building blocks every queue-of-participants recipe shares: a
// protected sequential create, the participants in sequence order, and a
// wait for one node to go away.

// seqDigits is the width of ZooKeeper's sequence suffix.
const seqDigits = 10

// sequence returns the sequence number a sequential node's name ends with.
func sequence(name string) (int64, bool) {
	if len(name) < seqDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(name[len(name)-seqDigits:], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// protectedPrefix is Curator's protected-mode prefix: "_c_" and a random
// id that names the creator's node, so that a create whose reply was lost
// can be found again.
const protectedPrefix = "_c_"

// newProtectedID returns a random RFC 4122 version 4 UUID, the form
// Curator uses.
func newProtectedID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// participant is a sequential child of a recipe's directory.
type participant struct {
	name string
	seq  int64
}

// participants lists dir's children that end with a sequence number, in
// sequence order (ties, possible only after the counter wrapped, by name).
func participants(ctx context.Context, c Client, dir string) ([]participant, error) {
	names, _, err := c.GetChildren(ctx, dir)
	if err != nil {
		return nil, err
	}
	return sortParticipants(names), nil
}

func sortParticipants(names []string) []participant {
	out := make([]participant, 0, len(names))
	for _, n := range names {
		if seq, ok := sequence(n); ok {
			out = append(out, participant{name: n, seq: seq})
		}
	}
	slices.SortFunc(out, func(a, b participant) int {
		if a.seq != b.seq {
			if a.seq < b.seq {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// indexOf returns the position of name among ps, or -1.
func indexOf(ps []participant, name string) int {
	return slices.IndexFunc(ps, func(p participant) bool { return p.name == name })
}

// ensurePath creates path and its missing ancestors as persistent nodes
// with acl. Nodes that exist already are left as they are.
func ensurePath(ctx context.Context, c Client, path string, acl []znode.ACL) error {
	if path == "/" {
		return nil
	}
	ok, _, err := c.Exists(ctx, path)
	if err != nil || ok {
		return err
	}
	if parent, _ := znode.Split(path); parent != "/" {
		if err := ensurePath(ctx, c, parent, acl); err != nil {
			return err
		}
	}
	_, err = c.Create(ctx, path, nil, znode.ModePersistent, acl)
	if errors.Is(err, znode.ErrNodeExists) {
		return nil
	}
	return err
}

// createProtected creates dir/_c_<id>-<name><seq> with mode (a sequential
// one) and returns its full path. It creates dir if missing. When the
// reply is lost (connection loss) it looks for a child carrying id before
// trying again, as Curator's protected mode does, so a create that did
// happen is never made twice or left behind: the lookup is retried (even
// past ctx) until it answers or the session ends, and only a lookup that
// answered "not there" lets the create be tried again.
func createProtected(ctx context.Context, c Client, dir, id, name string, data []byte, mode znode.CreateMode, acl []znode.ACL) (string, error) {
	prefix := protectedPrefix + id + "-"
	for attempt := 0; ; attempt++ {
		p, err := c.Create(ctx, dir+"/"+prefix+name, data, mode, acl)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, znode.ErrNoNode) && attempt < 3:
			if err := ensurePath(ctx, c, dir, acl); err != nil {
				return "", err
			}
		case errors.Is(err, znode.ErrConnectionLoss):
			p, found, ferr := findProtected(ctx, c, dir, prefix)
			switch {
			case ferr != nil:
				return "", ferr // the session ended: its node, if any, goes with it
			case found:
				return p, nil
			case attempt >= 10:
				return "", err
			}
			if cerr := ctx.Err(); cerr != nil {
				return "", cerr
			}
		default:
			return "", err
		}
	}
}

// findProtected returns dir's child whose name starts with prefix. While
// the connection is down it tries again, ignoring ctx's end (a node it
// does not find could be left behind), until the session ends
// (ErrSessionLost).
func findProtected(ctx context.Context, c Client, dir, prefix string) (string, bool, error) {
	ctx = context.WithoutCancel(ctx)
	for attempt := 0; ; attempt++ {
		names, _, err := c.GetChildren(ctx, dir)
		switch {
		case err == nil:
			for _, n := range names {
				if strings.HasPrefix(n, prefix) {
					return dir + "/" + n, true, nil
				}
			}
			return "", false, nil
		case errors.Is(err, znode.ErrNoNode):
			return "", false, nil
		case !errors.Is(err, znode.ErrConnectionLoss) || sessionOver(c):
			return "", false, sessionCause(c, err)
		}
		if err := pause(ctx, c, retryDelay(attempt)); err != nil {
			return "", false, err
		}
	}
}

// retryDelay is the wait before retry attempt+1 of a request that met a
// connection loss: 10 ms, doubling, up to a second.
func retryDelay(attempt int) time.Duration {
	return min(10*time.Millisecond<<min(attempt, 7), time.Second)
}

// removeNode deletes path, ignoring ctx's end and retrying while the
// connection is down (Curator's guaranteed delete): a session outlives its
// connection, so a node left behind by a failed delete stays, and a
// contender's node that stays blocks every other contender. It gives up
// when the session ends (then the node goes with it) or on another error
// (ErrNoNode included).
func removeNode(ctx context.Context, c Client, path string) error {
	ctx = context.WithoutCancel(ctx)
	for attempt := 0; ; attempt++ {
		err := c.Delete(ctx, path, -1)
		switch {
		case err == nil, errors.Is(err, znode.ErrNoNode):
			return err
		case !errors.Is(err, znode.ErrConnectionLoss) || sessionOver(c):
			return err
		}
		if perr := pause(ctx, c, retryDelay(attempt)); perr != nil {
			return err
		}
	}
}

// cleanup deletes path even when ctx is cancelled (the reason to clean up
// is often exactly that), ignoring a node already gone, and retrying while
// the connection is down (see removeNode).
func cleanup(ctx context.Context, c Client, path string) error {
	err := removeNode(ctx, c, path)
	if errors.Is(err, znode.ErrNoNode) {
		return nil
	}
	return err
}

// waitGone returns when path does not exist. It watches with getData, as
// Curator waits for a predecessor: a node already gone then leaves no
// watch behind, where exists would leave one for a creation that never
// comes (names made unique by a sequence number or a uuid are not made
// again), holding a channel, and with go-zookeeper a goroutine, for the
// rest of the session. It fails with ctx's error when ctx ends and with
// ErrSessionLost when the session ends first.
func waitGone(ctx context.Context, c Client, path string) error {
	for {
		_, _, ch, err := c.GetW(ctx, path)
		if errors.Is(err, znode.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ch: // deleted, changed, or the watch was lost: look again
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Done():
			return ErrSessionLost
		}
	}
}

// sessionCause adds ErrSessionLost to cause when c's session has ended:
// that, not the connection error a request met on the way, is what the
// caller must act on.
func sessionCause(c Client, cause error) error {
	if sessionOver(c) && !errors.Is(cause, ErrSessionLost) {
		return fmt.Errorf("%w: %w", ErrSessionLost, cause)
	}
	return cause
}

// deleteHeld deletes the node of something held, even when ctx is
// cancelled, retrying while the connection is down. When the node's
// session has ended, the node is gone (or going) with it and the error is
// ErrSessionLost, whatever the delete said: a go-zookeeper client whose
// session expired fails requests with connection errors, then with
// ErrNoNode. (No node can be made in a session go-zookeeper opens after
// an expiry: the ZK Client refuses to work in it.)
func deleteHeld(ctx context.Context, c Client, node string) error {
	if sessionOver(c) {
		return ErrSessionLost
	}
	err := removeNode(ctx, c, node)
	if err == nil {
		return nil
	}
	if sessionOver(c) || errors.Is(err, znode.ErrNoNode) || errors.Is(err, znode.ErrSessionExpired) {
		return ErrSessionLost
	}
	return err
}

// sessionOver reports whether c's session has ended.
func sessionOver(c Client) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// pause waits for d. It fails with ctx's error when ctx ends first and with
// ErrSessionLost when c's session does.
func pause(ctx context.Context, c Client, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.Done():
		return ErrSessionLost
	}
}
