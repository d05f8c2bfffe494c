package zkembed

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/wire"
	"github.com/zkembed/zkembed/znode"
)

// The server: ZooKeeper's client protocol over any net.Conn.
//
// Each connection has two goroutines. The reader decodes requests and runs
// them one at a time, in arrival order, so replies leave in request order
// and a read sees every earlier write of its connection. The writer copies
// the connection's outbound buffer to the socket. Both replies and
// notifications are appended to that buffer: notifications by the engine's
// dispatcher (a watch sink, under watchMu), replies by the reader after the
// operation returns. The engine dispatches a change's events before any
// reply that could reveal the change, so a client gets its notifications
// before the reply that follows them, as from ZooKeeper.
//
// Appending never blocks: a client that reads too slowly grows the buffer
// up to ServerOptions.MaxPending bytes, past which its connection is closed
// (its session lives on and may reconnect, as after any disconnection).
// A dead client therefore never stalls the engine or other clients.
//
// Sessions of the wire expire after their timeout without requests or
// pings (SessionOptions.IdleExpiry), and survive the loss of their
// connection until then: a client that reconnects with the session id and
// password gets the session back, and sets its watches again
// (setWatches), since a connection's watches end with it, as in ZooKeeper.
// They survive a restart of the process too, when the engine is opened
// on the same log: a session opened by the handshake is logged as remote,
// and a reopened engine resumes it with one timeout for its client to come
// back, while it closes the in-process sessions (DB.NewSession) of the
// previous process at Open (see Options.ResumeSessions). An engine that
// both embeds sessions and serves the wire protocol thus gets each rule
// for its own sessions.

// ServerOptions configure a Server. The zero value is ZooKeeper's defaults.
type ServerOptions struct {
	// MaxFrame is the largest request frame accepted (ZooKeeper's
	// jute.maxbuffer); a larger one closes the connection. Default
	// wire.DefaultMaxFrame.
	MaxFrame int
	// MaxPending is how many bytes of replies and notifications may wait
	// for a slow client before its connection is closed. Default 64 MiB.
	MaxPending int
	// HandshakeTimeout bounds the wait for a new connection's connect
	// request. Default 10 s.
	HandshakeTimeout time.Duration
}

// Server serves ZooKeeper's client protocol for a DB: over TCP with Serve,
// or in process over net.Pipe with Dial. Close it before the DB.
type Server struct {
	db   *DB
	opts ServerOptions

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	owners    map[int64]*conn // each session's current connection

	wg      sync.WaitGroup
	started time.Time
	// counters for the four-letter words
	received, sent atomic.Int64
	traceMask      atomic.Int64 // gtmk, stmk
}

// ErrServerClosed is returned by Serve and Dial after Close.
var ErrServerClosed = errors.New("zkembed: server closed")

// NewServer returns a server for db. It serves nothing until Serve,
// ServeConn or Dial.
func NewServer(db *DB, opts *ServerOptions) *Server {
	var o ServerOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = wire.DefaultMaxFrame
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 64 << 20
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	s := &Server{db: db, opts: o, listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{},
		owners: map[int64]*conn{}, started: time.Now()}
	s.traceMask.Store(defaultTraceMask)
	return s
}

// Serve accepts connections on l until Close (it then returns
// ErrServerClosed) or until l fails.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.ServeConn(nc)
	}
}

// ServeConn serves one connection in the background; Close ends it.
func (s *Server) ServeConn(nc net.Conn) {
	c := &conn{srv: s, nc: nc, signal: make(chan struct{}, 1), done: make(chan struct{}), opened: time.Now()}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.addr = ap.Addr().Unmap()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go c.writeLoop()
	go c.readLoop()
}

// Dial connects to the server in process, over net.Pipe: its signature is
// go-zookeeper's Dialer, so zk.Connect(servers, timeout,
// zk.WithDialer(srv.Dial)) gives a *zk.Conn backed by the engine. The
// address is ignored.
func (s *Server) Dial(network, address string, timeout time.Duration) (net.Conn, error) {
	client, server := net.Pipe()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrServerClosed
	}
	s.ServeConn(pipeConn{server})
	return client, nil
}

// pipeConn gives a net.Pipe end a loopback address, so that in-process
// sessions have an ip id (127.0.0.1) as local TCP clients do.
type pipeConn struct{ net.Conn }

func (pipeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
}

// Close stops accepting, closes every connection (their sessions live on
// until they expire or the DB closes) and waits for the server's
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	return nil
}

// conn is one client connection.
type conn struct {
	srv  *Server
	nc   net.Conn
	addr netip.Addr

	sess *Session // set by the handshake, under srv.mu

	outMu    sync.Mutex
	out      []byte // replies and notifications not yet written
	held     []byte // notifications held back until the current reply (holding)
	holding  bool   // a read of the current request has set a watch
	holdZxid int64  // while holding: the zxid of the tree that read saw
	spare    []byte
	dead     bool          // closed or finishing: appends are dropped
	ending   bool          // close once out is written (endAfterFlush)
	endBy    *time.Timer   // closes an ending connection whose client stalls
	signal   chan struct{} // out has bytes, or ending was set
	reqMu    sync.Mutex    // held by the reader from a request to its reply
	done     chan struct{} // closed by close
	closing  sync.Once

	received atomic.Int64
	sentN    atomic.Int64
	opened   time.Time
}

// close ends the connection: both goroutines stop (finish then drops the
// session's watches and sink if the connection still owns the session).
// Safe to call more than once, from anywhere.
func (c *conn) close() {
	c.closing.Do(func() {
		c.outMu.Lock()
		c.dead = true
		if c.endBy != nil {
			c.endBy.Stop()
		}
		c.outMu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// send appends one frame built by fill to the outbound buffer. It returns
// false if the connection is closed or the client is too far behind (the
// connection is then closed).
func (c *conn) send(fill func(e *wire.Encoder)) bool {
	return c.queue(false, fill)
}

// queue is send; a notification is held back while holding (see
// holdNotifications), and a reply releases what was held after itself.
func (c *conn) queue(notification bool, fill func(e *wire.Encoder)) bool {
	c.outMu.Lock()
	if c.dead {
		c.outMu.Unlock()
		return false
	}
	buf := &c.out
	if notification && c.holding {
		buf = &c.held
	}
	e := wire.Encoder{B: *buf}
	start := wire.BeginFrame(&e)
	fill(&e)
	wire.EndFrame(&e, start)
	*buf = e.B
	if !notification && c.holding {
		c.out = append(c.out, c.held...)
		c.held, c.holding = c.held[:0], false
	}
	over := len(c.out)+len(c.held) > c.srv.opts.MaxPending
	c.outMu.Unlock()
	c.sentN.Add(1)
	c.srv.sent.Add(1)
	if over {
		c.close() // it takes no engine lock and never blocks
		return false
	}
	select {
	case c.signal <- struct{}{}:
	default:
	}
	return true
}

// writeLoop writes the outbound buffer as it fills.
func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	for {
		select {
		case <-c.signal:
		case <-c.done:
			return
		}
		c.outMu.Lock()
		buf := c.out
		c.out = c.spare[:0]
		c.outMu.Unlock()
		if len(buf) > 0 {
			if _, err := c.nc.Write(buf); err != nil {
				c.close()
				return
			}
		}
		c.outMu.Lock()
		if cap(buf) <= 1<<20 {
			c.spare = buf[:0]
		} else {
			c.spare = nil
		}
		done := c.ending && len(c.out) == 0
		c.outMu.Unlock()
		if done {
			c.close()
			return
		}
	}
}

// readBufferSize is the read buffer of a connection: a few requests of the
// usual size. Larger frames are read straight into the frame buffer.
const readBufferSize = 4 << 10

// readLoop runs the handshake, then requests until the connection ends.
func (c *conn) readLoop() {
	defer c.srv.wg.Done()
	defer c.finish()
	if !c.handshake() {
		return
	}
	// Buffered: a frame's length and body then take one read system call
	// instead of two (and a client that pipelines, fewer still). The
	// handshake above reads exactly its frame, so nothing is buffered past
	// it.
	r := bufio.NewReaderSize(c.nc, readBufferSize)
	var buf []byte
	for {
		frame, err := wire.ReadFrame(r, buf, c.srv.opts.MaxFrame)
		if err != nil {
			return
		}
		buf = frame
		c.received.Add(1)
		c.srv.received.Add(1)
		c.reqMu.Lock()
		more := c.serve(frame)
		c.reqMu.Unlock()
		if !more {
			return
		}
	}
}

// finish runs when the reader stops: the connection closes, and if it
// still owns its session, the session loses its watches and sink.
func (c *conn) finish() {
	c.outMu.Lock()
	ending := c.ending
	c.outMu.Unlock()
	if !ending {
		c.close() // else the writer closes once the last replies are out
	}
	s := c.srv
	s.mu.Lock()
	delete(s.conns, c)
	owner := c.sess != nil && s.owners[c.sess.st.id] == c
	if owner {
		delete(s.owners, c.sess.st.id)
	}
	s.mu.Unlock()
	if owner {
		s.db.detachConn(c.sess)
	}
}

// handshake reads the connect request and answers it. It reports whether
// the connection goes on.
func (c *conn) handshake() bool {
	db := c.srv.db
	_ = c.nc.SetReadDeadline(time.Now().Add(c.srv.opts.HandshakeTimeout))
	var head [4]byte
	if _, err := io.ReadFull(c.nc, head[:]); err != nil {
		return false
	}
	if word := string(head[:]); fourLetterWords[word] {
		if word == "stmk" {
			// The new mask follows as 8 bytes (ZooKeeper's
			// NIOServerCnxn.checkFourLetterWord reads a long).
			var mask [8]byte
			if _, err := io.ReadFull(c.nc, mask[:]); err != nil {
				return false
			}
			c.srv.traceMask.Store(int64(binary.BigEndian.Uint64(mask[:])))
			word = "gtmk" // and answers with it
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.HandshakeTimeout))
		_, _ = io.WriteString(c.nc, c.srv.fourLetter(word))
		return false
	}
	frame, err := wire.ReadFrame(io.MultiReader(bytes.NewReader(head[:]), c.nc), nil, c.srv.opts.MaxFrame)
	if err != nil {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	req, err := wire.DecodeConnectRequest(frame)
	if err != nil {
		return false
	}
	if req.LastZxidSeen > int64(db.LastZxid()) {
		// ZooKeeper refuses a client that has seen a newer zxid than the
		// server has (it was talking to a server ahead of this one).
		return false
	}
	var st *sessionState
	if req.SessionID == 0 {
		sess, err := db.newSession(context.Background(), &SessionOptions{
			Timeout: time.Duration(req.Timeout) * time.Millisecond, IdleExpiry: true, Addr: c.addr}, txn.SessionRemote)
		if err != nil {
			return false
		}
		st = sess.st
	} else {
		st = db.reattach(req.SessionID, req.Password, c.addr, time.Duration(req.Timeout)*time.Millisecond)
		if st == nil {
			// An unknown or expired session, or a wrong password: a zero
			// timeout tells the client its session has expired.
			c.send(func(e *wire.Encoder) {
				(&wire.ConnectResponse{Password: make([]byte, 16), HasReadOnly: req.HasReadOnly}).Encode(e)
			})
			c.endAfterFlush()
			return false
		}
	}
	s := c.srv
	s.mu.Lock()
	c.sess = &Session{db: db, st: st, wire: true, watchSet: c.holdNotifications} // under s.mu: the four-letter words read it
	prev := s.owners[st.id]
	s.owners[st.id] = c
	if prev != nil {
		prev.sess.moved.Store(true) // before attachConn drops its watches
	}
	s.mu.Unlock()
	if prev != nil {
		prev.close() // the session moved to this connection
	}
	c.send(func(e *wire.Encoder) {
		(&wire.ConnectResponse{Timeout: int32(st.liveTimeout().Milliseconds()), SessionID: st.id,
			Password: SessionPassword(st.id), HasReadOnly: req.HasReadOnly}).Encode(e)
	})
	if hook := attachHook.Load(); hook != nil {
		(*hook)(st.id)
	}
	return db.attachConn(c.sess, c.notify, prev != nil)
}

// attachHook, if set (by tests only), runs in each handshake just before
// the connection attaches to its session, with the session's id.
var attachHook atomic.Pointer[func(session int64)]

// endAfterFlush closes the connection once what is queued has been
// written: for the replies ZooKeeper sends just before it drops a
// connection. Nothing queued after it is sent. A client that does not read
// gets a second, then the connection closes anyway.
func (c *conn) endAfterFlush() {
	c.outMu.Lock()
	if c.dead {
		c.outMu.Unlock()
		return
	}
	c.dead, c.ending = true, true
	c.endBy = time.AfterFunc(time.Second, c.close)
	c.outMu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// holdNotifications is the session's watchSet: the request being served
// has registered a watch, so notifications dispatched from now on (of
// changes its reply does not show) wait for that reply; a client registers
// its watch when the reply arrives and would drop an event before it.
// Notifications dispatched earlier were queued already, before the reply
// that may show their change. zxid is that of the tree the read saw, which
// the reply then carries. It runs under the engine's watchMu.
func (c *conn) holdNotifications(zxid Zxid) {
	c.outMu.Lock()
	if !c.holding {
		c.holding, c.holdZxid = true, int64(zxid)
	}
	c.outMu.Unlock()
}

// notify is the connection's watch sink: it frames a notification. It
// runs under the engine's watchMu and never blocks.
func (c *conn) notify(ev znode.Event) bool {
	if ev.Type == znode.EventNone {
		// The session ended: ZooKeeper closes the connection, after the
		// reply to a closeSession in progress (the client learns of an
		// expiry when it reconnects). Not under the engine's locks.
		go func() {
			c.reqMu.Lock()
			defer c.reqMu.Unlock()
			c.endAfterFlush()
		}()
		return true
	}
	return c.queue(true, func(e *wire.Encoder) {
		wire.ReplyHeader{Xid: wire.XidNotification, Zxid: -1}.Encode(e)
		wire.WatcherEvent{Type: int32(ev.Type), State: int32(znode.StateSyncConnected), Path: ev.Path}.Encode(e)
	})
}

// reply queues a reply: its header, then, if err is nil, body. The
// header's zxid is chosen as ZooKeeper's FinalRequestProcessor chooses it:
//
//   - a write that succeeded passes own, the zxid of its record, and its
//     reply carries that, not the engine's last zxid: writes of other
//     connections may have been applied since (in the same group commit,
//     for one), and ZooKeeper's reply names its request's own
//     transaction;
//   - every other reply (own is 0) carries the last zxid the engine has
//     published, as ZooKeeper's carries its last processed zxid. That
//     includes failed writes: ZooKeeper logs them as error transactions
//     with a zxid of their own, zkembed does not log them (see
//     SEMANTICS.md, deliberate differences), so they have none to show.
//
// Either way a reply never shows a zxid past changes whose notifications
// it holds back (holdNotifications): those are of changes after holdZxid,
// and a client takes a reply's zxid as its lastZxidSeen, so setWatches
// after a reconnection would skip them. Only a read that set a watch
// holds notifications, so in practice this caps a read's last zxid; it
// applies to every reply all the same.
func (c *conn) reply(xid int32, own Zxid, err error, body func(e *wire.Encoder)) {
	c.answer(xid, own, err, body, false)
}

// answer is reply, with body written after an error too if always is set
// (ZooKeeper does so for a multi it fails as it prepares it).
func (c *conn) answer(xid int32, own Zxid, err error, body func(e *wire.Encoder), always bool) {
	zxid := int64(own)
	if err != nil || own == 0 {
		zxid = int64(c.srv.db.LastZxid())
	}
	c.outMu.Lock()
	if c.holding && c.holdZxid < zxid {
		zxid = c.holdZxid
	}
	c.outMu.Unlock()
	code := znode.CodeOf(err)
	c.send(func(e *wire.Encoder) {
		wire.ReplyHeader{Xid: xid, Zxid: zxid, Err: int32(code)}.Encode(e)
		if (code == znode.CodeOK || always) && body != nil {
			body(e)
		}
	})
}

// attachConn makes fn the notification sink of the session of sess, a
// connection's handle; moved says the session comes from another
// connection still open, whose watches it drops. It reports false if the
// session has ended meanwhile, or has moved on to a newer connection
// (whose attachConn may have run first).
func (db *DB) attachConn(sess *Session, fn func(znode.Event) bool, moved bool) bool {
	st := sess.st
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if st.closing.Load() || sess.moved.Load() {
		return false
	}
	if moved || db.sinks[st.id] != nil {
		// A connection starts with no watches: the previous one's end
		// with it, as ZooKeeper's end when it closes that connection,
		// and a previous connection still attached here (moved, or
		// finishing without the session: its detach gives way to this
		// one) has not dropped them. The client sets again what it still
		// wants (setWatches).
		db.watches.DropSession(st.id)
	}
	db.watches.Sink(st.id, fn)
	db.sinks[st.id] = sess
	db.watchers[st.id] = st
	db.watching.Store(true)
	return true
}

// detachConn drops the session's watches and sink when the connection of
// sess goes away, unless a newer connection has attached meanwhile.
func (db *DB) detachConn(sess *Session) {
	id := sess.st.id
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if db.sinks[id] != sess {
		return
	}
	delete(db.sinks, id)
	db.watches.DropSession(id)
	db.watches.Sink(id, nil)
	db.forgetWatcherLocked(id)
}

// reattach returns the open session id if password is its password,
// touching it with the timeout the client asks for now (clamped as a new
// session's; ZooKeeper renegotiates it on every connection) and giving it
// a fresh identity for a connection from addr (ZooKeeper's auth info
// belongs to the connection: a client sends its credentials again after
// reconnecting). Nil if there is no such session.
func (db *DB) reattach(id int64, password []byte, addr netip.Addr, timeout time.Duration) *sessionState {
	if subtle.ConstantTimeCompare(password, SessionPassword(id)) != 1 {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	st := db.mu.sessions[id]
	if st == nil || st.closing.Load() {
		return nil
	}
	st.who.Store(db.identityFor(addr))
	// A session resumed after a restart is now held by a client again, and
	// expires as a wire session does (an in-process session resumed with
	// Options.ResumeSessions too).
	st.idleExpiry.Store(true)
	st.live.Store(db.negotiateTimeout(timeout).Milliseconds())
	db.touchAndQueueLocked(st)
	return st
}
