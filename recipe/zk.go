package recipe

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed/internal/zkconv"
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
	// sid is the session the Client stands for: go-zookeeper opens a new
	// one by itself after an expiry, which must not serve the recipes
	// (Done is closed: what they make there would be unknown to them).
	sid atomic.Int64
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
// a session is established and has answered one request, or ctx ends. For
// other go-zookeeper options, call zk.Connect and WrapZK (which makes no
// such request).
func Connect(ctx context.Context, servers []string, sessionTimeout time.Duration, dialer zk.Dialer) (*ZK, error) {
	// go-zookeeper tells the negotiated timeout only in this log line:
	// the session-lost timer must not run longer than the server waits.
	negotiated := &negotiatedTimeout{}
	opts := []func(*zk.Conn){zk.WithLogInfo(true), zk.WithLogger(negotiated)}
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
	// go-zookeeper reports a session before its connection loop runs
	// sendSetWatches, and that reads lastZxid unguarded if watches are
	// set by then (see check). So Connect returns only after one round
	// trip in the session: the caller's first watch then comes too late
	// for this connection's sendSetWatches unless that loop is kept from
	// running for round trips on end. (A CI run caught the race once in
	// a test that set a watch at once on a new session.) A connection
	// lost meanwhile, or a session expired, means waiting for the next.
	var trip chan error // the round trip in progress, if any
	session := false    // the last session state reported is HasSession
	start := func() {
		trip = make(chan error, 1)
		go func(trip chan<- error) {
			_, _, err := conn.Exists("/")
			trip <- err
		}(trip)
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil, znode.ErrConnectionLoss
			}
			if ev.Type == zk.EventSession {
				session = ev.State == zk.StateHasSession
			}
			if session && trip == nil {
				start()
			}
		case err := <-trip:
			trip = nil
			switch {
			case err == nil:
				return wrapZK(conn, events, sessionTimeout, negotiated), nil
			case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrSessionExpired):
				if session { // a session again already
					start()
				}
			default:
				conn.Close()
				return nil, zkconv.OpError("exists", "/", err)
			}
		case <-ctx.Done():
			conn.Close() // fails the round trip, if any, ending its goroutine
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
	return wrapZK(conn, events, sessionTimeout, nil)
}

func wrapZK(conn *zk.Conn, events <-chan zk.Event, sessionTimeout time.Duration, negotiated *negotiatedTimeout) *ZK {
	c := &ZK{conn: conn, done: make(chan struct{})}
	c.sid.Store(conn.SessionID())
	timeout := func() time.Duration {
		if negotiated != nil {
			if n := time.Duration(negotiated.ms.Load()) * time.Millisecond; n > 0 {
				return min(n, sessionTimeout)
			}
		}
		return sessionTimeout
	}
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
					// go-zookeeper goes on with a new session: end the
					// connection, as after a loss, so that nothing the
					// recipes do lands in it.
					c.end()
					c.conn.Close()
				case zk.StateDisconnected:
					if lost == nil {
						lost = time.After(timeout())
					}
				case zk.StateHasSession:
					c.sid.CompareAndSwap(0, c.conn.SessionID())
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

func (c *ZK) end() { c.once.Do(func() { close(c.done) }) }

// check fails a request that ctx forbids, that would run in another
// session than the Client's (go-zookeeper replaced an expired one), or
// that would wait in a connection that is down: go-zookeeper queues such a
// request and sends it the moment it reconnects, and a reply that arrives
// while it re-sends its watches is a data race inside go-zookeeper v1.0.4
// (lastZxid, written by its receive loop, read by sendSetWatches). The
// recipes retry a connection loss on their own schedule instead. This
// makes the race unlikely, not impossible: go-zookeeper reports a session
// just before it re-sends its watches, and a request made in between can
// still race.
func (c *ZK) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if sid := c.sid.Load(); sid != 0 && c.conn.SessionID() != sid {
		c.end()
		return zk.ErrSessionExpired
	}
	if c.conn.State() != zk.StateHasSession {
		return zk.ErrConnectionClosed
	}
	return nil
}

// negotiatedTimeout is a go-zookeeper logger that keeps the session
// timeout the server negotiated, from the line go-zookeeper logs once a
// session is established, and drops every line.
type negotiatedTimeout struct{ ms atomic.Int64 }

func (n *negotiatedTimeout) Printf(format string, args ...any) {
	if format == "authenticated: id=%d, timeout=%d" && len(args) == 2 {
		if ms, ok := args[1].(int32); ok {
			n.ms.Store(int64(ms))
		}
	}
}

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
	if err := c.check(ctx); err != nil {
		return "", zkconv.OpError("create", path, err)
	}
	p, err := c.conn.Create(path, data, int32(mode), zkconv.ACL(acl))
	return p, zkconv.OpError("create", path, err)
}

// Delete implements Client.
func (c *ZK) Delete(ctx context.Context, path string, version int32) error {
	if err := c.check(ctx); err != nil {
		return zkconv.OpError("delete", path, err)
	}
	return zkconv.OpError("delete", path, c.conn.Delete(path, version))
}

// Exists implements Client.
func (c *ZK) Exists(ctx context.Context, path string) (bool, znode.Stat, error) {
	if err := c.check(ctx); err != nil {
		return false, znode.Stat{}, zkconv.OpError("exists", path, err)
	}
	ok, st, err := c.conn.Exists(path)
	return ok, zkconv.Stat(st), zkconv.OpError("exists", path, err)
}

// ExistsW implements Client.
func (c *ZK) ExistsW(ctx context.Context, path string) (bool, znode.Stat, <-chan znode.Event, error) {
	if err := c.check(ctx); err != nil {
		return false, znode.Stat{}, nil, zkconv.OpError("exists", path, err)
	}
	ok, st, ch, err := c.conn.ExistsW(path)
	if err != nil {
		return false, znode.Stat{}, nil, zkconv.OpError("exists", path, err)
	}
	return ok, zkconv.Stat(st), c.forward(ch), nil
}

// GetData implements Client.
func (c *ZK) GetData(ctx context.Context, path string) ([]byte, znode.Stat, error) {
	if err := c.check(ctx); err != nil {
		return nil, znode.Stat{}, zkconv.OpError("getData", path, err)
	}
	data, st, err := c.conn.Get(path)
	return data, zkconv.Stat(st), zkconv.OpError("getData", path, err)
}

// GetW implements Client.
func (c *ZK) GetW(ctx context.Context, path string) ([]byte, znode.Stat, <-chan znode.Event, error) {
	if err := c.check(ctx); err != nil {
		return nil, znode.Stat{}, nil, zkconv.OpError("getData", path, err)
	}
	data, st, ch, err := c.conn.GetW(path)
	if err != nil {
		return nil, znode.Stat{}, nil, zkconv.OpError("getData", path, err)
	}
	return data, zkconv.Stat(st), c.forward(ch), nil
}

// SetData implements Client.
func (c *ZK) SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	if err := c.check(ctx); err != nil {
		return znode.Stat{}, zkconv.OpError("setData", path, err)
	}
	st, err := c.conn.Set(path, data, version)
	return zkconv.Stat(st), zkconv.OpError("setData", path, err)
}

// GetChildren implements Client.
func (c *ZK) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	if err := c.check(ctx); err != nil {
		return nil, znode.Stat{}, zkconv.OpError("getChildren", path, err)
	}
	names, st, err := c.conn.Children(path)
	return names, zkconv.Stat(st), zkconv.OpError("getChildren", path, err)
}

// ChildrenW implements Client.
func (c *ZK) ChildrenW(ctx context.Context, path string) ([]string, znode.Stat, <-chan znode.Event, error) {
	if err := c.check(ctx); err != nil {
		return nil, znode.Stat{}, nil, zkconv.OpError("getChildren", path, err)
	}
	names, st, ch, err := c.conn.ChildrenW(path)
	if err != nil {
		return nil, znode.Stat{}, nil, zkconv.OpError("getChildren", path, err)
	}
	return names, zkconv.Stat(st), c.forward(ch), nil
}

// AddWatch implements Client: go-zookeeper v1.0.4 cannot send addWatch, so
// it always fails with ErrNoPersistentWatches.
func (c *ZK) AddWatch(ctx context.Context, path string, recursive bool) (PersistentWatch, error) {
	return nil, zkconv.OpError("addWatch", path, ErrNoPersistentWatches)
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
