package zkembed_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/wire"
	"github.com/zkembed/zkembed/zktest"
	"github.com/zkembed/zkembed/znode"
)

// nextEvent reads c's next frame and returns the event it must be.
func (c *rawConn) nextEvent(t *testing.T) (znode.EventType, string) {
	t.Helper()
	d, err := c.frame()
	require.NoError(t, err)
	require.Equal(t, int32(-1), d.Int(), "a notification's xid")
	d.Long()
	d.Int()
	typ, _, path := znode.EventType(d.Int()), d.Int(), d.String()
	require.NoError(t, d.Err())
	return typ, path
}

// callOK sends a request that must succeed, and fails the test if any
// frame but its reply comes first.
func (c *rawConn) callOK(t *testing.T, op int32, req wire.Request) {
	t.Helper()
	_, code, _, err := c.call(op, req)
	require.NoError(t, err, "a frame came before the reply to op %d", op)
	require.Equal(t, znode.CodeOK, code)
}

// A session that moves to a new connection while the server still holds
// the old one (the client's network went away and it reconnected) starts
// there with no watch: ZooKeeper closes the old connection and drops its
// watches (DataTree.removeCnxn), and the client sets again what it wants
// with setWatches. The old connection's watches used to stay with the
// session: the new connection got events it never asked for, a one-shot
// watch fired twice, and persistent watches piled up a copy per move.
func TestWireSessionMoveDropsTheOldConnectionsWatches(t *testing.T) {
	e := zktest.New(t, nil)
	other, err := e.DB.NewSession(ctx, nil)
	require.NoError(t, err)
	_, err = other.Create(ctx, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	_, err = other.Create(ctx, "/p", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)

	c1, hello := dialRawSession(t, e.Server, 0, make([]byte, 16))
	c1.callOK(t, wire.OpGetData, &wire.PathRequest{Path: "/x", Watch: true})
	c1.callOK(t, wire.OpAddWatch, &wire.WatchModeRequest{Path: "/p", Mode: 0})
	before := int64(e.DB.LastZxid())

	c2, _ := dialRawSession(t, e.Server, hello.SessionID, hello.Password) // c1 still open
	_, err = other.SetData(ctx, "/x", []byte("1"), -1)
	require.NoError(t, err)
	c2.callOK(t, wire.OpExists, &wire.PathRequest{Path: "/x"}) // no event first

	c2.callOKAfterEvents(t, wire.OpSetWatches, &wire.SetWatchesRequest{RelativeZxid: before, Data: []string{"/x"}, Exist: []string{}, Child: []string{}},
		znode.EventNodeDataChanged, "/x") // the catch-up, once
	_, err = other.SetData(ctx, "/x", []byte("2"), -1)
	require.NoError(t, err)
	c2.callOK(t, wire.OpExists, &wire.PathRequest{Path: "/x"}) // the watch fired: none left

	last := c2
	for range 3 {
		c, _ := dialRawSession(t, e.Server, hello.SessionID, hello.Password)
		c.callOK(t, wire.OpSetWatches2, &wire.SetWatchesRequest{RelativeZxid: int64(e.DB.LastZxid()),
			Data: []string{}, Exist: []string{}, Child: []string{}, Persistent: []string{"/p"}, PersistentRecursive: []string{}})
		last = c
	}
	_, err = other.Create(ctx, "/p/c", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	typ, path := last.nextEvent(t)
	require.Equal(t, znode.EventNodeChildrenChanged, typ)
	require.Equal(t, "/p", path)
	last.callOK(t, wire.OpExists, &wire.PathRequest{Path: "/p"}) // one event per change, not one per move
}

// callOKAfterEvents sends a request that must succeed and whose reply must
// come after exactly the given events (type, path pairs).
func (c *rawConn) callOKAfterEvents(t *testing.T, op int32, req wire.Request, want ...any) {
	t.Helper()
	c.xid++
	require.NoError(t, c.write(func(e *wire.Encoder) { wire.EncodeRequest(e, wire.RequestHeader{Xid: c.xid, Type: op}, req) }))
	for i := 0; i < len(want); i += 2 {
		typ, path := c.nextEvent(t)
		require.Equal(t, want[i], typ)
		require.Equal(t, want[i+1], path)
	}
	d, err := c.frame()
	require.NoError(t, err)
	require.Equal(t, c.xid, d.Int(), "the reply, after %d events", len(want)/2)
	d.Long()
	require.Equal(t, int32(znode.CodeOK), d.Int())
}

// tryDialSession connects to srv with a connect request for session id and
// reports whether the server answered with the session (a connection
// another one overtakes may be closed before its answer).
func tryDialSession(t *testing.T, srv *zkembed.Server, id int64, password []byte) (*rawConn, bool) {
	nc, err := srv.Dial("tcp", "127.0.0.1:2181", time.Second)
	if err != nil { // may run off the test's goroutine: no FailNow
		t.Error(err)
		return nil, false
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{nc: nc}
	if c.write(func(e *wire.Encoder) {
		(&wire.ConnectRequest{Timeout: 10000, SessionID: id, Password: password}).Encode(e)
	}) != nil {
		return c, false
	}
	d, err := c.frame()
	if err != nil {
		return c, false
	}
	hello, err := wire.DecodeConnectResponse(d.Rest())
	return c, err == nil && hello.SessionID == id
}

// Two reconnects of one session racing each other: the older one reaches
// its attachment only after the newer one has attached. The session's
// events must still reach the newer connection (the older attachment used
// to replace its sink with a closed connection's, for good, and drop its
// watches).
func TestWireRacingReconnectsKeepTheSessionsEvents(t *testing.T) {
	e := zktest.New(t, nil)
	other, err := e.DB.NewSession(ctx, nil)
	require.NoError(t, err)
	_, err = other.Create(ctx, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	_, hello := dialRawSession(t, e.Server, 0, make([]byte, 16))

	var calls atomic.Int32
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(zkembed.SetAttachHook(func(session int64) {
		if session == hello.SessionID && calls.Add(1) == 1 {
			<-release // the older reconnect waits here
		}
	}))
	t.Cleanup(free) // first: a failure must not leave the handshake blocked
	older := make(chan bool, 1)
	go func() {
		_, ok := tryDialSession(t, e.Server, hello.SessionID, hello.Password)
		older <- ok
	}()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	newer, ok := tryDialSession(t, e.Server, hello.SessionID, hello.Password)
	require.True(t, ok, "the newer reconnect got its session")
	free()
	<-older
	time.Sleep(50 * time.Millisecond) // the older connection's attachment and close run

	newer.callOK(t, wire.OpExists, &wire.PathRequest{Path: "/x", Watch: true})
	_, err = other.SetData(ctx, "/x", []byte("1"), -1)
	require.NoError(t, err)
	typ, path := newer.nextEvent(t)
	require.Equal(t, znode.EventNodeDataChanged, typ)
	require.Equal(t, "/x", path)
}
