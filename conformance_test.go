package zkembed_test

// Conformance suite: every scenario below is a script that runs twice, once
// against a real ZooKeeper 3.8 server (internal/zkserver, driven through
// github.com/go-zookeeper/zk) and once against the zkembed engine through its
// Go API. Each step appends a line to a transcript; the two normalized
// transcripts must be identical. The expected values are therefore whatever
// real ZooKeeper answers in the same run, never values written into this
// file.
//
// Normalization (so that the two systems are comparable):
//   - errors become ZooKeeper's numeric codes (go-zk's error values are mapped
//     back to their codes; zkembed's via znode.CodeOf);
//   - zxids become their rank among all distinct non-zero zxids observed in
//     that run's transcript (0 stays 0). ZooKeeper burns zxids on failed
//     writes and session creation and zkembed does not (SEMANTICS.md,
//     "Failed writes need not consume a zxid"), so only the order is
//     comparable;
//   - ctime/mtime are reduced to "0" or "set";
//   - ephemeralOwner becomes the label of the session that owns the node
//     ("A", "B", ...) or 0;
//   - child lists are sorted (ZooKeeper's order is unspecified);
//   - the per-test path prefix is shown as "$P".
//
// Client-side limits of go-zk that decide what can be compared here (the wire
// adapter's own conformance tests will cover the rest):
//   - go-zk validates paths before sending, so ZooKeeper's server-side path
//     branches (trailing "/", "//", ".", "..", bad characters, reads of "")
//     cannot be reached through it and are not tested here;
//   - go-zk validates create flags client-side (Create with a TTL flag,
//     CreateTTL/CreateContainer with a mismatched flag, flags outside 0..6),
//     so those server branches are not reachable either;
//   - go-zk's multi decoder cannot read create2-type results, which ZooKeeper
//     sends for container and TTL creates inside a multi, so multis here only
//     create persistent/ephemeral/sequential nodes;
//   - go-zk has no getAllChildrenNumber, getEphemerals or multiRead calls, so
//     those operations are not compared here.
//
// Sessions in the scenarios of this file authenticate with nothing and the
// engine's sessions have no address, so their ACL checks run as an
// unauthenticated caller on both systems, and ip ACLs are only created, never
// used for a permission check. Clients can add auth (confClient.addAuth), and
// conformance_acl_test.go runs an ACL matrix with digest, ip and super
// identities: its engine sessions carry the address 127.0.0.1
// (confEngineSystem.sessOpts), as go-zk's loopback connections do.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/internal/zkserver"
	"github.com/zkembed/zkembed/znode"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if n := confComparisons.Load(); n > 0 && testing.Verbose() {
		fmt.Printf("conformance: %d ZooKeeper transcript lines compared with zkembed\n", n)
	}
	zkserver.StopShared()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err) // every goroutine a test starts has ended
		code = 1
	}
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// Neutral types shared by both adapters.

// confStat is a Stat in raw form; it is normalized when the transcript is
// rendered.
type confStat struct {
	Czxid, Mzxid, Ctime, Mtime  int64
	Version, Cversion, Aversion int32
	EphemeralOwner              int64
	DataLength, NumChildren     int32
	Pzxid                       int64
}

func confStatFromZK(s *zk.Stat) confStat {
	if s == nil {
		return confStat{}
	}
	return confStat{s.Czxid, s.Mzxid, s.Ctime, s.Mtime, s.Version, s.Cversion, s.Aversion,
		s.EphemeralOwner, s.DataLength, s.NumChildren, s.Pzxid}
}

func confStatFromEngine(s zkembed.Stat) confStat {
	return confStat{int64(s.Czxid), int64(s.Mzxid), s.Ctime, s.Mtime, s.Version, s.Cversion, s.Aversion,
		s.EphemeralOwner, s.DataLength, s.NumChildren, int64(s.Pzxid)}
}

// confOp is one operation of a multi.
type confOp struct {
	kind    string // "create", "delete", "set", "check"
	path    string
	data    []byte
	mode    int32
	acl     []zk.ACL
	version int32
}

// confResult is one result of a multi.
type confResult struct {
	code int32
	path string    // created path, for a successful create
	stat *confStat // for a successful setData
}

// confClient is one session on one of the two systems.
type confClient interface {
	id() int64
	create(path string, data []byte, mode int32, acl []zk.ACL, ttl time.Duration) (string, error)
	delete(path string, version int32) error
	set(path string, data []byte, version int32) (confStat, error)
	get(path string) ([]byte, confStat, error)
	exists(path string) (bool, confStat, error)
	children(path string) ([]string, confStat, error)
	getACL(path string) ([]zk.ACL, confStat, error)
	setACL(path string, acl []zk.ACL, version int32) (confStat, error)
	multi(ops []confOp) ([]confResult, error)
	addAuth(scheme string, auth []byte) error
	close() error
	code(err error) int32
}

// confSystem is one of the two implementations under comparison.
type confSystem interface {
	name() string
	connect(t *testing.T) confClient
	// elapse lets d pass. The real server's reaper runs on its own every
	// check interval; the engine's clock is advanced by d and reaping passes
	// run until nothing more is due, the state the server's repeated passes
	// reach.
	elapse(t *testing.T, d time.Duration)
	// waitGone returns once every path in gone has disappeared (or a bounded
	// wait has run out) and the reaper has had a few more passes.
	waitGone(t *testing.T, gone []string)
}

// ---------------------------------------------------------------------------
// Real ZooKeeper through go-zk.

type confNopLogger struct{}

func (confNopLogger) Printf(string, ...any) {}

type confZKSystem struct {
	srv      *zkserver.Server
	dialer   zk.Dialer     // if set, connect through it (zkembed's wire server)
	interval time.Duration // container check interval, if set
	probe    *confZKClient
}

func (s *confZKSystem) name() string { return "zookeeper" }

func (s *confZKSystem) connect(t *testing.T) confClient {
	t.Helper()
	return &confZKClient{c: s.dial(t, nil)}
}

// dial opens a go-zk connection, with the event callback cb if not nil, and
// waits for its session; the connection closes at cleanup.
func (s *confZKSystem) dial(t *testing.T, cb zk.EventCallback) *zk.Conn {
	t.Helper()
	if cb == nil {
		cb = func(zk.Event) {}
	}
	var conn *zk.Conn
	var events <-chan zk.Event
	var err error
	if s.dialer != nil {
		// An IP literal: go-zk would resolve a name through DNS.
		conn, events, err = zk.Connect([]string{"127.0.0.1:2181"}, 10*time.Second, zk.WithDialer(s.dialer),
			zk.WithLogger(confNopLogger{}), zk.WithLogInfo(false), zk.WithEventCallback(cb))
	} else {
		conn, events, err = zk.Connect(s.srv.Servers(), 10*time.Second,
			zk.WithLogger(confNopLogger{}), zk.WithLogInfo(false), zk.WithEventCallback(cb))
	}
	if err != nil {
		t.Fatalf("zk.Connect: %v", err)
	}
	t.Cleanup(conn.Close)
	timeout := time.After(15 * time.Second)
wait:
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("zk: event channel closed before the session was established")
			}
			if ev.State == zk.StateHasSession {
				break wait
			}
		case <-timeout:
			t.Fatal("zk: no session within 15s")
		}
	}
	go func() {
		for range events { //nolint:revive // drain
		}
	}()
	return conn
}

func (s *confZKSystem) elapse(_ *testing.T, d time.Duration) { time.Sleep(d) }

func (s *confZKSystem) waitGone(t *testing.T, gone []string) {
	t.Helper()
	if s.probe == nil {
		s.probe = s.connect(t).(*confZKClient)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, p := range gone {
		for {
			ok, _, err := s.probe.c.Exists(p)
			if err != nil {
				t.Fatalf("zk: exists %s: %v", p, err)
			}
			if !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Logf("zk: %s still exists after waiting for the reaper", p)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Give the reaper a few more passes, so that nodes it must keep would
	// have been deleted by now if it were going to delete them.
	time.Sleep(3 * s.interval)
}

type confZKClient struct{ c *zk.Conn }

func (z *confZKClient) id() int64 { return z.c.SessionID() }

func (z *confZKClient) create(path string, data []byte, mode int32, acl []zk.ACL, ttl time.Duration) (string, error) {
	switch mode {
	case zk.FlagContainer:
		return z.c.CreateContainer(path, data, mode, acl)
	case zk.FlagTTL, zk.FlagPersistentSequentialWithTTL:
		return z.c.CreateTTL(path, data, mode, acl, ttl)
	}
	return z.c.Create(path, data, mode, acl)
}

func (z *confZKClient) delete(path string, version int32) error { return z.c.Delete(path, version) }

func (z *confZKClient) set(path string, data []byte, version int32) (confStat, error) {
	st, err := z.c.Set(path, data, version)
	return confStatFromZK(st), err
}

func (z *confZKClient) get(path string) ([]byte, confStat, error) {
	d, st, err := z.c.Get(path)
	return d, confStatFromZK(st), err
}

func (z *confZKClient) exists(path string) (bool, confStat, error) {
	ok, st, err := z.c.Exists(path)
	return ok, confStatFromZK(st), err
}

func (z *confZKClient) children(path string) ([]string, confStat, error) {
	ch, st, err := z.c.Children(path)
	return ch, confStatFromZK(st), err
}

func (z *confZKClient) getACL(path string) ([]zk.ACL, confStat, error) {
	acl, st, err := z.c.GetACL(path)
	return acl, confStatFromZK(st), err
}

func (z *confZKClient) setACL(path string, acl []zk.ACL, version int32) (confStat, error) {
	st, err := z.c.SetACL(path, acl, version)
	return confStatFromZK(st), err
}

func (z *confZKClient) multi(ops []confOp) ([]confResult, error) {
	reqs := make([]any, len(ops))
	for i, o := range ops {
		switch o.kind {
		case "create":
			reqs[i] = &zk.CreateRequest{Path: o.path, Data: o.data, Acl: o.acl, Flags: o.mode}
		case "delete":
			reqs[i] = &zk.DeleteRequest{Path: o.path, Version: o.version}
		case "set":
			reqs[i] = &zk.SetDataRequest{Path: o.path, Data: o.data, Version: o.version}
		case "check":
			reqs[i] = &zk.CheckVersionRequest{Path: o.path, Version: o.version}
		default:
			panic("unknown multi op " + o.kind)
		}
	}
	res, err := z.c.Multi(reqs...)
	out := make([]confResult, len(res))
	for i, r := range res {
		out[i].code = z.code(r.Error)
		if err == nil && i < len(ops) {
			switch ops[i].kind {
			case "create":
				out[i].path = r.String
			case "set":
				st := confStatFromZK(r.Stat)
				out[i].stat = &st
			}
		}
	}
	return out, err
}

func (z *confZKClient) addAuth(scheme string, auth []byte) error { return z.c.AddAuth(scheme, auth) }

func (z *confZKClient) close() error {
	z.c.Close()
	return nil
}

// confZKErrCodes maps go-zk's error values back to ZooKeeper's codes.
var confZKErrCodes = map[error]int32{
	zk.ErrAPIError:                -100,
	zk.ErrNoNode:                  -101,
	zk.ErrNoAuth:                  -102,
	zk.ErrBadVersion:              -103,
	zk.ErrNoChildrenForEphemerals: -108,
	zk.ErrNodeExists:              -110,
	zk.ErrNotEmpty:                -111,
	zk.ErrSessionExpired:          -112,
	zk.ErrInvalidACL:              -114,
	zk.ErrAuthFailed:              -115,
	zk.ErrClosing:                 -116,
	zk.ErrNothing:                 -117,
	zk.ErrSessionMoved:            -118,
	zk.ErrReconfigDisabled:        -123,
	zk.ErrBadArguments:            -8,
}

// confClientSideError marks an error go-zk produced without a server code (for
// example its own path validation); it never equals a zkembed code.
const confClientSideError = -9999

func (z *confZKClient) code(err error) int32 {
	if err == nil {
		return 0
	}
	for e, c := range confZKErrCodes {
		if errors.Is(err, e) {
			return c
		}
	}
	// Codes go-zk has no error value for come back as "unknown error: N".
	var n int32
	if _, scanErr := fmt.Sscanf(err.Error(), "unknown error: %d", &n); scanErr == nil {
		return n
	}
	return confClientSideError
}

// ---------------------------------------------------------------------------
// zkembed through its Go API.

type confEngineSystem struct {
	db       *zkembed.DB
	clk      *clock.Virtual
	sessOpts *zkembed.SessionOptions // for every new session; nil means defaults
}

func newConfEngineSystem(t *testing.T) *confEngineSystem {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	db, err := zkembed.Open("", &zkembed.Options{ExtendedTypes: true, Clock: clk})
	if err != nil {
		t.Fatalf("zkembed.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &confEngineSystem{db: db, clk: clk}
}

func (e *confEngineSystem) name() string { return "zkembed" }

func (e *confEngineSystem) connect(t *testing.T) confClient {
	t.Helper()
	s, err := e.db.NewSession(context.Background(), e.sessOpts)
	if err != nil {
		t.Fatalf("zkembed NewSession: %v", err)
	}
	return &confEngineClient{s: s}
}

func (e *confEngineSystem) elapse(t *testing.T, d time.Duration) {
	t.Helper()
	e.clk.Advance(d)
	for range 10 {
		n, err := e.db.ReapNow()
		if err != nil {
			t.Fatalf("zkembed ReapNow: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

func (e *confEngineSystem) waitGone(*testing.T, []string) {}

// confWireSystem is zkembed behind its wire server, driven by go-zk through
// the in-process dialer: the same client code as for real ZooKeeper.
type confWireSystem struct {
	*confEngineSystem
	srv *zkembed.Server
}

func newConfWireSystem(t *testing.T) *confWireSystem {
	t.Helper()
	e := newConfEngineSystem(t)
	srv := zkembed.NewServer(e.db, nil)
	t.Cleanup(func() { _ = srv.Close() })
	return &confWireSystem{confEngineSystem: e, srv: srv}
}

func (w *confWireSystem) name() string { return "zkembed-wire" }

func (w *confWireSystem) connect(t *testing.T) confClient {
	t.Helper()
	z := &confZKSystem{dialer: w.srv.Dial}
	return &confZKClient{c: z.dial(t, nil)}
}

type confEngineClient struct{ s *zkembed.Session }

var confCtx = context.Background()

func confEngineACL(list []zk.ACL) []zkembed.ACL {
	if list == nil {
		return nil
	}
	out := make([]zkembed.ACL, len(list))
	for i, a := range list {
		out[i] = zkembed.ACL{Perms: zkembed.Perm(a.Perms), ID: zkembed.ID{Scheme: a.Scheme, ID: a.ID}}
	}
	return out
}

func (c *confEngineClient) id() int64 { return c.s.ID() }

func (c *confEngineClient) create(path string, data []byte, mode int32, acl []zk.ACL, ttl time.Duration) (string, error) {
	m := zkembed.CreateMode(mode)
	switch m {
	case zkembed.ModePersistentWithTTL, zkembed.ModePersistentSequentialWithTTL:
		p, _, err := c.s.CreateTTL(confCtx, path, data, m, confEngineACL(acl), ttl)
		return p, err
	case zkembed.ModeContainer:
		p, _, err := c.s.Create2(confCtx, path, data, m, confEngineACL(acl))
		return p, err
	}
	return c.s.Create(confCtx, path, data, m, confEngineACL(acl))
}

func (c *confEngineClient) delete(path string, version int32) error {
	return c.s.Delete(confCtx, path, version)
}

func (c *confEngineClient) set(path string, data []byte, version int32) (confStat, error) {
	st, err := c.s.SetData(confCtx, path, data, version)
	return confStatFromEngine(st), err
}

func (c *confEngineClient) get(path string) ([]byte, confStat, error) {
	d, st, err := c.s.GetData(confCtx, path)
	return d, confStatFromEngine(st), err
}

func (c *confEngineClient) exists(path string) (bool, confStat, error) {
	ok, st, err := c.s.Exists(confCtx, path)
	return ok, confStatFromEngine(st), err
}

func (c *confEngineClient) children(path string) ([]string, confStat, error) {
	ch, st, err := c.s.GetChildren(confCtx, path)
	return ch, confStatFromEngine(st), err
}

func (c *confEngineClient) getACL(path string) ([]zk.ACL, confStat, error) {
	list, st, err := c.s.GetACL(confCtx, path)
	var out []zk.ACL
	for _, a := range list {
		out = append(out, zk.ACL{Perms: int32(a.Perms), Scheme: a.Scheme, ID: a.ID.ID})
	}
	return out, confStatFromEngine(st), err
}

func (c *confEngineClient) setACL(path string, acl []zk.ACL, version int32) (confStat, error) {
	st, err := c.s.SetACL(confCtx, path, confEngineACL(acl), version)
	return confStatFromEngine(st), err
}

func (c *confEngineClient) multi(ops []confOp) ([]confResult, error) {
	eops := make([]zkembed.Op, len(ops))
	for i, o := range ops {
		switch o.kind {
		case "create":
			eops[i] = &zkembed.CreateOp{Path: o.path, Data: o.data, Mode: zkembed.CreateMode(o.mode), ACL: confEngineACL(o.acl)}
		case "delete":
			eops[i] = &zkembed.DeleteOp{Path: o.path, Version: o.version}
		case "set":
			eops[i] = &zkembed.SetDataOp{Path: o.path, Data: o.data, Version: o.version}
		case "check":
			eops[i] = &zkembed.CheckOp{Path: o.path, Version: o.version}
		default:
			panic("unknown multi op " + o.kind)
		}
	}
	res, err := c.s.Multi(confCtx, eops...)
	out := make([]confResult, len(res))
	for i, r := range res {
		out[i].code = c.code(r.Err)
		if err == nil && i < len(ops) {
			switch ops[i].kind {
			case "create":
				out[i].path = r.Path
			case "set":
				st := confStatFromEngine(r.Stat)
				out[i].stat = &st
			}
		}
	}
	return out, err
}

func (c *confEngineClient) addAuth(scheme string, auth []byte) error {
	return c.s.AddAuth(confCtx, scheme, auth)
}

func (c *confEngineClient) close() error { return c.s.Close(confCtx) }

func (c *confEngineClient) code(err error) int32 { return int32(znode.CodeOf(err)) }

// ---------------------------------------------------------------------------
// The recorder: runs a scenario's steps on one system and keeps a transcript.

type confSess struct {
	name string
	c    confClient
}

type confLine struct {
	text string
	stat *confStat
}

type confRun struct {
	t      *testing.T
	sys    confSystem
	prefix string
	lines  []confLine
	owners map[int64]string
}

// session opens a new session labelled name ("A", "B", ...).
func (r *confRun) session(name string) *confSess {
	r.t.Helper()
	c := r.sys.connect(r.t)
	r.owners[c.id()] = name
	return &confSess{name: name, c: c}
}

func (r *confRun) rec(st *confStat, format string, args ...any) {
	r.lines = append(r.lines, confLine{text: fmt.Sprintf(format, args...), stat: st})
}

func confFmtCode(c int32) string {
	if c == 0 {
		return "ok"
	}
	if c == confClientSideError {
		return "client-side error"
	}
	return fmt.Sprintf("err %d (%s)", c, znode.Code(c).Error())
}

func confFmtData(b []byte) string {
	if b == nil {
		return "<null>"
	}
	if len(b) > 40 {
		return fmt.Sprintf("<%d bytes>", len(b))
	}
	return strconv.Quote(string(b))
}

func confFmtACL(list []zk.ACL) string {
	if list == nil {
		return "nil"
	}
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = fmt.Sprintf("%s:%s:%d", a.Scheme, a.ID, a.Perms)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

var confModeNames = map[int32]string{0: "persistent", 1: "ephemeral", 2: "persistent-seq",
	3: "ephemeral-seq", 4: "container", 5: "ttl", 6: "ttl-seq"}

// create runs a create and, if it succeeded, records the new node's Stat.
func (r *confRun) create(s *confSess, path string, data []byte, mode int32, acl []zk.ACL, ttl time.Duration) string {
	p := r.createOnly(s, path, data, mode, acl, ttl)
	if p != "" {
		r.stat(s, p)
	}
	return p
}

// createOnly runs a create and records its result but not the new node's
// Stat (so that a create that succeeds on only one system does not shift the
// zxid ranks of every later line).
func (r *confRun) createOnly(s *confSess, path string, data []byte, mode int32, acl []zk.ACL, ttl time.Duration) string {
	p, err := s.c.create(path, data, mode, acl, ttl)
	code := s.c.code(err)
	ttlText := ""
	if mode == 5 || mode == 6 {
		ttlText = " ttl=" + strconv.FormatInt(ttl.Milliseconds(), 10) + "ms"
	}
	if code != 0 {
		p = ""
	}
	r.rec(nil, "%s: create %s %s data=%s acl=%s%s -> %q %s", s.name, path, confModeNames[mode],
		confFmtData(data), confFmtACL(acl), ttlText, p, confFmtCode(code))
	return p
}

func (r *confRun) del(s *confSess, path string, version int32) {
	err := s.c.delete(path, version)
	r.rec(nil, "%s: delete %s v=%d -> %s", s.name, path, version, confFmtCode(s.c.code(err)))
}

func (r *confRun) set(s *confSess, path string, data []byte, version int32) {
	st, err := s.c.set(path, data, version)
	code := s.c.code(err)
	var sp *confStat
	if code == 0 {
		sp = &st
	}
	r.rec(sp, "%s: setData %s data=%s v=%d -> %s", s.name, path, confFmtData(data), version, confFmtCode(code))
}

func (r *confRun) get(s *confSess, path string) {
	d, st, err := s.c.get(path)
	code := s.c.code(err)
	if code != 0 {
		r.rec(nil, "%s: getData %s -> %s", s.name, path, confFmtCode(code))
		return
	}
	r.rec(&st, "%s: getData %s -> ok data=%s", s.name, path, confFmtData(d))
}

func (r *confRun) stat(s *confSess, path string) {
	ok, st, err := s.c.exists(path)
	code := s.c.code(err)
	if code != 0 || !ok {
		r.rec(nil, "%s: exists %s -> %v %s", s.name, path, ok, confFmtCode(code))
		return
	}
	r.rec(&st, "%s: exists %s -> true", s.name, path)
}

func (r *confRun) children(s *confSess, path string) {
	ch, st, err := s.c.children(path)
	code := s.c.code(err)
	if code != 0 {
		r.rec(nil, "%s: getChildren %s -> %s", s.name, path, confFmtCode(code))
		return
	}
	ch = slices.Clone(ch)
	slices.Sort(ch)
	r.rec(&st, "%s: getChildren %s -> ok %q", s.name, path, ch)
}

func (r *confRun) getACL(s *confSess, path string) {
	list, st, err := s.c.getACL(path)
	code := s.c.code(err)
	if code != 0 {
		r.rec(nil, "%s: getACL %s -> %s", s.name, path, confFmtCode(code))
		return
	}
	r.rec(&st, "%s: getACL %s -> ok %s", s.name, path, confFmtACL(list))
}

func (r *confRun) setACL(s *confSess, path string, acl []zk.ACL, version int32) {
	st, err := s.c.setACL(path, acl, version)
	code := s.c.code(err)
	var sp *confStat
	if code == 0 {
		sp = &st
	}
	r.rec(sp, "%s: setACL %s acl=%s v=%d -> %s", s.name, path, confFmtACL(acl), version, confFmtCode(code))
}

func (r *confRun) multi(s *confSess, ops ...confOp) []confResult {
	res, err := s.c.multi(ops)
	descs := make([]string, len(ops))
	for i, o := range ops {
		switch o.kind {
		case "create":
			descs[i] = fmt.Sprintf("create %s %s data=%s", o.path, confModeNames[o.mode], confFmtData(o.data))
		case "set":
			descs[i] = fmt.Sprintf("setData %s data=%s v=%d", o.path, confFmtData(o.data), o.version)
		default:
			descs[i] = fmt.Sprintf("%s %s v=%d", o.kind, o.path, o.version)
		}
	}
	r.rec(nil, "%s: multi [%s] -> %s, %d results", s.name, strings.Join(descs, "; "), confFmtCode(s.c.code(err)), len(res))
	for i, m := range res {
		r.rec(m.stat, "%s:   multi result %d -> %s path=%q", s.name, i, confFmtCode(m.code), m.path)
	}
	return res
}

func (r *confRun) closeSession(s *confSess) {
	err := s.c.close()
	r.rec(nil, "%s: close session -> %s", s.name, confFmtCode(s.c.code(err)))
}

// elapse lets d pass (see confSystem.elapse).
func (r *confRun) elapse(d time.Duration) {
	r.sys.elapse(r.t, d)
	r.rec(nil, "-- %v pass", d)
}

// reap lets age pass and waits for the reaper to delete gone.
func (r *confRun) reap(age time.Duration, gone ...string) {
	r.sys.elapse(r.t, age)
	r.sys.waitGone(r.t, gone)
	r.rec(nil, "-- reaping (nodes older than %v due)", age)
}

// render normalizes the transcript (see the file comment).
func (r *confRun) render() []string {
	zxids := map[int64]bool{}
	for _, l := range r.lines {
		if l.stat != nil {
			for _, z := range []int64{l.stat.Czxid, l.stat.Mzxid, l.stat.Pzxid} {
				if z != 0 {
					zxids[z] = true
				}
			}
		}
	}
	sorted := make([]int64, 0, len(zxids))
	for z := range zxids {
		sorted = append(sorted, z)
	}
	slices.Sort(sorted)
	rank := make(map[int64]int, len(sorted))
	for i, z := range sorted {
		rank[z] = i + 1
	}
	zx := func(z int64) string {
		if z == 0 {
			return "0"
		}
		return "#" + strconv.Itoa(rank[z])
	}
	tm := func(v int64) string {
		if v == 0 {
			return "0"
		}
		return "set"
	}
	owner := func(o int64) string {
		if o == 0 {
			return "0"
		}
		if name, ok := r.owners[o]; ok {
			return "session " + name
		}
		return fmt.Sprintf("unknown 0x%x", o)
	}
	out := make([]string, len(r.lines))
	for i, l := range r.lines {
		text := l.text
		if l.stat != nil {
			s := l.stat
			text += fmt.Sprintf(" {czxid=%s mzxid=%s pzxid=%s ctime=%s mtime=%s version=%d cversion=%d aversion=%d owner=%s dataLength=%d numChildren=%d}",
				zx(s.Czxid), zx(s.Mzxid), zx(s.Pzxid), tm(s.Ctime), tm(s.Mtime), s.Version, s.Cversion,
				s.Aversion, owner(s.EphemeralOwner), s.DataLength, s.NumChildren)
		}
		if r.prefix != "" {
			text = strings.ReplaceAll(text, r.prefix, "$P")
		}
		out[i] = text
	}
	return out
}

// confComparisons counts compared transcript lines over the whole test binary.
var confComparisons atomic.Int64

// confNonce and confSeq make path prefixes unique on the shared server, also
// across -count runs and reruns against an external server.
var (
	confNonce = strconv.FormatInt(time.Now().UnixNano(), 36)
	confSeq   atomic.Int64
)

type confServerKind int

const (
	confSharedServer  confServerKind = iota // zkserver.Shared, under a unique prefix
	confFreshServer                         // zkserver.Start
	confReapingServer                       // zkserver.Start with a short container check interval
)

const confReapInterval = 100 * time.Millisecond

// conform runs scenario on real ZooKeeper and on zkembed and compares the
// normalized transcripts line by line.
func conform(t *testing.T, kind confServerKind, scenario func(r *confRun)) {
	t.Helper()
	t.Parallel()
	var srv *zkserver.Server
	prefix := ""
	switch kind {
	case confSharedServer:
		srv = zkserver.Shared(t)
		prefix = fmt.Sprintf("/%s-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), confNonce, confSeq.Add(1))
	case confFreshServer:
		srv = zkserver.Start(t)
	case confReapingServer:
		srv = zkserver.Start(t, zkserver.WithContainerCheckInterval(confReapInterval))
	}
	zr := &confRun{t: t, sys: &confZKSystem{srv: srv, interval: confReapInterval}, prefix: prefix, owners: map[int64]string{}}
	scenario(zr)
	er := &confRun{t: t, sys: newConfEngineSystem(t), prefix: prefix, owners: map[int64]string{}}
	scenario(er)

	wr := &confRun{t: t, sys: newConfWireSystem(t), prefix: prefix, owners: map[int64]string{}}
	scenario(wr)

	want, got := zr.render(), er.render()
	confComparisons.Add(int64(len(want)))
	hunks := confDiff(want, got)
	for _, h := range hunks {
		t.Errorf("transcripts differ at ZooKeeper line %d:\n%s", h.line, h.text)
	}
	overWire := confDiff(want, wr.render())
	for _, h := range overWire {
		t.Errorf("go-zookeeper through zkembed's wire server: transcripts differ at ZooKeeper line %d:\n%s", h.line, h.text)
	}
	hunks = append(hunks, overWire...)
	if len(hunks) > 0 || testing.Verbose() {
		t.Logf("%d ZooKeeper transcript lines compared, %d differing hunks; ZooKeeper transcript:\n%s",
			len(want), len(hunks), strings.Join(want, "\n"))
	}
}

type confHunk struct {
	line int    // 1-based line of the ZooKeeper transcript where it starts
	text string // "-" lines: ZooKeeper only; "+" lines: zkembed only
}

// confDiff aligns the two transcripts on their longest common subsequence
// and returns the differing stretches, so that one extra or missing line
// does not make every later line look different.
func confDiff(a, b []string) []confHunk {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var hunks []confHunk
	var cur []string
	start := 0
	flush := func() {
		if len(cur) > 0 {
			hunks = append(hunks, confHunk{line: start + 1, text: strings.Join(cur, "\n")})
			cur = nil
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			flush()
			i++
			j++
		case j == m || (i < n && lcs[i+1][j] >= lcs[i][j+1]):
			if len(cur) == 0 {
				start = i
			}
			cur = append(cur, "  - zookeeper: "+a[i])
			i++
		default:
			if len(cur) == 0 {
				start = i
			}
			cur = append(cur, "  + zkembed:   "+b[j])
			j++
		}
	}
	flush()
	return hunks
}

// ---------------------------------------------------------------------------
// Helpers for scripts.

var (
	confOpenACL = zk.WorldACL(zk.PermAll)
	confBobID   = "bob:ikIaKsbtGweaHnb/jKn7OHqbunM=" // digest of "bob:pw"
)

func confWorldACL(perms int32) []zk.ACL { return zk.WorldACL(perms) }

func confMCreate(path string, data []byte, mode int32) confOp {
	return confOp{kind: "create", path: path, data: data, mode: mode, acl: confOpenACL}
}

func confMSet(path string, data []byte, v int32) confOp {
	return confOp{kind: "set", path: path, data: data, version: v}
}

func confMDel(path string, v int32) confOp { return confOp{kind: "delete", path: path, version: v} }

func confMCheck(path string, v int32) confOp { return confOp{kind: "check", path: path, version: v} }

func confMs(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// ---------------------------------------------------------------------------
// Scenarios.

// Scenario 1: the built-in nodes of a fresh tree.
func TestConformanceFreshTree(t *testing.T) {
	conform(t, confFreshServer, func(r *confRun) {
		a := r.session("A")
		builtins := []string{"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"}
		for _, p := range builtins {
			r.get(a, p)
			r.getACL(a, p)
			r.children(a, p)
		}
		// getAllChildrenNumber("/") is not compared: go-zk has no such call.

		r.set(a, "/zookeeper/config", []byte("x"), -1)    // READ-only ACL: NoAuth
		r.set(a, "/zookeeper/config", []byte("x"), 7)     // NoAuth wins over BadVersion
		r.setACL(a, "/zookeeper/config", confOpenACL, -1) // no ADMIN
		r.create(a, "/zookeeper/config/x", nil, 0, confOpenACL, 0)
		for _, p := range builtins {
			r.del(a, p, -1)
			r.del(a, p, 3)
		}
		r.del(a, "/zookeeper/nothing", -1)
		r.create(a, "/zookeeper/foo", []byte("f"), 0, confOpenACL, 0)
		r.stat(a, "/zookeeper")
		r.children(a, "/zookeeper")
		r.create(a, "/zookeeper", nil, 0, confOpenACL, 0)
		r.create(a, "/top", nil, 0, confOpenACL, 0)
		r.stat(a, "/")
		r.create(a, "/", nil, zk.FlagSequence, confOpenACL, 0) // sequential child of the root
		r.children(a, "/")
		r.stat(a, "/")
		r.set(a, "/", []byte("rootdata"), -1)
		r.get(a, "/")
		r.set(a, "/zookeeper", []byte("zk"), 0)
		r.get(a, "/zookeeper")
		r.create(a, "/zookeeper/quota/x", []byte("q"), 0, confOpenACL, 0)
		r.stat(a, "/zookeeper/quota")
		r.del(a, "/zookeeper/quota/x", -1)
		r.stat(a, "/zookeeper/quota")
		r.del(a, "/zookeeper/foo", 0)
		r.stat(a, "/zookeeper")
		r.children(a, "/zookeeper")
	})
}

// Scenario 2: every create mode, sequence numbers, create errors, null vs
// empty data.
func TestConformanceCreate(t *testing.T) {
	conform(t, confSharedServer, func(r *confRun) {
		a, b := r.session("A"), r.session("B")
		P := r.prefix
		r.create(a, P, []byte("root"), 0, confOpenACL, 0)
		r.create(a, P+"/pers", []byte("d"), 0, confOpenACL, 0)
		r.create(a, P+"/eph", []byte("e"), 1, confOpenACL, 0)
		r.create(b, P+"/ephB", nil, 1, confOpenACL, 0)
		r.create(a, P+"/pseq-", []byte("x"), 2, confOpenACL, 0)
		r.create(b, P+"/eseq-", nil, 3, confOpenACL, 0)
		r.create(a, P+"/cont", nil, 4, confOpenACL, 0)
		r.create(a, P+"/ttl", []byte("t"), 5, confOpenACL, time.Hour)
		r.create(a, P+"/tseq-", nil, 6, confOpenACL, time.Hour)
		r.stat(a, P)
		r.children(a, P)

		// Errors.
		r.create(a, P+"/pers", nil, 0, confOpenACL, 0)
		r.create(b, P+"/eph", nil, 1, confOpenACL, 0)
		r.create(a, P+"/cont", nil, 4, confOpenACL, 0)
		r.create(a, P+"/ttl", nil, 5, confOpenACL, time.Hour)
		r.create(a, P+"/missing/x", nil, 0, confOpenACL, 0)
		r.create(a, P+"/missing/s-", nil, 2, confOpenACL, 0)
		r.create(a, P+"/missing/c", nil, 4, confOpenACL, 0)
		r.create(a, P+"/missing/t", nil, 5, confOpenACL, time.Hour)
		r.create(a, P+"/eph/c", nil, 0, confOpenACL, 0)
		r.create(b, P+"/eph/c", nil, 1, confOpenACL, 0)
		r.create(a, P+"/eph/s-", nil, 2, confOpenACL, 0)
		r.create(a, P+"/eph/es-", nil, 3, confOpenACL, 0)
		r.create(a, P+"/eph/cont", nil, 4, confOpenACL, 0)
		r.create(a, P+"/eph/t", nil, 5, confOpenACL, time.Hour)
		r.stat(a, P+"/eph")

		// TTL range: [1, 2^40-1] ms; TTL validation precedes everything.
		r.create(a, P+"/ttl0", nil, 5, confOpenACL, 0)
		r.create(a, P+"/ttlneg", nil, 5, confOpenACL, confMs(-5))
		r.create(a, P+"/ttl2p40", nil, 5, confOpenACL, confMs(1<<40))
		r.create(a, P+"/ttlmax", nil, 5, confOpenACL, confMs(1<<40-1))
		r.create(a, P+"/ttlmin", nil, 5, confOpenACL, confMs(1))
		r.create(a, P+"/tseq0-", nil, 6, confOpenACL, 0)
		r.create(a, P+"/ttl", nil, 5, confOpenACL, 0)                // exists, but the TTL is checked first
		r.create(a, P+"/missing/t0", nil, 5, confOpenACL, 0)         // missing parent, bad TTL
		r.create(a, P+"/eph/t0", nil, 6, confOpenACL, confMs(1<<40)) // ephemeral parent, bad TTL
		r.stat(a, P)

		// Containers and TTL nodes may have children, ephemeral ones too.
		r.create(a, P+"/cont/child", []byte("c"), 0, confOpenACL, 0)
		r.create(b, P+"/cont/e", nil, 1, confOpenACL, 0)
		r.create(a, P+"/ttl/child", nil, 0, confOpenACL, 0)
		r.create(a, P+"/ttl/s-", nil, 2, confOpenACL, 0)
		r.create(a, P+"/ttl/c", nil, 4, confOpenACL, 0)
		r.create(a, P+"/cont/t", nil, 5, confOpenACL, time.Minute)
		r.stat(a, P+"/cont")
		r.stat(a, P+"/ttl")
		r.children(a, P+"/ttl")

		// Null vs empty data.
		r.create(a, P+"/null", nil, 0, confOpenACL, 0)
		r.get(a, P+"/null")
		r.create(a, P+"/empty", []byte{}, 0, confOpenACL, 0)
		r.get(a, P+"/empty")
		r.set(a, P+"/empty", nil, -1)
		r.get(a, P+"/empty")
		r.set(a, P+"/null", []byte{}, 0)
		r.get(a, P+"/null")
		r.create(a, P+"/big", bytes.Repeat([]byte("z"), 5000), 0, confOpenACL, 0)
		r.set(a, P+"/big", []byte("small"), -1)
		r.create(a, P+"/tnull", nil, 5, confOpenACL, time.Hour)
		r.get(a, P+"/tnull")
		r.create(a, P+"/cnull", []byte{}, 4, confOpenACL, 0)
		r.get(a, P+"/cnull")

		// Sequence numbers come from the parent's stored cversion: deletes
		// never free a number, failed creates consume none, every kind of
		// child counts.
		s := P + "/seq"
		r.create(a, s, nil, 0, confOpenACL, 0)
		r.create(a, s+"/a", nil, 0, confOpenACL, 0)
		r.create(a, s+"/b", nil, 1, confOpenACL, 0)
		r.create(a, s+"/c", nil, 4, confOpenACL, 0)
		r.stat(a, s)
		r.del(a, s+"/a", -1)
		r.del(a, s+"/b", -1)
		r.stat(a, s)
		r.create(a, s+"/n-", []byte("n"), 2, confOpenACL, 0)
		r.create(a, s+"/c", nil, 0, confOpenACL, 0)         // NodeExists: consumes nothing
		r.create(a, s+"/missing/x", nil, 0, confOpenACL, 0) // NoNode
		r.create(a, s+"/", nil, 2, confOpenACL, 0)          // trailing slash: name is just the number
		r.create(b, s+"/e-", nil, 3, confOpenACL, 0)
		r.create(a, s+"/t-", nil, 6, confOpenACL, time.Hour)
		r.create(a, s+"/n-", nil, 2, confOpenACL, 0)
		r.children(a, s)
		r.stat(a, s)
		r.del(a, s+"/c", -1)
		r.create(a, s+"/n-", nil, 2, confOpenACL, 0)
		r.stat(a, s)

		// A sequential name that is already taken: NodeExists, and the
		// counter does not move until some other create succeeds.
		k := P + "/coll"
		r.create(a, k, nil, 0, confOpenACL, 0)
		r.create(a, k+"/s-0000000001", nil, 0, confOpenACL, 0)
		r.create(a, k+"/s-", nil, 2, confOpenACL, 0)
		r.create(a, k+"/s-", nil, 3, confOpenACL, 0)
		r.create(a, k+"/x", nil, 0, confOpenACL, 0)
		r.create(a, k+"/s-", nil, 2, confOpenACL, 0)
		r.create(a, k+"/s-0000000004", nil, 0, confOpenACL, 0)
		r.multi(a, confMCreate(k+"/s-", nil, 2), confMCreate(k+"/s-", nil, 2)) // s-3, then s-4 exists
		r.multi(a, confMDel(k+"/s-0000000004", -1), confMCreate(k+"/s-", nil, 2), confMCreate(k+"/s-", nil, 2))
		r.children(a, k)
		r.stat(a, k)
		r.create(a, P+"/eph/ts-", nil, 6, confOpenACL, time.Hour)
		r.create(a, P+"/ttl/ts-", nil, 6, confOpenACL, time.Hour)

		r.stat(a, P)
		r.children(a, P)
	})
}

// Scenario 3: delete.
func TestConformanceDelete(t *testing.T) {
	conform(t, confSharedServer, func(r *confRun) {
		a := r.session("A")
		P := r.prefix
		r.create(a, P, nil, 0, confOpenACL, 0)
		r.create(a, P+"/d", []byte("d"), 0, confOpenACL, 0)
		r.create(a, P+"/d/c", nil, 0, confOpenACL, 0)
		r.create(a, P+"/d/c2", nil, 0, confOpenACL, 0)
		r.set(a, P+"/d", []byte("d2"), -1)
		r.del(a, P+"/d", 5) // BadVersion wins over NotEmpty
		r.del(a, P+"/d", 0) // also a version mismatch (version is 1)
		r.del(a, P+"/d", 1) // version matches: NotEmpty
		r.del(a, P+"/d", -1)
		r.del(a, P+"/nothing", -1)
		r.del(a, P+"/nothing", 3)
		r.del(a, P+"/missing/x", -1)
		r.del(a, P+"/d/c", 1)
		r.del(a, P+"/d/c", 0)
		r.stat(a, P+"/d")
		r.del(a, P+"/d/c", 0)
		r.del(a, P+"/d/c2", -1)
		r.stat(a, P+"/d")
		r.children(a, P+"/d")
		r.create(a, P+"/d/c", nil, 0, confOpenACL, 0) // recreate after delete
		r.stat(a, P+"/d")
		r.del(a, P+"/d/c", -1)
		r.del(a, P+"/d", 1)
		r.stat(a, P+"/d")
		r.stat(a, P)
		r.children(a, P)
		// Delete of containers, TTL nodes and ephemerals.
		r.create(a, P+"/cont", nil, 4, confOpenACL, 0)
		r.create(a, P+"/ttl", nil, 5, confOpenACL, time.Hour)
		r.create(a, P+"/eph", nil, 1, confOpenACL, 0)
		r.del(a, P+"/cont", 1)
		r.del(a, P+"/cont", 0)
		r.del(a, P+"/ttl", 0)
		r.del(a, P+"/eph", 0)
		r.stat(a, P)
	})
}

// Scenario 4: setData and setACL versions, NoAuth precedence, getACL masking.
func TestConformanceSetDataACL(t *testing.T) {
	conform(t, confSharedServer, func(r *confRun) {
		a := r.session("A")
		P := r.prefix
		r.create(a, P, nil, 0, confOpenACL, 0)
		n := P + "/n"
		r.create(a, n, []byte("a"), 0, confOpenACL, 0)
		r.set(a, n, []byte("b"), -1)
		r.set(a, n, []byte("c"), 1)
		r.set(a, n, []byte("d"), 1) // BadVersion
		r.set(a, n, []byte("d"), 0) // BadVersion
		r.set(a, n, []byte("longer data"), -1)
		r.set(a, n, []byte("x"), -2) // only -1 means "any"
		r.set(a, n, []byte("x"), -100)
		r.setACL(a, n, confOpenACL, -2)
		r.del(a, n, -2)
		r.multi(a, confMCheck(n, -2))
		r.get(a, n)
		r.set(a, P+"/nothing", []byte("x"), -1)
		r.set(a, P+"/nothing", []byte("x"), 4)
		r.set(a, P+"/missing/x", nil, -1)

		// setACL: aversion +1, mzxid/mtime/version unchanged.
		r.setACL(a, n, confWorldACL(zk.PermRead|zk.PermWrite|zk.PermAdmin), 0)
		r.setACL(a, n, confOpenACL, 0) // BadVersion (aversion is 1)
		r.setACL(a, n, confOpenACL, 5)
		r.setACL(a, n, confOpenACL, -1)
		r.setACL(a, n, confOpenACL, 2)
		r.getACL(a, n)
		r.get(a, n)
		r.setACL(a, P+"/nothing", confOpenACL, -1)
		r.setACL(a, P+"/nothing", confOpenACL, 3)

		// A node whose ACL denies WRITE, DELETE and ADMIN.
		ro := P + "/ro"
		r.create(a, ro, []byte("ro"), 0, confWorldACL(zk.PermRead|zk.PermCreate), 0)
		r.set(a, ro, []byte("x"), 99) // NoAuth wins over BadVersion
		r.set(a, ro, []byte("x"), -1)
		r.set(a, ro, []byte("x"), 0)
		r.setACL(a, ro, confOpenACL, 99) // no ADMIN
		r.setACL(a, ro, confOpenACL, -1)
		r.get(a, ro)
		r.getACL(a, ro)
		r.children(a, ro)
		r.create(a, ro+"/c", nil, 0, confOpenACL, 0) // CREATE allowed
		r.create(a, ro+"/c", nil, 0, confOpenACL, 0) // NodeExists
		r.del(a, ro+"/c", -1)                        // no DELETE on the parent
		r.del(a, ro+"/c", 7)
		r.del(a, ro+"/none", -1) // NoAuth even though the child is missing
		r.del(a, ro, 5)          // the parent P allows DELETE: BadVersion
		r.stat(a, ro)

		// ADMIN only.
		adm := P + "/adm"
		r.create(a, adm, []byte("adm"), 0, confWorldACL(zk.PermAdmin), 0)
		r.get(a, adm)
		r.children(a, adm)
		r.getACL(a, adm)
		r.stat(a, adm)
		r.set(a, adm, nil, -1)
		r.create(a, adm+"/c", nil, 0, confOpenACL, 0)
		r.setACL(a, adm, confWorldACL(zk.PermAdmin|zk.PermCreate), 0)
		r.create(a, adm+"/c", nil, 0, confOpenACL, 0)
		r.getACL(a, adm)

		// No permission at all; perms are not validated.
		none := P + "/none"
		r.create(a, none, nil, 0, confWorldACL(0), 0)
		r.get(a, none)
		r.getACL(a, none)
		r.stat(a, none)
		r.setACL(a, none, confOpenACL, -1)
		r.del(a, none, -1)
		r.create(a, P+"/p64", nil, 0, confWorldACL(64), 0)
		r.stat(a, P+"/p64")
		r.create(a, P+"/p95", nil, 0, confWorldACL(95), 0)
		r.getACL(a, P+"/p95")

		// NoAuth before NodeExists: an existing child under a parent
		// without CREATE.
		rc := P + "/rc"
		r.create(a, rc, nil, 0, confOpenACL, 0)
		r.create(a, rc+"/x", nil, 0, confOpenACL, 0)
		r.setACL(a, rc, confWorldACL(zk.PermRead|zk.PermDelete), -1)
		r.create(a, rc+"/x", nil, 0, confOpenACL, 0)
		r.create(a, rc+"/y", nil, 1, confOpenACL, 0)
		r.create(a, rc+"/s-", nil, 2, confOpenACL, 0)
		r.del(a, rc+"/x", -1)
		r.stat(a, rc)

		// getACL masks digest ids for a caller without ADMIN.
		dg := P + "/dg"
		r.create(a, dg, nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: confBobID}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}, 0)
		r.getACL(a, dg)
		r.get(a, dg)
		r.set(a, dg, []byte("x"), -1)
		dg2 := P + "/dg2"
		r.create(a, dg2, nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: confBobID}, {Perms: zk.PermAdmin, Scheme: "world", ID: "anyone"}}, 0)
		r.getACL(a, dg2)
		dg3 := P + "/dg3"
		r.create(a, dg3, nil, 0, []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, {Perms: zk.PermRead, Scheme: "digest", ID: ":nouser"}, {Perms: zk.PermWrite, Scheme: "digest", ID: "alice:hash"}}, 0)
		r.getACL(a, dg3)
		r.setACL(a, dg2, []zk.ACL{{Perms: zk.PermRead, Scheme: "digest", ID: "carol:c"}, {Perms: zk.PermRead | zk.PermAdmin, Scheme: "world", ID: "anyone"}}, 0)
		r.getACL(a, dg2)

		// Duplicate entries are removed.
		r.create(a, P+"/dup", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}}, 0)
		r.getACL(a, P+"/dup")
		r.create(a, P+"/dup2", nil, 0, []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}, 0)
		r.getACL(a, P+"/dup2")
		r.setACL(a, P+"/dup", []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: confBobID}, {Perms: zk.PermAll, Scheme: "digest", ID: confBobID}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}}, -1)
		r.getACL(a, P+"/dup")
	})
}

// Scenario 5: InvalidACL.
func TestConformanceInvalidACL(t *testing.T) {
	conform(t, confSharedServer, func(r *confRun) {
		a := r.session("A")
		P := r.prefix
		r.create(a, P, nil, 0, confOpenACL, 0)
		acl := func(scheme, id string) []zk.ACL { return []zk.ACL{{Perms: zk.PermAll, Scheme: scheme, ID: id}} }
		cases := []struct {
			name string
			acl  []zk.ACL
		}{
			{"worldbob", acl("world", "bob")},
			{"worldempty", acl("world", "")},
			{"digest3", acl("digest", "a:b:c")},
			{"digesttrail", acl("digest", "a:")},
			{"digestnocolon", acl("digest", "abc")},
			{"digestlead", acl("digest", ":b")},
			{"empty", []zk.ACL{}},
			{"ip33", acl("ip", "10.0.0.0/33")},
			{"ip32", acl("ip", "10.0.0.1/32")},
			{"ip8", acl("ip", "10.0.0.0/8")},
			{"ip0", acl("ip", "0.0.0.0/0")},
			{"ipplain", acl("ip", "127.0.0.1")},
			{"ipneg", acl("ip", "10.0.0.0/-1")},
			{"ipv6", acl("ip", "::1")},
			{"ipv6net", acl("ip", "fe80::/64")},
			{"ipbad", acl("ip", "300.1.1.1")},
			{"iphost", acl("ip", "localhost")},
			{"auth", acl("auth", "")},
			{"authid", acl("auth", "whatever")},
			{"super", acl("super", "")},
			{"unknown", acl("foo", "bar")},
			{"mixed", []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermRead, Scheme: "world", ID: "bob"}}},
			{"mixedauth", []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermRead, Scheme: "auth", ID: ""}}},
			{"worldcase", acl("world", "Anyone")},
			{"worldspace", acl("world", "anyone ")},
			{"schemecase", acl("World", "anyone")},
			{"digestcase", acl("DIGEST", "a:b")},
			{"digesttrail2", acl("digest", "a:b:")},
			{"digesttrail3", acl("digest", "a:b::")},
			{"digestcolons", acl("digest", "a::")},
			{"digestonlycolons", acl("digest", "::")},
			{"digestcolon", acl("digest", ":")},
			{"digestempty", acl("digest", "")},
			{"digestmid", acl("digest", "a::b")},
			{"ip3", acl("ip", "1.2.3")},
			{"ip5", acl("ip", "1.2.3.4.5")},
			{"ip256", acl("ip", "1.2.3.256")},
			{"ipnegoctet", acl("ip", "1.2.3.-4")},
			{"iplead0", acl("ip", "01.02.03.04")},
			{"ipslash", acl("ip", "1.2.3.4/")},
			{"ipplus", acl("ip", "1.2.3.4/+8")},
			{"ipplusaddr", acl("ip", "+1.2.3.4")},
			{"ipbits08", acl("ip", "1.2.3.4/08")},
			{"ipbitsneg0", acl("ip", "1.2.3.4/-0")},
			{"ipbitsspace", acl("ip", "1.2.3.4/ 8")},
			{"iplead00", acl("ip", "1.2.3.0004")},
			{"iptwoslash", acl("ip", "1.2.3.4/8/8")},
			{"ipspace", acl("ip", " 1.2.3.4")},
			{"ipempty", acl("ip", "")},
			{"ipbits0", acl("ip", "1.2.3.4/0")},
			{"ipbits32", acl("ip", "1.2.3.4/32")},
			{"permsneg", []zk.ACL{{Perms: -1, Scheme: "world", ID: "anyone"}}},
			{"permsmax", []zk.ACL{{Perms: 1<<31 - 1, Scheme: "world", ID: "anyone"}}},
		}
		for _, c := range cases {
			if r.createOnly(a, P+"/"+c.name, nil, 0, c.acl, 0) != "" && strings.HasPrefix(c.name, "perms") {
				r.getACL(a, P+"/"+c.name)
			}
		}
		// InvalidACL is checked before the parent lookup, NodeExists, TTL
		// parents and ephemeral parents.
		r.create(a, P+"/missing/x", nil, 0, []zk.ACL{}, 0)
		r.create(a, P+"/missing/x", nil, 0, acl("world", "bob"), 0)
		r.create(a, P+"/eph", nil, 1, confOpenACL, 0)
		r.create(a, P+"/eph/x", nil, 0, acl("auth", ""), 0)
		r.create(a, P+"/ip8", nil, 0, acl("ip", "::1"), 0)
		r.create(a, P+"/ip8/s-", nil, 2, []zk.ACL{}, 0)
		r.create(a, P+"/t", nil, 5, acl("digest", "x"), time.Hour)
		r.create(a, P+"/c", nil, 4, acl("ip", "1.2.3.4/40"), 0)
		// setACL checks the ACL before NoNode and NoAuth.
		r.setACL(a, P+"/nothing", []zk.ACL{}, -1)
		r.setACL(a, P+"/nothing", acl("auth", ""), 0)
		r.setACL(a, P, []zk.ACL{}, -1)
		r.setACL(a, P, acl("world", "bob"), 9)
		r.create(a, P+"/noadmin", nil, 0, confWorldACL(zk.PermRead), 0)
		r.setACL(a, P+"/noadmin", acl("world", "bob"), -1)
		r.setACL(a, P+"/noadmin", confOpenACL, -1)
		r.stat(a, P)
		r.children(a, P)
	})
}

// Scenario 6: multi.
func TestConformanceMulti(t *testing.T) {
	conform(t, confSharedServer, func(r *confRun) {
		a := r.session("A")
		P := r.prefix
		create, set, del, check := confMCreate, confMSet, confMDel, confMCheck

		r.create(a, P, nil, 0, confOpenACL, 0)
		// Success: ops see earlier ops' effects, all under one zxid.
		r.multi(a,
			create(P+"/m1", []byte("a"), 0),
			set(P+"/m1", []byte("b"), 0),
			create(P+"/m2", nil, 0),
			del(P+"/m2", 0),
			create(P+"/m2", []byte("again"), 0),
			create(P+"/m2/e", nil, 1),
			check(P+"/m1", 1),
		)
		r.stat(a, P+"/m1")
		r.get(a, P+"/m2")
		r.stat(a, P+"/m2/e")
		r.stat(a, P)
		r.children(a, P)

		// Sequential creates in one multi see each other's increments.
		q := P + "/q"
		r.create(a, q, nil, 0, confOpenACL, 0)
		r.multi(a, create(q+"/s-", nil, 2), create(q+"/s-", nil, 3), create(q+"/x", nil, 0), create(q+"/s-", nil, 2))
		r.stat(a, q)

		// Failure: ok before, the failing code, RuntimeInconsistency after;
		// nothing applied; no sequence numbers consumed.
		r.multi(a, create(q+"/s-", nil, 2), create(q+"/s-", nil, 2), create(P+"/m1", nil, 0), set(P+"/m1", []byte("z"), -1))
		r.children(a, q)
		r.stat(a, q)
		r.get(a, P+"/m1")
		r.multi(a, create(q+"/s-", nil, 2), create(q+"/s-", nil, 2))
		r.children(a, q)
		r.stat(a, q)

		// check op: BadVersion, NoNode, -1 matches any.
		r.multi(a, check(P+"/m1", 7), create(P+"/x", nil, 0))
		r.multi(a, create(P+"/y", nil, 0), check(P+"/nothing", -1))
		r.multi(a, create(P+"/y", nil, 0), check(P+"/y", 0), check(P+"/y", 1))
		r.stat(a, P+"/x")
		r.stat(a, P+"/y")
		r.multi(a, check(P+"/m1", -1), check(P+"/m1", 1), set(P+"/m1", []byte("c"), 1))
		r.get(a, P+"/m1")

		// Various failing ops in a multi.
		r.multi(a, del(P+"/m2", -1))                                      // NotEmpty
		r.multi(a, del(P+"/m2", 5))                                       // BadVersion
		r.multi(a, set(P+"/m1", nil, 0), del(P+"/nothing", -1))           // NoNode
		r.multi(a, create(P+"/m2/e/x", nil, 0))                           // NoChildrenForEphemerals
		r.multi(a, create(P+"/missing/x", nil, 0), set(P+"/m1", nil, -1)) // NoNode
		r.multi(a, confOp{kind: "create", path: P + "/badacl", mode: 0, acl: []zk.ACL{}})
		r.multi(a, del(P+"/m2/e", -1), del(P+"/m2", -1), create(P+"/m2", nil, 0), del(P+"/m1", 99))
		r.stat(a, P+"/m2")
		r.stat(a, P+"/m2/e")
		r.stat(a, P+"/m1")

		// Delete a child then its parent; recreate inside the same multi.
		r.multi(a, del(P+"/m2/e", -1), del(P+"/m2", -1), create(P+"/m2", []byte("3"), 1), set(P+"/m2", []byte("4"), 0))
		r.stat(a, P+"/m2")
		r.stat(a, P)
		r.children(a, P)

		// ACL checks inside a multi.
		r.create(a, P+"/ro", nil, 0, confWorldACL(zk.PermWrite), 0)
		r.multi(a, check(P+"/ro", -1))           // check needs READ
		r.multi(a, set(P+"/ro", []byte("w"), 0)) // WRITE is enough
		r.multi(a, create(P+"/ro/c", nil, 0))    // no CREATE
		r.stat(a, P+"/ro")

		// More ordering cases.
		r.multi(a, create(P+"/dupe", nil, 0), create(P+"/dupe", nil, 0))
		r.multi(a, create(P+"/ee", nil, 1), create(P+"/ee/x", nil, 0))
		r.multi(a, create(P+"/w", []byte("1"), 0), set(P+"/w", []byte("2"), -1), set(P+"/w", []byte("3"), 1), del(P+"/w", 2))
		r.stat(a, P+"/w")
		r.multi(a, create(P+"/w", []byte("1"), 0), set(P+"/w", []byte("2"), -1), check(P+"/w", 1), set(P+"/w", []byte("3"), 1))
		r.get(a, P+"/w")
		r.multi(a, del(P+"/ro", -1), create(P+"/ro", nil, 2), create(P+"/ro/c", nil, 0))
		r.multi(a, create(P+"/ro/c", nil, 0), del(P+"/ro", -1))
		r.stat(a, P+"/ro")
		r.stat(a, P)

		// Empty multi.
		r.multi(a)
	})
}

// Scenario 7: sessions and their ephemerals.
func TestConformanceSessions(t *testing.T) {
	conform(t, confSharedServer, func(r *confRun) {
		a, b, c := r.session("A"), r.session("B"), r.session("C")
		P := r.prefix
		r.create(a, P, nil, 0, confOpenACL, 0)
		r.create(a, P+"/sub", nil, 0, confOpenACL, 0)
		r.create(b, P+"/e1", []byte("1"), 1, confOpenACL, 0)
		r.create(b, P+"/e2", nil, 1, confOpenACL, 0)
		r.create(b, P+"/es-", nil, 3, confOpenACL, 0)
		r.create(b, P+"/sub/e3", nil, 1, confOpenACL, 0)
		r.create(c, P+"/ec", nil, 1, confOpenACL, 0)
		r.create(b, P+"/pb", nil, 0, confOpenACL, 0)
		r.create(a, P+"/cont", nil, 4, confOpenACL, 0)
		r.create(b, P+"/cont/e", nil, 1, confOpenACL, 0)
		r.stat(a, P)
		r.stat(a, P+"/sub")
		r.children(a, P)
		r.stat(a, P+"/e1")
		r.stat(a, P+"/ec")
		// getEphemerals is not compared: go-zk has no such call.

		r.set(a, P+"/e2", []byte("by A"), 0) // any session may write another's ephemeral
		r.create(a, P+"/e2/x", nil, 0, confOpenACL, 0)
		r.create(c, P+"/eb", nil, 1, confOpenACL, 0)
		r.del(b, P+"/eb", 0) // ... or delete it
		r.stat(a, P)
		r.closeSession(b)
		r.stat(a, P)
		r.stat(a, P+"/sub")
		r.stat(a, P+"/cont")
		r.children(a, P)
		r.children(a, P+"/sub")
		r.stat(a, P+"/e1")
		r.stat(a, P+"/pb") // persistent nodes of a closed session stay
		r.stat(a, P+"/ec")
		r.create(a, P+"/n-", nil, 2, confOpenACL, 0)
		r.create(c, P+"/e1", nil, 1, confOpenACL, 0)
		r.create(a, P+"/e2", nil, 3, confOpenACL, 0)
		r.closeSession(c)
		r.stat(a, P)
		r.children(a, P)
		r.stat(a, P+"/e2")
		r.closeSession(a) // A's ephemeral-sequential e2... node goes too
		d := r.session("D")
		r.stat(d, P)
		r.children(d, P)
	})
}

// Scenario 8: container and TTL reaping.
func TestConformanceReaping(t *testing.T) {
	conform(t, confReapingServer, func(r *confRun) {
		a, b := r.session("A"), r.session("B")
		P := "/reap"
		r.create(a, P, nil, 0, confOpenACL, 0)
		r.create(a, P+"/never", nil, 4, confOpenACL, 0)        // never had a child: kept
		r.create(a, P+"/busy", nil, 4, confOpenACL, 0)         // still has a child: kept
		r.create(a, P+"/busy/c", nil, 0, confOpenACL, 0)       //
		r.create(a, P+"/t2", nil, 5, confOpenACL, confMs(300)) // TTL node with a child: kept
		r.create(a, P+"/t2/c", nil, 0, confOpenACL, 0)
		r.create(a, P+"/tlong", nil, 5, confOpenACL, time.Hour) // TTL not yet expired: kept
		r.create(a, P+"/t1", []byte("t"), 5, confOpenACL, confMs(300))
		ts := r.create(a, P+"/ts-", nil, 6, confOpenACL, confMs(300))
		r.create(a, P+"/c3", nil, 4, confOpenACL, 0) // its only child is an ephemeral of B
		r.create(b, P+"/c3/e", nil, 1, confOpenACL, 0)
		r.create(a, P+"/c1", nil, 4, confOpenACL, 0) // had a child, lost it: reaped
		r.create(a, P+"/c1/x", nil, 0, confOpenACL, 0)
		r.create(a, P+"/outer", nil, 4, confOpenACL, 0) // reaped once inner is gone
		r.create(a, P+"/outer/inner", nil, 4, confOpenACL, 0)
		r.create(a, P+"/outer/inner/x", nil, 0, confOpenACL, 0)
		r.stat(a, P)
		r.children(a, P)
		r.del(a, P+"/c1/x", -1)
		r.del(a, P+"/outer/inner/x", -1)
		r.closeSession(b)
		r.reap(time.Second, P+"/c1", P+"/c3", P+"/t1", ts, P+"/outer/inner", P+"/outer")
		r.stat(a, P)
		r.children(a, P)
		r.stat(a, P+"/never")
		r.stat(a, P+"/busy")
		r.stat(a, P+"/t2")
		r.stat(a, P+"/tlong")
		// The emptied TTL node and the emptied container go in a later pass.
		r.del(a, P+"/t2/c", -1)
		r.del(a, P+"/busy/c", -1)
		r.reap(time.Second, P+"/t2", P+"/busy")
		r.stat(a, P)
		r.children(a, P)
		// A sequential name is never reused after reaping.
		r.create(a, P+"/ts-", nil, 6, confOpenACL, time.Hour)
	})
}

// Scenario 8b: setData restarts a TTL node's clock.
func TestConformanceTTLRefresh(t *testing.T) {
	conform(t, confReapingServer, func(r *confRun) {
		a := r.session("A")
		P := "/refresh"
		r.create(a, P, nil, 0, confOpenACL, 0)
		r.create(a, P+"/t", []byte("1"), 5, confOpenACL, confMs(1000))
		r.elapse(600 * time.Millisecond)
		r.set(a, P+"/t", []byte("2"), -1)
		r.elapse(700 * time.Millisecond) // 1300ms after create, 700ms after setData
		r.stat(a, P+"/t")
		r.reap(600*time.Millisecond, P+"/t")
		r.stat(a, P+"/t")
		r.stat(a, P)
	})
}

// Scenario 9: server-side path validation that go-zk's own validation lets
// through (it accepts U+E000-U+EFFF, U+FFFF and non-BMP characters, which
// the server rejects). Everything go-zk rejects itself (including U+FFFD and
// invalid UTF-8, which it decodes as U+FFFD) is left to the wire adapter's
// tests.
func TestConformancePaths(t *testing.T) {
	conform(t, confSharedServer, func(r *confRun) {
		a := r.session("A")
		P := r.prefix
		r.create(a, P, nil, 0, confOpenACL, 0)
		names := []string{"a b", "...", ".a", "a.", "a..b", "\u00fc", "\u00a0", "\u2028", "\u65e5\u672c",
			"\ue000", "\uefff", "\uffff", "\U0001F600"}
		for _, n := range names {
			r.create(a, P+"/"+n, []byte(n), 0, confOpenACL, 0)
		}
		r.children(a, P)
		r.stat(a, P)
		for _, n := range []string{"\ue000", "\U0001F600"} {
			r.get(a, P+"/"+n)
			r.set(a, P+"/"+n, nil, -1)
			r.setACL(a, P+"/"+n, confOpenACL, -1)
			r.del(a, P+"/"+n, -1)
			r.children(a, P+"/"+n)
			r.getACL(a, P+"/"+n)
			r.create(a, P+"/missing/"+n, nil, 0, confOpenACL, 0)
			r.create(a, P+"/"+n+"/x", nil, 0, confOpenACL, 0)
			r.create(a, P+"/"+n+"-", nil, 2, confOpenACL, 0)
		}
		r.create(a, P+"/s-", nil, 2, confOpenACL, 0)
		r.multi(a, confMCreate(P+"/m", nil, 0), confMCreate(P+"/\ue000m", nil, 0))
		r.multi(a, confMCreate(P+"/m", nil, 0), confMCheck(P+"/\ue000", -1))
		r.multi(a, confMCreate(P+"/m", nil, 0), confMSet(P+"/\ue000", nil, -1))
		r.multi(a, confMCreate(P+"/m", nil, 0), confMDel(P+"/\ue000", -1))
		r.create(a, P+"/s-", nil, 2, confOpenACL, 0)
		r.stat(a, P)
	})
}

// connectWatching is the real server's connectWatching, through the wire
// server.
func (w *confWireSystem) connectWatching(t *testing.T) confClient {
	t.Helper()
	return (&confZKSystem{dialer: w.srv.Dial}).connectWatching(t)
}
