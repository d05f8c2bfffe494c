package shell

import (
	"context"
	"errors"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// Client is the session the shell drives: an embedded zkembed session
// (Embedded) or a go-zookeeper connection to a ZooKeeper server (Dial).
// Errors wrap znode's sentinels in a *znode.OpError carrying the path.
//
// Events carries every notification the session receives, in order, and
// holds a notification before the reply of the request that caused it
// returns (both zkembed and the ZooKeeper protocol send a notification
// ahead of the reply that could reveal its change), so the shell can print
// a command's events before its output, as zkCli usually does.
type Client interface {
	// Create makes a node; ttl, in milliseconds, is for the TTL modes.
	// It returns the path made (with the sequence suffix).
	Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL, ttl int64) (string, error)
	// Delete removes a node at version (-1: any).
	Delete(ctx context.Context, path string, version int32) error
	// DeleteMulti deletes paths, in order and at any version, in one
	// multi transaction.
	DeleteMulti(ctx context.Context, paths []string) error
	// Exists returns whether path exists and its Stat; watch sets an
	// exists watch (on a missing node too).
	Exists(ctx context.Context, path string, watch bool) (bool, znode.Stat, error)
	// Get returns a node's data (nil: null) and Stat; watch sets a data
	// watch.
	Get(ctx context.Context, path string, watch bool) ([]byte, znode.Stat, error)
	// Set replaces a node's data at version (-1: any).
	Set(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error)
	// Children returns a node's child names, unsorted, and its Stat;
	// watch sets a child watch.
	Children(ctx context.Context, path string, watch bool) ([]string, znode.Stat, error)
	// GetACL returns a node's ACL and Stat.
	GetACL(ctx context.Context, path string) ([]znode.ACL, znode.Stat, error)
	// SetACL replaces a node's ACL at ACL version (-1: any).
	SetACL(ctx context.Context, path string, acl []znode.ACL, version int32) (znode.Stat, error)
	// Sync waits until the session sees every write committed before.
	Sync(ctx context.Context, path string) error
	// AddAuth adds credentials (nil auth: ZooKeeper's null).
	AddAuth(ctx context.Context, scheme string, auth []byte) error
	// WhoAmI returns the session's identities.
	WhoAmI(ctx context.Context) ([]zkembed.ClientInfo, error)
	// Ephemerals returns the session's ephemeral paths under prefix.
	Ephemerals(ctx context.Context, prefix string) ([]string, error)
	// AllChildrenNumber counts the nodes below path.
	AllChildrenNumber(ctx context.Context, path string) (int, error)
	// AddWatch sets a persistent watch, recursive or not.
	AddWatch(ctx context.Context, path string, recursive bool) error
	// RemoveWatches removes the session's watches of kind on path.
	RemoveWatches(ctx context.Context, path string, kind zkembed.WatcherType) error
	// Events is the session's notification stream (see above).
	Events() <-chan znode.Event
	// Alive reports whether the session can still serve requests (zkCli
	// says "Not connected" otherwise).
	Alive() bool
	// Close ends the session.
	Close() error
}

// ErrUnsupported is returned for an operation the client library cannot
// send: go-zookeeper v1.0.4 has no whoAmI, getEphemerals,
// getAllChildrenNumber, addWatch or removeWatches.
var ErrUnsupported = errors.New("not supported by go-zookeeper")
