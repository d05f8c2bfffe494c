package zkembed

import (
	"context"
	"encoding/binary"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// SessionOptions configures a new session. A nil *SessionOptions means
// defaults.
type SessionOptions struct {
	// Timeout is the requested session timeout. It is clamped to
	// [Options.MinSessionTimeout, Options.MaxSessionTimeout] as ZooKeeper
	// negotiates it; zero asks for the minimum.
	Timeout time.Duration

	// IdleExpiry makes the session expire when it has been idle (no request
	// and no Ping) for longer than its timeout, exactly as a ZooKeeper
	// server expires a client that stops sending. Without it, the engine
	// heartbeats for the session, as a connected client library would, and
	// the session ends only by Close, by DB.ExpireSession, or with the
	// engine.
	IdleExpiry bool

	// Addr is the address the session comes from, for the ip ACL scheme:
	// like every ZooKeeper connection, the session then holds the id
	// ip:Addr. The wire protocol passes the peer's address. Default: none.
	Addr netip.Addr
}

// Session is a ZooKeeper session: the owner of ephemeral nodes and the
// identity operations run as. It is safe for concurrent use.
type Session struct {
	db *DB
	st *sessionState
	// wire marks the handle of a wire connection: its watches have no
	// channels, their events reach the connection's sink (server.go).
	wire bool
	// watchSet, on a wire handle, is called under watchMu once a read has
	// registered its watch: from then on the connection holds back
	// notifications until the read's reply is queued, since a client
	// learns of its watch from that reply and drops an event it does not
	// know the watch of. zxid is that of the tree the read saw.
	watchSet func(zxid Zxid)
	// moved, on a wire handle, says its session has moved to another
	// connection. ZooKeeper then closes this one and drops its watches
	// (DataTree.removeCnxn); a request of this connection still being
	// served neither attaches, nor registers, checks or removes watches,
	// nor adds credentials.
	moved atomic.Bool
}

// sessionState is the engine's record of a session.
type sessionState struct {
	id      int64
	timeout time.Duration // as logged
	// kind says where the session's client is, as logged: in process
	// (NewSession) or remote (the wire server's handshake); unknown for a
	// session logged before kinds. It decides whether a reopened engine
	// closes or resumes the session (see DB.recover). Set under DB.mu
	// when the session is created or restored, never changed.
	kind txn.SessionKind
	// live is the timeout (ms) negotiated by the session's latest
	// connection, which its expiry follows: ZooKeeper touches a session
	// with its connection's timeout, and a client that reconnects may ask
	// for another (it is not logged, as in ZooKeeper).
	live atomic.Int64
	// idleExpiry is set for sessions that expire when idle, and for every
	// session restored by replay (no client is holding it yet).
	idleExpiry atomic.Bool
	// closing is set once close or expiry has begun; later requests fail
	// with ErrSessionExpired.
	closing atomic.Bool
	// lastTouch is the steady clock reading (ms, DB.steadyMillis) of the
	// last request or ping.
	lastTouch atomic.Int64
	// bucket is the expiry bucket (ms) the session sits in; guarded by
	// DB.mu.
	bucket int64
	// who is the session's identity: its authentication ids.
	who atomic.Pointer[acl.Identity]
	// authFailed is set once an addAuth failed: as ZooKeeper drops the
	// connection, the session takes no more requests.
	authFailed atomic.Bool
	// addr is the address the session comes from (SessionOptions.Addr).
	addr netip.Addr
	// endState is the state its watches end with: StateClosed or
	// StateExpired, set (under DB.mu) when its closeSession is committed.
	endState atomic.Int32
	// done is closed once the session has ended (see Session.Done); ended
	// makes closing it idempotent.
	done  chan struct{}
	ended atomic.Bool
}

// end closes s.done, once.
func (s *sessionState) end() {
	if s.ended.CompareAndSwap(false, true) {
		close(s.done)
	}
}

// touch records activity at now. A concurrent touch may have stored a
// later time already; lastTouch only moves forward, so a session never
// expires sooner than its timeout after its last request.
func (s *sessionState) touch(now int64) {
	for {
		old := s.lastTouch.Load()
		if now <= old || s.lastTouch.CompareAndSwap(old, now) {
			return
		}
	}
}

// addIDs adds authenticated ids to the session's identity.
func (s *sessionState) addIDs(ids []znode.ID) {
	for {
		old := s.who.Load()
		if s.who.CompareAndSwap(old, old.With(ids...)) {
			return
		}
	}
}

// negotiateTimeout clamps a requested session timeout as ZooKeeper does,
// for a new session and for every reconnection.
func (db *DB) negotiateTimeout(d time.Duration) time.Duration {
	return min(max(d, db.opts.MinSessionTimeout), db.opts.MaxSessionTimeout)
}

// identityFor is the identity a session from addr starts with: none but
// ip:addr, which every ZooKeeper connection holds.
func (db *DB) identityFor(addr netip.Addr) *acl.Identity {
	if ip, ok := acl.AddrID(addr); ok {
		return db.auth.Identity(ip)
	}
	return db.auth.Identity()
}

func newSessionState(id int64, timeoutMillis int32, who *acl.Identity) *sessionState {
	s := &sessionState{id: id, timeout: time.Duration(timeoutMillis) * time.Millisecond, done: make(chan struct{})}
	s.live.Store(int64(timeoutMillis))
	s.idleExpiry.Store(true)
	s.who.Store(who)
	return s
}

// NewSession opens a session. Its id comes from the engine's seeded sequence
// and its password from the id, exactly as ZooKeeper derives it; opening it is
// a createSession transaction with its own zxid. The session is in-process:
// it ends with its process, so an engine reopened on its log closes it
// (unless Options.ResumeSessions).
func (db *DB) NewSession(ctx context.Context, opts *SessionOptions) (*Session, error) {
	return db.newSession(ctx, opts, txn.SessionInProcess)
}

// newSession is NewSession for a session of the given kind: the wire
// server's handshake opens remote ones.
func (db *DB) newSession(ctx context.Context, opts *SessionOptions, kind txn.SessionKind) (*Session, error) {
	if err := checkCtx(ctx, "createSession", ""); err != nil {
		return nil, err
	}
	var o SessionOptions
	if opts != nil {
		o = *opts
	}
	timeout := db.negotiateTimeout(o.Timeout)
	var st *sessionState
	err := db.update("createSession", "", func() error {
		if db.mu.closed {
			return &OpError{Op: "createSession", Err: ErrClosed}
		}
		id := db.mu.nextSession
		op := txn.Op{Type: txn.TypeCreateSession, Session: id, Timeout: int32(timeout.Milliseconds()), Kind: kind}
		if err := db.commitOneLocked(id, db.nowMillis(), op); err != nil {
			return &OpError{Op: "createSession", Err: err}
		}
		st = db.mu.sessions[id]
		st.idleExpiry.Store(o.IdleExpiry)
		st.addr = o.Addr
		st.who.Store(db.identityFor(o.Addr))
		db.touchAndQueueLocked(st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Session{db: db, st: st}, nil
}

// ID returns the session id.
func (s *Session) ID() int64 { return s.st.id }

// Timeout returns the negotiated session timeout.
func (s *Session) Timeout() time.Duration { return s.st.liveTimeout() }

// liveTimeout returns the timeout negotiated by the session's latest
// connection.
func (s *sessionState) liveTimeout() time.Duration {
	return time.Duration(s.live.Load()) * time.Millisecond
}

// Password returns the session password: 16 bytes derived from the id as
// ZooKeeper's ZooKeeperServer.generatePasswd does.
func (s *Session) Password() []byte { return SessionPassword(s.st.id) }

// Ping refreshes the session's expiry deadline, as a client heartbeat does.
func (s *Session) Ping(ctx context.Context) error {
	_, err := s.begin(ctx, "ping", "")
	return err
}

// Done returns a channel that is closed once the session has ended: closed,
// expired, or ended with its engine. It is closed when the session's
// closeSession is applied, before the events of that close are delivered
// and before it is durable, so a holder of ephemeral nodes (a lock, a
// leadership) learns of the loss as early as the engine knows it.
func (s *Session) Done() <-chan struct{} { return s.st.done }

// Close closes the session: its ephemeral nodes are deleted in one
// closeSession transaction, and later calls fail with ErrSessionExpired.
// Closing a closed session is a no-op.
func (s *Session) Close(ctx context.Context) error {
	_, err := s.close(ctx)
	return err
}

// close is Close; it also returns the zxid of the closeSession record (0
// if the session had ended already), which the wire server's reply carries.
func (s *Session) close(ctx context.Context) (Zxid, error) {
	if err := checkCtx(ctx, "closeSession", ""); err != nil {
		return 0, err
	}
	return s.db.endSession(s.st.id, "closeSession")
}

// ExpireSession expires the session with the given id now, as the server
// does when a client stops heartbeating: its ephemerals are deleted in one
// closeSession transaction. It fails with ErrSessionExpired if there is no
// such open session.
func (db *DB) ExpireSession(ctx context.Context, id int64) error {
	if err := checkCtx(ctx, "expireSession", ""); err != nil {
		return err
	}
	_, err := db.endSession(id, "expireSession")
	return err
}

// endSession logs the end of session id and returns the record's zxid (0
// when a closeSession finds the session ended already).
func (db *DB) endSession(id int64, opName string) (Zxid, error) {
	var zxid Zxid
	err := db.update(opName, "", func() error {
		if db.mu.closed {
			return &OpError{Op: opName, Err: ErrClosed}
		}
		st := db.mu.sessions[id]
		if st == nil {
			if opName == "closeSession" {
				return nil
			}
			return &OpError{Op: opName, Err: ErrSessionExpired}
		}
		if err := db.closeSessionLocked(st, opName); err != nil {
			return err
		}
		zxid = db.mu.working.Zxid()
		return nil
	})
	return zxid, err
}

// closeSessionLocked writes the closeSession transaction that ends st and
// deletes all its ephemerals under one zxid. REQUIRES: db.mu held.
func (db *DB) closeSessionLocked(st *sessionState, opName string) error {
	paths := db.mu.working.DeletionOrder(st.id)
	size := 0
	for _, p := range paths {
		size += len(p) + binary.MaxVarintLen32
	}
	if size > closeSessionPathsMax {
		paths = nil // "all of the session's ephemerals"; see txn.Op.Paths
	}
	op := txn.Op{Type: txn.TypeCloseSession, Session: st.id, Paths: paths}
	state := znode.StateClosed
	if opName == "expireSession" {
		state = znode.StateExpired
	}
	st.endState.Store(int32(state))
	if err := db.commitOneLocked(st.id, db.nowMillis(), op); err != nil {
		return &OpError{Op: opName, Err: err}
	}
	return nil
}

// closeSessionPathsMax bounds the bytes of paths a closeSession record
// lists, well below txn.MaxRecordSize. A variable for tests.
var closeSessionPathsMax = txn.MaxRecordSize / 4

// begin starts an operation of the session: it checks the context, the
// engine and the session, and counts as a heartbeat. It returns the session
// id.
func (s *Session) begin(ctx context.Context, op, path string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, &OpError{Op: op, Path: path, Err: err}
	}
	if err := s.stillOpen(op, path); err != nil {
		return 0, err
	}
	if s.st.idleExpiry.Load() {
		s.st.touch(s.db.steadyMillis())
	}
	return s.st.id, nil
}

// checkLocked re-checks the session inside a write, where a concurrent
// expiry could have begun. REQUIRES: db.mu held.
func (s *Session) checkLocked(op, path string) error {
	if s.db.mu.closed {
		return &OpError{Op: op, Path: path, Err: ErrClosed}
	}
	if s.st.closing.Load() {
		return &OpError{Op: op, Path: path, Err: ErrSessionExpired}
	}
	return nil
}

func (db *DB) isClosed() bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.mu.closed
}

func sortedSessionIDs(m map[int64]*sessionState) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// SessionPassword returns the 16-byte password ZooKeeper gives session id:
// the first bytes of java.util.Random(id ^ 0xB3415C00).nextBytes.
func SessionPassword(id int64) []byte {
	r := javaRandom{seed: (id ^ 0xB3415C00 ^ 0x5DEECE66D) & (1<<48 - 1)}
	p := make([]byte, 16)
	for i := 0; i < len(p); {
		v := r.next32()
		for n := 0; n < 4 && i < len(p); n++ {
			p[i] = byte(v)
			v >>= 8
			i++
		}
	}
	return p
}

// javaRandom is java.util.Random's 48-bit linear congruential generator.
type javaRandom struct{ seed int64 }

func (r *javaRandom) next32() int32 {
	r.seed = (r.seed*0x5DEECE66D + 0xB) & (1<<48 - 1)
	return int32(r.seed >> 16)
}
