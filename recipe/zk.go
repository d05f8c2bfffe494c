package recipe

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed/znode"
)

// ZK is a Client over a go-zookeeper connection: to a ZooKeeper ensemble,
// to `zkembed serve`, or to an engine through zkembed's in-process dialer.
// It reads the connection's session events to learn when the session
// expires. Make it with Connect or WrapZK.
type ZK struct {
	conn *zk.Conn
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// A client cut off from its servers cannot hear that its session expired
// until it reconnects, which may be never; by then the server may have
// given its locks to others. Like Curator's ConnectionStateManager, the
// adapter therefore counts a session as lost once it has been
// disconnected for a whole session timeout: the server has expired it by
// then, since it has not heard from the client for at least as long, and
// the adapter closes the connection so that the session cannot come back.

// Connect connects to servers through go-zookeeper and returns the Client;
// Close it when done. dialer may be nil (TCP), or zkembed.Server.Dial for an
// in-process engine. go-zookeeper's log lines are dropped. It waits until
// the session is established or ctx ends. For other go-zookeeper options,
// call zk.Connect and WrapZK.
func Connect(ctx context.Context, servers []string, sessionTimeout time.Duration, dialer zk.Dialer) (*ZK, error) {
	opts := []func(*zk.Conn){zk.WithLogInfo(false), zk.WithLogger(quiet{})}
	if dialer != nil {
		opts = append(opts, zk.WithDialer(dialer))
	}
	conn, events, err := zk.Connect(servers, sessionTimeout, func(c *zk.Conn) {
		for _, o := range opts {
			o(c)
		}
	})
	if err != nil {
		return nil, err
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil, znode.ErrConnectionLoss
			}
			if ev.State == zk.StateHasSession {
				return WrapZK(conn, events, sessionTimeout), nil
			}
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		}
	}
}

// WrapZK returns the Client over conn. events must be the channel
// zk.Connect returned with conn, and sessionTimeout the timeout asked of
// it; the Client drains events from now on (the caller must not read it
// any more) and closes Done when the session expires, when the connection
// has been down for sessionTimeout (closing conn), or when conn is closed.
func WrapZK(conn *zk.Conn, events <-chan zk.Event, sessionTimeout time.Duration) *ZK {
	c := &ZK{conn: conn, done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		var lost <-chan time.Time // running while disconnected
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					c.end() // the connection was closed
					return
				}
				switch ev.State {
				case zk.StateExpired:
					c.end()
				case zk.StateDisconnected:
					if lost == nil {
						lost = time.After(sessionTimeout)
					}
				case zk.StateHasSession:
					lost = nil
				}
			case <-lost:
				// Make the loss final: without this, a reconnect in
				// the server's last moments could revive a session the
				// recipes above have already given up, and its nodes
				// with it.
				c.end()
				lost = nil
				c.conn.Close()
			}
		}
	}()
	return c
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func (c *ZK) end() { c.once.Do(func() { close(c.done) }) }

// Conn returns the underlying go-zookeeper connection.
func (c *ZK) Conn() *zk.Conn { return c.conn }

// Close closes the connection (ending its session) and waits for the
// goroutine that read its events.
func (c *ZK) Close() {
	c.conn.Close()
	c.wg.Wait()
}

// SessionID implements Client.
func (c *ZK) SessionID() int64 { return c.conn.SessionID() }

// Done implements Client.
func (c *ZK) Done() <-chan struct{} { return c.done }

// Create implements Client.
func (c *ZK) Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", opErr("create", path, err)
	}
	p, err := c.conn.Create(path, data, int32(mode), toZKACL(acl))
	return p, opErr("create", path, err)
}

// Delete implements Client.
func (c *ZK) Delete(ctx context.Context, path string, version int32) error {
	if err := ctx.Err(); err != nil {
		return opErr("delete", path, err)
	}
	return opErr("delete", path, c.conn.Delete(path, version))
}

// Exists implements Client.
func (c *ZK) Exists(ctx context.Context, path string) (bool, znode.Stat, error) {
	if err := ctx.Err(); err != nil {
		return false, znode.Stat{}, opErr("exists", path, err)
	}
	ok, st, err := c.conn.Exists(path)
	return ok, fromZKStat(st), opErr("exists", path, err)
}

// ExistsW implements Client.
func (c *ZK) ExistsW(ctx context.Context, path string) (bool, znode.Stat, <-chan znode.Event, error) {
	if err := ctx.Err(); err != nil {
		return false, znode.Stat{}, nil, opErr("exists", path, err)
	}
	ok, st, ch, err := c.conn.ExistsW(path)
	if err != nil {
		return false, znode.Stat{}, nil, opErr("exists", path, err)
	}
	return ok, fromZKStat(st), c.forward(ch), nil
}

// GetData implements Client.
func (c *ZK) GetData(ctx context.Context, path string) ([]byte, znode.Stat, error) {
	if err := ctx.Err(); err != nil {
		return nil, znode.Stat{}, opErr("getData", path, err)
	}
	data, st, err := c.conn.Get(path)
	return data, fromZKStat(st), opErr("getData", path, err)
}

// GetW implements Client.
func (c *ZK) GetW(ctx context.Context, path string) ([]byte, znode.Stat, <-chan znode.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, znode.Stat{}, nil, opErr("getData", path, err)
	}
	data, st, ch, err := c.conn.GetW(path)
	if err != nil {
		return nil, znode.Stat{}, nil, opErr("getData", path, err)
	}
	return data, fromZKStat(st), c.forward(ch), nil
}

// SetData implements Client.
func (c *ZK) SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	if err := ctx.Err(); err != nil {
		return znode.Stat{}, opErr("setData", path, err)
	}
	st, err := c.conn.Set(path, data, version)
	return fromZKStat(st), opErr("setData", path, err)
}

// GetChildren implements Client.
func (c *ZK) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	if err := ctx.Err(); err != nil {
		return nil, znode.Stat{}, opErr("getChildren", path, err)
	}
	names, st, err := c.conn.Children(path)
	return names, fromZKStat(st), opErr("getChildren", path, err)
}

// ChildrenW implements Client.
func (c *ZK) ChildrenW(ctx context.Context, path string) ([]string, znode.Stat, <-chan znode.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, znode.Stat{}, nil, opErr("getChildren", path, err)
	}
	names, st, ch, err := c.conn.ChildrenW(path)
	if err != nil {
		return nil, znode.Stat{}, nil, opErr("getChildren", path, err)
	}
	return names, fromZKStat(st), c.forward(ch), nil
}

// AddWatch implements Client: go-zookeeper v1.0.4 cannot send addWatch, so
// it always fails with ErrNoPersistentWatches.
func (c *ZK) AddWatch(ctx context.Context, path string, recursive bool) (PersistentWatch, error) {
	return nil, opErr("addWatch", path, ErrNoPersistentWatches)
}

// forward turns a go-zookeeper watch channel into a znode one. The
// goroutine ends with the watch: go-zookeeper sends every watch one event
// (a change, or EventNotWatching when the connection or session is lost).
func (c *ZK) forward(in <-chan zk.Event) <-chan znode.Event {
	out := make(chan znode.Event, 1)
	go func() {
		defer close(out)
		ev, ok := <-in
		if !ok {
			return
		}
		out <- fromZKEvent(ev)
	}()
	return out
}

func fromZKEvent(ev zk.Event) znode.Event {
	e := znode.Event{Path: ev.Path, State: znode.StateSyncConnected}
	switch ev.Type {
	case zk.EventNodeCreated:
		e.Type = znode.EventNodeCreated
	case zk.EventNodeDeleted:
		e.Type = znode.EventNodeDeleted
	case zk.EventNodeDataChanged:
		e.Type = znode.EventNodeDataChanged
	case zk.EventNodeChildrenChanged:
		e.Type = znode.EventNodeChildrenChanged
	default: // EventNotWatching, EventSession: the watch is gone
		e.Type = znode.EventNone
		e.State = znode.StateDisconnected
		if ev.State == zk.StateExpired || errors.Is(ev.Err, zk.ErrSessionExpired) {
			e.State = znode.StateExpired
		}
		e.Err = ev.Err
	}
	return e
}

func toZKACL(list []znode.ACL) []zk.ACL {
	out := make([]zk.ACL, len(list))
	for i, a := range list {
		out[i] = zk.ACL{Perms: int32(a.Perms), Scheme: a.ID.Scheme, ID: a.ID.ID}
	}
	return out
}

func fromZKStat(st *zk.Stat) znode.Stat {
	if st == nil {
		return znode.Stat{}
	}
	return znode.Stat{
		Czxid: znode.Zxid(st.Czxid), Mzxid: znode.Zxid(st.Mzxid),
		Ctime: st.Ctime, Mtime: st.Mtime,
		Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion,
		EphemeralOwner: st.EphemeralOwner, DataLength: st.DataLength,
		NumChildren: st.NumChildren, Pzxid: znode.Zxid(st.Pzxid),
	}
}

// zkErrors maps go-zookeeper's errors to the znode sentinels.
var zkErrors = map[error]error{
	zk.ErrNoNode:                  znode.ErrNoNode,
	zk.ErrNodeExists:              znode.ErrNodeExists,
	zk.ErrNotEmpty:                znode.ErrNotEmpty,
	zk.ErrBadVersion:              znode.ErrBadVersion,
	zk.ErrNoChildrenForEphemerals: znode.ErrNoChildrenForEphemerals,
	zk.ErrInvalidACL:              znode.ErrInvalidACL,
	zk.ErrNoAuth:                  znode.ErrNoAuth,
	zk.ErrBadArguments:            znode.ErrBadArguments,
	zk.ErrSessionExpired:          znode.ErrSessionExpired,
	zk.ErrAuthFailed:              znode.ErrAuthFailed,
	zk.ErrSessionMoved:            znode.ErrSessionMoved,
	zk.ErrAPIError:                znode.ErrAPIError,
	zk.ErrReconfigDisabled:        znode.ErrReconfigDisabled,
	zk.ErrConnectionClosed:        znode.ErrConnectionLoss,
	zk.ErrClosing:                 znode.ErrConnectionLoss,
	zk.ErrNoServer:                znode.ErrConnectionLoss,
	zk.ErrUnknown:                 znode.ErrSystemError,
}

// zkError wraps a go-zookeeper error so that errors.Is matches both it and
// the znode sentinel it stands for.
type zkError struct{ zk, sentinel error }

func (e zkError) Error() string   { return e.zk.Error() }
func (e zkError) Unwrap() []error { return []error{e.zk, e.sentinel} }

// opErr wraps err (nil: nil) in a *znode.OpError naming the operation and
// path, mapping go-zookeeper's errors to znode's sentinels.
func opErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	if s, ok := zkErrors[err]; ok {
		err = zkError{zk: err, sentinel: s}
	}
	return &znode.OpError{Op: op, Path: path, Err: err}
}
