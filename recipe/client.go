package recipe

import (
	"context"
	"errors"

	"github.com/zkembed/zkembed/znode"
)

// Client is what the recipes need of a ZooKeeper session. Two
// implementations come with zkembed: an embedded session
// (zkembed.Session.RecipeClient) and a go-zookeeper connection to any
// ZooKeeper ensemble, or to `zkembed serve` (ZK, Connect). Errors wrap the
// sentinels of package znode (znode.ErrNoNode, znode.ErrNodeExists, ...),
// whichever the implementation, so recipes test them with errors.Is.
//
// Watch channels follow ZooKeeper's one-shot rule: each gets one event and
// may then be closed. An event of type znode.EventNone means the watch
// ended without a change (its session ended, or the connection was lost
// and the watch with it); the recipes then look again or give up.
type Client interface {
	// Create makes a node and returns its path (with the sequence suffix
	// for sequential modes).
	Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL) (string, error)
	// Delete removes a node if its version matches (-1: any).
	Delete(ctx context.Context, path string, version int32) error
	// Exists reports whether path exists, with its Stat.
	Exists(ctx context.Context, path string) (bool, znode.Stat, error)
	// ExistsW is Exists and a one-shot watch for the node's creation,
	// deletion or data change.
	ExistsW(ctx context.Context, path string) (bool, znode.Stat, <-chan znode.Event, error)
	// GetData returns a node's data and Stat.
	GetData(ctx context.Context, path string) ([]byte, znode.Stat, error)
	// GetW is GetData and a one-shot watch for the node's deletion or data
	// change.
	GetW(ctx context.Context, path string) ([]byte, znode.Stat, <-chan znode.Event, error)
	// SetData replaces a node's data if its version matches (-1: any).
	SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error)
	// GetChildren returns the names of a node's children, unsorted.
	GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error)
	// ChildrenW is GetChildren and a one-shot watch for a change of the
	// child list or the node's deletion.
	ChildrenW(ctx context.Context, path string) ([]string, znode.Stat, <-chan znode.Event, error)
	// AddWatch sets a persistent watch (recursive: on the whole subtree).
	// A client whose protocol library cannot send addWatch returns an
	// error matching ErrNoPersistentWatches; recipes that prefer
	// persistent watches then fall back to one-shot ones.
	AddWatch(ctx context.Context, path string, recursive bool) (PersistentWatch, error)
	// SessionID is the id of the client's current session.
	SessionID() int64
	// Done is closed once the session has ended (closed or expired): every
	// ephemeral node it owned is gone or about to be.
	Done() <-chan struct{}
}

// PersistentWatch is a watch set by Client.AddWatch.
type PersistentWatch interface {
	// Events delivers the watch's events; it is closed when the watch ends.
	Events() <-chan znode.Event
	// Close removes the watch.
	Close() error
}

// ErrNoPersistentWatches is returned by Client.AddWatch when the client
// cannot set persistent watches (go-zookeeper v1.0.4 has no addWatch).
var ErrNoPersistentWatches = errors.New("recipe: client cannot set persistent watches")

// ErrSessionLost is returned by a recipe whose session ended while it held
// or waited for something: what it held (a lock, a lease, a leadership) is
// no longer held.
var ErrSessionLost = errors.New("recipe: session lost")

// ErrNotHeld is returned when releasing something that is not held.
var ErrNotHeld = errors.New("recipe: not held")
