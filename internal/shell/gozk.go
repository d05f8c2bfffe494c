package shell

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/internal/zkconv"
	"github.com/zkembed/zkembed/znode"
)

// eventBacklog bounds the notifications a go-zookeeper client holds for
// the shell. go-zookeeper hands them over in its receive loop, which must
// never block; past the bound they are counted as dropped.
const eventBacklog = 1 << 16

// gozk is a Client on a go-zookeeper connection. Notifications reach it
// through go-zookeeper's event callback, which runs in the receive loop
// before the reply that follows them is delivered.
type gozk struct {
	conn    *zk.Conn
	events  chan znode.Event
	dropped atomic.Int64
	dead    atomic.Bool
}

// Dial connects to a ZooKeeper server (or zkembed serve) at server
// ("host:port", or a comma-separated list) and waits until the session is
// established or ctx ends.
func Dial(ctx context.Context, server string, sessionTimeout time.Duration) (Client, error) {
	c := &gozk{events: make(chan znode.Event, eventBacklog)}
	conn, _, err := zk.Connect(strings.Split(server, ","), sessionTimeout,
		zk.WithLogInfo(false), zk.WithLogger(quiet{}), zk.WithEventCallback(c.callback))
	if err != nil {
		return nil, err
	}
	c.conn = conn
	for conn.State() != zk.StateHasSession {
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, fmt.Errorf("connect to %s: %w", server, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return c, nil
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// callback turns go-zookeeper's events into the notifications zkCli
// prints: watch events, and the session's state changes.
func (c *gozk) callback(ev zk.Event) {
	e := znode.Event{Path: ev.Path, State: znode.State(ev.State)}
	switch ev.Type {
	case zk.EventNodeCreated, zk.EventNodeDeleted, zk.EventNodeDataChanged, zk.EventNodeChildrenChanged:
		e.Type = znode.EventType(ev.Type)
	case zk.EventSession:
		e.Type = znode.EventNone
		switch ev.State {
		case zk.StateHasSession:
			e.State = znode.StateSyncConnected
		case zk.StateDisconnected:
			e.State = znode.StateDisconnected
		case zk.StateExpired:
			c.dead.Store(true)
			e.State = znode.StateExpired
		case zk.StateAuthFailed:
			c.dead.Store(true)
			e.State = znode.StateAuthFailed
		default: // connecting, connected: go-zookeeper's own steps
			return
		}
	default:
		return
	}
	select {
	case c.events <- e:
	default:
		c.dropped.Add(1)
	}
}

func (c *gozk) Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL, ttl int64) (string, error) {
	var p string
	var err error
	switch {
	case mode == znode.ModeContainer:
		p, err = c.conn.CreateContainer(path, data, zk.FlagContainer, zkconv.ACL(acl))
	case mode.IsTTL():
		p, err = c.conn.CreateTTL(path, data, int32(mode), zkconv.ACL(acl), time.Duration(ttl)*time.Millisecond)
	default:
		p, err = c.conn.Create(path, data, int32(mode), zkconv.ACL(acl))
	}
	return p, zkconv.OpError("create", path, err)
}

func (c *gozk) Delete(ctx context.Context, path string, version int32) error {
	return zkconv.OpError("delete", path, c.conn.Delete(path, version))
}

func (c *gozk) DeleteMulti(ctx context.Context, paths []string) error {
	ops := make([]any, len(paths))
	for i, p := range paths {
		ops[i] = &zk.DeleteRequest{Path: p, Version: -1}
	}
	res, err := c.conn.Multi(ops...)
	for i, r := range res {
		if r.Error != nil {
			return zkconv.OpError("multi", paths[i], r.Error)
		}
	}
	return zkconv.OpError("multi", paths[0], err)
}

func (c *gozk) Exists(ctx context.Context, path string, watch bool) (bool, znode.Stat, error) {
	var ok bool
	var st *zk.Stat
	var err error
	if watch {
		ok, st, _, err = c.conn.ExistsW(path)
	} else {
		ok, st, err = c.conn.Exists(path)
	}
	return ok, zkconv.Stat(st), zkconv.OpError("exists", path, err)
}

func (c *gozk) Get(ctx context.Context, path string, watch bool) ([]byte, znode.Stat, error) {
	var data []byte
	var st *zk.Stat
	var err error
	if watch {
		data, st, _, err = c.conn.GetW(path)
	} else {
		data, st, err = c.conn.Get(path)
	}
	return data, zkconv.Stat(st), zkconv.OpError("getData", path, err)
}

func (c *gozk) Set(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	st, err := c.conn.Set(path, data, version)
	return zkconv.Stat(st), zkconv.OpError("setData", path, err)
}

func (c *gozk) Children(ctx context.Context, path string, watch bool) ([]string, znode.Stat, error) {
	var kids []string
	var st *zk.Stat
	var err error
	if watch {
		kids, st, _, err = c.conn.ChildrenW(path)
	} else {
		kids, st, err = c.conn.Children(path)
	}
	return kids, zkconv.Stat(st), zkconv.OpError("getChildren", path, err)
}

func (c *gozk) GetACL(ctx context.Context, path string) ([]znode.ACL, znode.Stat, error) {
	acl, st, err := c.conn.GetACL(path)
	return zkconv.FromACL(acl), zkconv.Stat(st), zkconv.OpError("getACL", path, err)
}

func (c *gozk) SetACL(ctx context.Context, path string, acl []znode.ACL, version int32) (znode.Stat, error) {
	st, err := c.conn.SetACL(path, zkconv.ACL(acl), version)
	return zkconv.Stat(st), zkconv.OpError("setACL", path, err)
}

func (c *gozk) Sync(ctx context.Context, path string) error {
	_, err := c.conn.Sync(path)
	return zkconv.OpError("sync", path, err)
}

func (c *gozk) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	return zkconv.OpError("addAuth", "", c.conn.AddAuth(scheme, auth))
}

func (c *gozk) WhoAmI(context.Context) ([]zkembed.ClientInfo, error) {
	return nil, &znode.OpError{Op: "whoAmI", Err: ErrUnsupported}
}

func (c *gozk) Ephemerals(_ context.Context, prefix string) ([]string, error) {
	return nil, &znode.OpError{Op: "getEphemerals", Path: prefix, Err: ErrUnsupported}
}

func (c *gozk) AllChildrenNumber(_ context.Context, path string) (int, error) {
	return 0, &znode.OpError{Op: "getAllChildrenNumber", Path: path, Err: ErrUnsupported}
}

func (c *gozk) AddWatch(_ context.Context, path string, _ bool) error {
	return &znode.OpError{Op: "addWatch", Path: path, Err: ErrUnsupported}
}

func (c *gozk) RemoveWatches(_ context.Context, path string, _ zkembed.WatcherType) error {
	return &znode.OpError{Op: "removeWatches", Path: path, Err: ErrUnsupported}
}

func (c *gozk) Events() <-chan znode.Event { return c.events }

// Dropped reports how many notifications were dropped because the shell
// fell eventBacklog behind.
func (c *gozk) Dropped() int64 { return c.dropped.Load() }

func (c *gozk) Alive() bool {
	if c.dead.Load() {
		return false
	}
	st := c.conn.State()
	return st == zk.StateHasSession || st == zk.StateConnected || st == zk.StateConnecting
}

func (c *gozk) Close() error {
	c.conn.Close()
	return nil
}
