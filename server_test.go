package zkembed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/internal/zkserver"
	"github.com/zkembed/zkembed/wire"
	"github.com/zkembed/zkembed/zktest"
)

type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}

func waitConnected(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.State == zk.StateHasSession {
				return
			}
		case <-timeout:
			t.Fatal("no session within 10s")
		}
	}
}

func TestWireBasics(t *testing.T) {
	c := zktest.Connect(t)
	p, err := c.Create("/a", []byte("x"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	assert.Equal(t, "/a", p)
	data, st, err := c.Get("/a")
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
	assert.Equal(t, int32(0), st.Version)
	ok, _, err := c.Exists("/nope")
	require.NoError(t, err)
	assert.False(t, ok)
	_, _, err = c.Get("/nope")
	assert.ErrorIs(t, err, zk.ErrNoNode)

	_, _, ch, err := c.GetW("/a")
	require.NoError(t, err)
	_, err = c.Set("/a", []byte("y"), 0)
	require.NoError(t, err)
	select {
	case e := <-ch:
		assert.Equal(t, zk.EventNodeDataChanged, e.Type)
		assert.Equal(t, "/a", e.Path)
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}
	seq, err := c.Create("/a/s-", nil, zk.FlagSequence|zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	assert.Equal(t, "/a/s-0000000000", seq)
	kids, _, err := c.Children("/a")
	require.NoError(t, err)
	assert.Equal(t, []string{"s-0000000000"}, kids)
	res, err := c.Multi(&zk.CreateRequest{Path: "/m", Data: []byte("1"), Acl: zk.WorldACL(zk.PermAll)},
		&zk.SetDataRequest{Path: "/m", Data: []byte("2"), Version: 0})
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, "/m", res[0].String)
	assert.Equal(t, int32(1), res[1].Stat.Version)
	_, err = c.Multi(&zk.CheckVersionRequest{Path: "/m", Version: 7}, &zk.DeleteRequest{Path: "/m", Version: -1})
	assert.ErrorIs(t, err, zk.ErrBadVersion)
	require.NoError(t, c.AddAuth("digest", []byte("u:p")))
	_, err = c.Create("/d", nil, 0, zk.DigestACL(zk.PermAll, "u", "p"))
	require.NoError(t, err)
	acl, _, err := c.GetACL("/d")
	require.NoError(t, err)
	assert.Equal(t, zk.DigestACL(zk.PermAll, "u", "p"), acl)
}

// serveTCP serves db on a loopback port and returns the address.
func serveTCP(t *testing.T, db *zkembed.DB) (*zkembed.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := zkembed.NewServer(db, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		assert.ErrorIs(t, <-done, zkembed.ErrServerClosed)
	})
	return srv, l.Addr().String()
}

func fourLetter(t *testing.T, addr, word string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte(word))
	require.NoError(t, err)
	out, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(out)
}

func TestWireTCPAndFourLetterWords(t *testing.T) {
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, addr := serveTCP(t, db)
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(zkQuiet{}))
	require.NoError(t, err)
	defer c.Close()
	waitConnected(t, events)
	_, err = c.Create("/w", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	_, _, _, err = c.GetW("/w")
	require.NoError(t, err)
	_, _, _, err = c.ChildrenW("/")
	require.NoError(t, err)

	assert.Equal(t, "imok", fourLetter(t, addr, "ruok"))
	assert.Equal(t, "rw", fourLetter(t, addr, "isro"))
	srvr := fourLetter(t, addr, "srvr")
	assert.Contains(t, srvr, "Mode: standalone\n")
	assert.Contains(t, srvr, "Node count: 6\n", "the 5 nodes, the root counted twice as in ZooKeeper")
	assert.Contains(t, fourLetter(t, addr, "mntr"), "zk_ephemerals_count\t1\n")
	// As ZooKeeper 3.8 counts them: the data watch, not the child watch.
	assert.Equal(t, "1 connections watching 1 paths\nTotal watches:1\n", fourLetter(t, addr, "wchs"))
	assert.Equal(t, fmt.Sprintf("/w\n\t%#x\n\n", c.SessionID()), fourLetter(t, addr, "wchp"))
	assert.Contains(t, fourLetter(t, addr, "dump"), fmt.Sprintf("%#x:\n\t/w\n", c.SessionID()))
	assert.Contains(t, fourLetter(t, addr, "cons"), fmt.Sprintf("sid=%#x", c.SessionID()))
}

// A frame longer than jute.maxbuffer closes the connection without a
// reply, as ZooKeeper does; the server keeps serving others.
func TestWireOversizedFrame(t *testing.T) {
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, addr := serveTCP(t, db)
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte{0, 0x10, 0, 0}) // 0x100000: one byte over
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := nc.Read(make([]byte, 16))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, "imok", fourLetter(t, addr, "ruok"))
}

// A session outlives its connection: the client reconnects with id and
// password and finds its ephemeral; a wrong password is refused. Without a
// connection the session expires after its timeout.
func TestWireSessionReattachAndExpiry(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	db, err := zkembed.Open("", &zkembed.Options{Clock: clk})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	srv := zkembed.NewServer(db, nil)
	t.Cleanup(func() { srv.Close() })

	var mu sync.Mutex
	var pipes []net.Conn
	down := false // the client's network is gone: dials fail
	dial := func(network, addr string, timeout time.Duration) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return nil, errors.New("network down")
		}
		c, err := srv.Dial(network, addr, timeout)
		pipes = append(pipes, c)
		return c, err
	}
	lastPipe := func() net.Conn {
		mu.Lock()
		defer mu.Unlock()
		return pipes[len(pipes)-1]
	}
	c, events, err := zk.Connect([]string{"127.0.0.1:2181"}, 10*time.Second, zk.WithDialer(dial), zk.WithLogger(zkQuiet{}))
	require.NoError(t, err)
	defer c.Close()
	waitConnected(t, events)
	id := c.SessionID()
	_, err = c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	// Drop the connection under go-zk: it reconnects to the same session.
	lastPipe().Close()
	waitConnected(t, events)
	assert.Equal(t, id, c.SessionID())
	ok, st, err := c.Exists("/eph")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, id, st.EphemeralOwner)

	// A raw connect with the id and a wrong password: timeout 0, id 0.
	nc, err := srv.Dial("tcp", "", time.Second)
	require.NoError(t, err)
	var e wire.Encoder
	start := wire.BeginFrame(&e)
	(&wire.ConnectRequest{Timeout: 10000, SessionID: id, Password: make([]byte, 16)}).Encode(&e)
	wire.EndFrame(&e, start)
	go nc.Write(e.B)
	frame, err := wire.ReadFrame(nc, nil, wire.DefaultMaxFrame)
	require.NoError(t, err)
	resp, err := wire.DecodeConnectResponse(frame)
	require.NoError(t, err)
	assert.Equal(t, int32(0), resp.Timeout)
	assert.Equal(t, int64(0), resp.SessionID)
	nc.Close()

	// The client's network goes away (no closeSession is sent); once the
	// timeout passes, the session expires and its ephemeral goes.
	mu.Lock()
	down = true
	mu.Unlock()
	lastPipe().Close()
	s, err := db.NewSession(context.Background(), nil)
	require.NoError(t, err)
	ok, _, err = s.Exists(context.Background(), "/eph")
	require.NoError(t, err)
	assert.True(t, ok, "the session lives on within its timeout")
	clk.Advance(time.Minute)
	require.Eventually(t, func() bool {
		ok, _, err := s.Exists(context.Background(), "/eph")
		return err == nil && !ok
	}, 5*time.Second, 10*time.Millisecond, "the ephemeral of the expired session is gone")
}

// A wire session survives a restart of the engine's process (a remote
// session is resumed without Options.ResumeSessions): go-zk reconnects to
// the new server with its id and password and finds its ephemeral.
func TestWireSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	opts := &zkembed.Options{}
	db, err := zkembed.Open(dir, opts)
	require.NoError(t, err)
	srv := zkembed.NewServer(db, nil)

	var mu sync.Mutex
	current := srv
	dial := func(network, addr string, timeout time.Duration) (net.Conn, error) {
		mu.Lock()
		s := current
		mu.Unlock()
		if s == nil {
			return nil, errors.New("server down")
		}
		return s.Dial(network, addr, timeout)
	}
	c, events, err := zk.Connect([]string{"127.0.0.1:2181"}, 10*time.Second, zk.WithDialer(dial), zk.WithLogger(zkQuiet{}))
	require.NoError(t, err)
	defer c.Close()
	waitConnected(t, events)
	id := c.SessionID()
	_, err = c.Create("/eph", []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	// The process stops: server and engine close, the session is not.
	mu.Lock()
	current = nil
	mu.Unlock()
	require.NoError(t, srv.Close())
	require.NoError(t, db.Close())

	db2, err := zkembed.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { db2.Close() })
	srv2 := zkembed.NewServer(db2, nil)
	t.Cleanup(func() { srv2.Close() })
	mu.Lock()
	current = srv2
	mu.Unlock()

	waitConnected(t, events)
	assert.Equal(t, id, c.SessionID(), "the same session")
	data, st, err := c.Get("/eph")
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
	assert.Equal(t, id, st.EphemeralOwner)
}

// A client that stops reading never stalls the engine or other clients:
// its replies and notifications pile up to ServerOptions.MaxPending, then
// its connection is closed.
func TestWireStalledClient(t *testing.T) {
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	srv := zkembed.NewServer(db, &zkembed.ServerOptions{MaxPending: 4096})
	t.Cleanup(func() { srv.Close() })

	// The stalled client: a session with a persistent recursive watch on /,
	// then it reads nothing more.
	nc, err := srv.Dial("tcp", "", time.Second)
	require.NoError(t, err)
	defer nc.Close()
	var e wire.Encoder
	start := wire.BeginFrame(&e)
	(&wire.ConnectRequest{Timeout: 30000, Password: make([]byte, 16)}).Encode(&e)
	wire.EndFrame(&e, start)
	start = wire.BeginFrame(&e)
	wire.EncodeRequest(&e, wire.RequestHeader{Xid: 1, Type: wire.OpAddWatch}, &wire.WatchModeRequest{Path: "/", Mode: 1})
	wire.EndFrame(&e, start)
	go nc.Write(e.B)
	_, err = wire.ReadFrame(nc, nil, wire.DefaultMaxFrame) // the connect response
	require.NoError(t, err)
	_, err = wire.ReadFrame(nc, nil, wire.DefaultMaxFrame) // addWatch's reply
	require.NoError(t, err)

	// Another client writes far more notifications than MaxPending holds.
	c, events, err := zk.Connect([]string{"127.0.0.1:2181"}, 10*time.Second, zk.WithDialer(srv.Dial), zk.WithLogger(zkQuiet{}))
	require.NoError(t, err)
	defer c.Close()
	waitConnected(t, events)
	done := make(chan error, 1)
	go func() {
		for i := range 500 {
			if _, err := c.Create(fmt.Sprintf("/n%d", i), make([]byte, 100), 0, zk.WorldACL(zk.PermAll)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("a client that does not read stalled the others")
	}
	// The stalled connection was closed: reading drains what the writer
	// had in flight, then ends (a pipe whose far end closed may refuse the
	// deadline outright).
	if err := nc.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		assert.ErrorIs(t, err, io.ErrClosedPipe)
		return
	}
	_, err = io.Copy(io.Discard, nc)
	assert.NoError(t, err, "the server closed the stalled connection (EOF), not a read timeout")
}

// The four-letter words that report state, against a real ZooKeeper given
// the same watches: ruok and isro verbatim, wchs verbatim (3.8 counts its
// data-watch table only), wchc and wchp as sets of (session, path) pairs
// with the session ids replaced by names (ZooKeeper lists them in hash
// order).
func TestFourLetterWordsAgainstZooKeeper(t *testing.T) {
	t.Parallel()
	real := zkserver.Start(t)
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, addr := serveTCP(t, db)

	observe := func(addr string) map[string]string {
		conns := map[string]*zk.Conn{}
		for _, name := range []string{"A", "B"} {
			c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(zkQuiet{}))
			require.NoError(t, err)
			t.Cleanup(c.Close)
			waitConnected(t, events)
			conns[name] = c
		}
		a, b := conns["A"], conns["B"]
		_, err := a.Create("/w", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
		_, _, _, err = a.GetW("/w")
		require.NoError(t, err)
		_, _, _, err = a.ChildrenW("/")
		require.NoError(t, err)
		_, _, _, err = a.ExistsW("/nope")
		require.NoError(t, err)
		_, _, _, err = b.GetW("/w")
		require.NoError(t, err)
		_, _, _, err = b.ChildrenW("/w")
		require.NoError(t, err)
		// go-zookeeper cannot send addWatch: a raw client sets a
		// persistent and a recursive watch (ZooKeeper 3.8.0 files both in
		// both of its watch tables).
		raw := newWCRun(t, "fourletter", addr, "/raw")
		t.Cleanup(raw.closeAll)
		w := raw.session("W")
		w.watchMode(wire.OpAddWatch, "/p", 0)
		w.watchMode(wire.OpAddWatch, "/r", 1)
		allChildren := map[string]string{}
		for _, p := range []string{"", "/"} { // ZooKeeper's root alias, and the root
			w.send(wire.OpGetAllChildrenNumber, &wire.PathRequest{Path: p}, fmt.Sprintf("getAllChildrenNumber %q", p))
			last := raw.lines[len(raw.lines)-1]
			allChildren["getAllChildrenNumber "+p] = last[strings.LastIndex(last, "total="):]
		}
		names := strings.NewReplacer(fmt.Sprintf("%#x", a.SessionID()), "A", fmt.Sprintf("%#x", b.SessionID()), "B",
			fmt.Sprintf("%#x", w.sid), "W")
		out := allChildren
		for _, w := range []string{"ruok", "isro", "wchs", "crst", "srst", "gtmk"} {
			out[w] = fourLetter(t, addr, w)
		}
		out["stmk 511"] = fourLetter(t, addr, "stmk\x00\x00\x00\x00\x00\x00\x01\xff")
		out["gtmk after stmk"] = fourLetter(t, addr, "gtmk")
		out["stmk 306"] = fourLetter(t, addr, "stmk\x00\x00\x00\x00\x00\x00\x01\x32")
		lines := func(word string, keys ...string) {
			for _, l := range strings.Split(fourLetter(t, addr, word), "\n") {
				for _, k := range keys {
					if strings.HasPrefix(l, k) {
						out[word+" "+k] = l
					}
				}
			}
		}
		// Counts, not rates or times; the asking connection is one of the
		// connections.
		lines("srvr", "Connections:", "Node count:")
		lines("mntr", "zk_znode_count", "zk_watch_count", "zk_ephemerals_count", "zk_num_alive_connections")
		pairs := func(text string, sessionFirst bool) string {
			var list []string
			var head string
			for _, l := range strings.Split(names.Replace(text), "\n") {
				switch {
				case l == "":
				case strings.HasPrefix(l, "\t"):
					if sessionFirst {
						list = append(list, head+" "+l[1:])
					} else {
						list = append(list, l[1:]+" "+head)
					}
				default:
					head = l
				}
			}
			slices.Sort(list)
			return strings.Join(list, "\n")
		}
		out["wchc"] = pairs(fourLetter(t, addr, "wchc"), true)
		out["wchp"] = pairs(fourLetter(t, addr, "wchp"), false)
		return out
	}
	want, got := observe(real.Addr), observe(addr)
	assert.Equal(t, want, got)
	assert.Equal(t, "Node count: 6", want["srvr Node count:"], "ZooKeeper counts the root twice")
	assert.Equal(t, "total=5", want["getAllChildrenNumber "], `ZooKeeper counts the root's "/" key below ""`)
	assert.Equal(t, "A /nope\nA /w\nB /w\nW /raw/p\nW /raw/r", want["wchc"], "the script's data, exist, persistent and recursive watches, as ZooKeeper lists them")
	assert.Equal(t, "zk_watch_count\t9", want["mntr zk_watch_count"], "5 in the data table, 4 in the child table: 3.8.0 files the persistent and the recursive watch in both")
}

// A watch set by a read while another session writes is never lost: the
// notification of a change after the read must follow the read's reply,
// because go-zookeeper, like ZooKeeper's Java client, registers the watch
// when the reply arrives and drops an event for a watch it does not know.
// (The server once queued such an event before the reply: about 1 watch
// in 500 was lost.)
func TestWireWatchEventNeverBeforeItsReply(t *testing.T) {
	e := zktest.New(t, nil)
	reader, writer := e.Connect(t), e.Connect(t)
	_, err := writer.Create("/p", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	defer churnChild(t, writer)()
	for i := range 2000 {
		_, _, ch, err := reader.ChildrenW("/p")
		require.NoError(t, err)
		select {
		case ev := <-ch:
			require.Equal(t, zk.EventNodeChildrenChanged, ev.Type)
		case <-time.After(10 * time.Second):
			t.Fatalf("watch %d lost: no event while a child is created and deleted", i)
		}
	}
}

// The reply to a read that set a watch carries the zxid the read saw, never
// that of a change whose notification is held back behind the reply: a
// client takes a reply's zxid as its lastZxidSeen, and setWatches after a
// reconnection would then skip that change (the event would be lost).
// Every write here changes /p's children, so the first change after a read
// is the one after the pzxid it returned: the reply's zxid must not pass it.
func TestWireWatchReplyZxidIsTheReads(t *testing.T) {
	e := zktest.New(t, nil)
	writer := e.Connect(t)
	raw, err := e.Server.Dial("tcp", "127.0.0.1:2181", time.Second)
	require.NoError(t, err)
	defer raw.Close()
	send := func(fill func(e *wire.Encoder)) {
		var enc wire.Encoder
		start := wire.BeginFrame(&enc)
		fill(&enc)
		wire.EndFrame(&enc, start)
		_, err := raw.Write(enc.B)
		require.NoError(t, err)
	}
	var buf []byte
	recv := func() *wire.Decoder {
		require.NoError(t, raw.SetReadDeadline(time.Now().Add(10*time.Second)))
		b, err := wire.ReadFrame(raw, buf, 1<<20)
		require.NoError(t, err)
		buf = b
		return wire.NewDecoder(b)
	}
	send(func(e *wire.Encoder) { (&wire.ConnectRequest{Timeout: 10000, Password: make([]byte, 16)}).Encode(e) })
	hello, err := wire.DecodeConnectResponse(recv().Rest())
	require.NoError(t, err)
	require.NotZero(t, hello.SessionID)

	_, err = writer.Create("/p", nil, 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	defer churnChild(t, writer)()
	for xid := int32(1); xid <= 2000; xid++ {
		send(func(e *wire.Encoder) {
			wire.EncodeRequest(e, wire.RequestHeader{Xid: xid, Type: wire.OpGetChildren2}, &wire.PathRequest{Path: "/p", Watch: true})
		})
		d := recv()
		require.Equal(t, xid, d.Int(), "the reply comes first")
		replyZxid, code := d.Long(), d.Int()
		require.Zero(t, code)
		d.Strings()
		st := d.Stat()
		require.NoError(t, d.Err())
		require.LessOrEqual(t, replyZxid, st.Pzxid, "request %d: the reply's zxid passes the read's", xid)
		d = recv()
		require.Equal(t, wire.XidNotification, d.Int(), "then the watch's event")
	}
}

// churnChild creates and deletes /p/c through writer until the returned
// function is called (which checks that every write succeeded). One child
// comes and goes, so that every reply stays small.
func churnChild(t *testing.T, writer *zk.Conn) (stop func()) {
	quit := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-quit:
				done <- nil
				return
			default:
			}
			var err error
			if i%2 == 0 {
				_, err = writer.Create("/p/c", nil, 0, zk.WorldACL(zk.PermAll))
			} else {
				err = writer.Delete("/p/c", -1)
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	return func() {
		close(quit)
		require.NoError(t, <-done)
	}
}
