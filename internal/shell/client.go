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
	Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL, ttl int64) (string, error)
	Delete(ctx context.Context, path string, version int32) error
	// DeleteMulti deletes paths, in order and at any version, in one
	// multi transaction.
	DeleteMulti(ctx context.Context, paths []string) error
	Exists(ctx context.Context, path string, watch bool) (bool, znode.Stat, error)
	Get(ctx context.Context, path string, watch bool) ([]byte, znode.Stat, error)
	Set(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error)
	Children(ctx context.Context, path string, watch bool) ([]string, znode.Stat, error)
	GetACL(ctx context.Context, path string) ([]znode.ACL, znode.Stat, error)
	SetACL(ctx context.Context, path string, acl []znode.ACL, version int32) (znode.Stat, error)
	Sync(ctx context.Context, path string) error
	AddAuth(ctx context.Context, scheme string, auth []byte) error
	WhoAmI(ctx context.Context) ([]zkembed.ClientInfo, error)
	Ephemerals(ctx context.Context, prefix string) ([]string, error)
	AllChildrenNumber(ctx context.Context, path string) (int, error)
	AddWatch(ctx context.Context, path string, recursive bool) error
	RemoveWatches(ctx context.Context, path string, kind zkembed.WatcherType) error
	Events() <-chan znode.Event
	// Alive reports whether the session can still serve requests (zkCli
	// says "Not connected" otherwise).
	Alive() bool
	Close() error
}

// ErrUnsupported is returned for an operation the client library cannot
// send: go-zookeeper v1.0.4 has no whoAmI, getEphemerals,
// getAllChildrenNumber, addWatch or removeWatches.
var ErrUnsupported = errors.New("not supported by go-zookeeper")
