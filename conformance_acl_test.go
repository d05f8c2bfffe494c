package zkembed_test

// ACL conformance matrix: permission checks, ACL fix-up and addAuth compared
// with a real ZooKeeper 3.8 started with a super digest, through the harness
// of conformance_test.go. As there, the expected values are whatever the real
// server answers in the same run.
//
// The transcript is cut into blocks, one per case; each block is normalized
// on its own (zxids are ranked within the block, see confRun.render), so a
// write that succeeds on one system and fails on the other shows up in its
// own case and does not shift the zxid ranks of every later case. Blocks are
// compared one by one. With ZKEMBED_ACL_DUMP=file set, the two whole
// transcripts are written to file.zookeeper and file.zkembed for review.
//
// Identities. Every go-zk client connects over loopback, so ZooKeeper gives
// it the id ip:127.0.0.1; the engine's sessions are opened with
// SessionOptions.Addr 127.0.0.1 and hold the same id. On top of that a
// session may add auth: digest credentials (right or wrong password, another
// user, the super password or a wrong one) or "ip" (which just adds the ip id
// again).
//
// Not compared here:
//   - whoAmI: go-zk has no whoAmI call. The ids a session holds are observed
//     through "auth" ACL expansion instead (create with auth:, then getACL).
//   - what happens after a failed addAuth: ZooKeeper answers AuthFailed and
//     closes the connection, and go-zk reconnects to the same session without
//     the failed credentials, so the session goes on working; the engine,
//     which has no connection to drop, fails every later request of the
//     session with AuthFailed. Only the addAuth's own code is compared; the
//     next request's outcome on each system is logged.

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/internal/zkserver"
)

const aclSuperPassword = "s3cret"

var (
	aclSuperDigest = acl.Digest("super", aclSuperPassword)
	aclBob         = acl.Digest("bob", "pw")
	aclAlice       = acl.Digest("alice", "pw")
	aclLoopback    = netip.MustParseAddr("127.0.0.1")
)

type aclCred struct{ scheme, data string }

// aclCallers are the identities the permission matrix runs as.
var aclCallers = []struct {
	name  string
	creds []aclCred
}{
	{"none", nil},
	{"bob", []aclCred{{"digest", "bob:pw"}}},
	{"bobWrongPw", []aclCred{{"digest", "bob:wrong"}}},
	{"alice", []aclCred{{"digest", "alice:pw"}}},
	{"ipAuth", []aclCred{{"ip", "whatever"}}},
	{"super", []aclCred{{"digest", "super:" + aclSuperPassword}}},
	{"superWrongPw", []aclCred{{"digest", "super:nope"}}},
}

// aclKinds are the ACLs of the node under test, each for perms p.
var aclKinds = []struct {
	name    string
	creator string // session that creates the node: root (super) or bobC (digest bob:pw)
	acl     func(p int32) []zk.ACL
}{
	{"world", "root", func(p int32) []zk.ACL { return []zk.ACL{{Perms: p, Scheme: "world", ID: "anyone"}} }},
	{"digest", "root", func(p int32) []zk.ACL { return []zk.ACL{{Perms: p, Scheme: "digest", ID: aclBob}} }},
	{"ipIn", "root", func(p int32) []zk.ACL { return []zk.ACL{{Perms: p, Scheme: "ip", ID: "127.0.0.0/8"}} }},
	{"ipOut", "root", func(p int32) []zk.ACL { return []zk.ACL{{Perms: p, Scheme: "ip", ID: "10.0.0.0/8"}} }},
	// Created by bob with an auth ACL, which expands to digest:bob; the
	// final setACL of each case also sends the auth ACL, so it expands to
	// the caller's own ids (or is InvalidACL without any).
	{"auth", "bobC", func(p int32) []zk.ACL { return []zk.ACL{{Perms: p, Scheme: "auth", ID: ""}} }},
	{"mixed", "root", func(p int32) []zk.ACL {
		return []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: aclAlice}, {Perms: p, Scheme: "ip", ID: "127.0.0.1"}}
	}},
}

var aclPermSets = []struct {
	name string
	p    int32
}{
	{"0", 0}, {"R", zk.PermRead}, {"W", zk.PermWrite}, {"C", zk.PermCreate}, {"D", zk.PermDelete}, {"A", zk.PermAdmin},
	{"ALL^R", zk.PermAll &^ zk.PermRead}, {"ALL^W", zk.PermAll &^ zk.PermWrite}, {"ALL^C", zk.PermAll &^ zk.PermCreate},
	{"ALL^D", zk.PermAll &^ zk.PermDelete}, {"ALL^A", zk.PermAll &^ zk.PermAdmin}, {"ALL", zk.PermAll},
}

// aclBlock is one case of the transcript.
type aclBlock struct {
	title string
	run   *confRun
}

// aclScript runs the whole ACL script on one system.
type aclScript struct {
	t      *testing.T
	sys    confSystem
	owners map[int64]string
	sess   map[string]*confSess
	blocks []*aclBlock
	notes  []string // observations that are logged, not compared
}

// block starts a new case.
func (a *aclScript) block(format string, args ...any) *confRun {
	r := &confRun{t: a.t, sys: a.sys, owners: a.owners}
	a.blocks = append(a.blocks, &aclBlock{title: fmt.Sprintf(format, args...), run: r})
	return r
}

func (a *aclScript) addAuth(r *confRun, s *confSess, scheme string, data []byte) int32 {
	code := s.c.code(s.c.addAuth(scheme, data))
	r.rec(nil, "%s: addAuth %s %q -> %s", s.name, scheme, data, confFmtCode(code))
	return code
}

// session opens a session labelled name and adds creds to it, recording the
// addAuth results in the current block r.
func (a *aclScript) session(r *confRun, name string, creds ...aclCred) *confSess {
	a.t.Helper()
	c := a.sys.connect(a.t)
	a.owners[c.id()] = name
	s := &confSess{name: name, c: c}
	for _, cr := range creds {
		a.addAuth(r, s, cr.scheme, []byte(cr.data))
	}
	a.sess[name] = s
	return s
}

// aclACL is a one-entry ACL list.
func aclACL(perms int32, scheme, id string) []zk.ACL {
	return []zk.ACL{{Perms: perms, Scheme: scheme, ID: id}}
}

// aclFixupLists are the ACL lists of the fix-up / InvalidACL cases. Lists
// with auth entries (authDep) are run by every fix-up caller, the others by
// none and bob only.
var aclFixupLists = []struct {
	name    string
	authDep bool
	acl     []zk.ACL
}{
	// auth expansion
	{"auth", true, aclACL(zk.PermAll, "auth", "")},
	{"auth-whatever", true, aclACL(zk.PermRead, "auth", "whatever")},
	{"auth+digest-bob", true, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}, {Perms: zk.PermAll, Scheme: "digest", ID: aclBob}}},
	{"digest-bob+auth", true, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: aclBob}, {Perms: zk.PermAll, Scheme: "auth", ID: ""}}},
	{"auth+auth", true, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}, {Perms: zk.PermAll, Scheme: "auth", ID: ""}}},
	{"auth+auth-x", true, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}, {Perms: zk.PermAll, Scheme: "auth", ID: "x"}}},
	{"authR+authW", true, []zk.ACL{{Perms: zk.PermRead, Scheme: "auth", ID: ""}, {Perms: zk.PermWrite, Scheme: "auth", ID: ""}}},
	{"world+authR", true, []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermRead, Scheme: "auth", ID: ""}}},
	{"authR+world+world", true, []zk.ACL{{Perms: zk.PermRead, Scheme: "auth", ID: ""}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}}},
	{"auth-perms0", true, aclACL(0, "auth", "")},
	// world
	{"world-bob", false, aclACL(zk.PermAll, "world", "bob")},
	{"world-ANYONE", false, aclACL(zk.PermAll, "world", "ANYONE")},
	{"world-empty", false, aclACL(zk.PermAll, "world", "")},
	// digest
	{"digest-a:b:c", false, aclACL(zk.PermRead, "digest", "a:b:c")},
	{"digest-a:", false, aclACL(zk.PermRead, "digest", "a:")},
	{"digest-a::", false, aclACL(zk.PermRead, "digest", "a::")},
	{"digest-:b", false, aclACL(zk.PermRead, "digest", ":b")},
	{"digest-::b", false, aclACL(zk.PermRead, "digest", "::b")},
	{"digest-:", false, aclACL(zk.PermRead, "digest", ":")},
	{"digest-nocolon", false, aclACL(zk.PermRead, "digest", "nocolon")},
	{"digest-empty", false, aclACL(zk.PermRead, "digest", "")},
	{"digest-bob-perms0", false, aclACL(0, "digest", aclBob)},
	{"digest-bob-perms64", false, aclACL(64, "digest", aclBob)},
	// ip (READ, so that the getData of the plain session probes matching)
	{"ip-127.0.0.1", false, aclACL(zk.PermRead, "ip", "127.0.0.1")},
	{"ip-127.0.0.1/32", false, aclACL(zk.PermRead, "ip", "127.0.0.1/32")},
	{"ip-127.0.0.2", false, aclACL(zk.PermRead, "ip", "127.0.0.2")},
	{"ip-127.0.0.2/31", false, aclACL(zk.PermRead, "ip", "127.0.0.2/31")},
	{"ip-127.0.0.2/30", false, aclACL(zk.PermRead, "ip", "127.0.0.2/30")},
	{"ip-10.0.0.0/33", false, aclACL(zk.PermRead, "ip", "10.0.0.0/33")},
	{"ip-10.0.0.0/32", false, aclACL(zk.PermRead, "ip", "10.0.0.0/32")},
	{"ip-10.0.0.0/0", false, aclACL(zk.PermRead, "ip", "10.0.0.0/0")},
	{"ip-0.0.0.0/0", false, aclACL(zk.PermRead, "ip", "0.0.0.0/0")},
	{"ip-10.0.0.0/-1", false, aclACL(zk.PermRead, "ip", "10.0.0.0/-1")},
	{"ip-10.0.0.0/", false, aclACL(zk.PermRead, "ip", "10.0.0.0/")},
	{"ip-10.0.0.0//8", false, aclACL(zk.PermRead, "ip", "10.0.0.0//8")},
	{"ip-127.0.0.0/+8", false, aclACL(zk.PermRead, "ip", "127.0.0.0/+8")},
	{"ip-127.0.0.0/08", false, aclACL(zk.PermRead, "ip", "127.0.0.0/08")},
	{"ip-127.0.0.0/8/8", false, aclACL(zk.PermRead, "ip", "127.0.0.0/8/8")},
	{"ip-127.0.0.0/8sp", false, aclACL(zk.PermRead, "ip", "127.0.0.0/8 ")},
	{"ip-127.0.0.0/2^31", false, aclACL(zk.PermRead, "ip", "127.0.0.0/2147483648")},
	{"ip-127.000.000.001", false, aclACL(zk.PermRead, "ip", "127.000.000.001")},
	{"ip-+127.0.0.1", false, aclACL(zk.PermRead, "ip", "+127.0.0.1")},
	{"ip-127.-0.0.1", false, aclACL(zk.PermRead, "ip", "127.-0.0.1")},
	{"ip-127.0.0.1.", false, aclACL(zk.PermRead, "ip", "127.0.0.1.")},
	{"ip-127.0.0", false, aclACL(zk.PermRead, "ip", "127.0.0")},
	{"ip-127.1", false, aclACL(zk.PermRead, "ip", "127.1")},
	{"ip-256.0.0.1", false, aclACL(zk.PermRead, "ip", "256.0.0.1")},
	{"ip-sp127.0.0.1", false, aclACL(zk.PermRead, "ip", " 127.0.0.1")},
	{"ip-list", false, aclACL(zk.PermRead, "ip", "127.0.0.1,10.0.0.1")},
	{"ip-arabic-digits", false, aclACL(zk.PermRead, "ip", "\u0661\u0662\u0667.0.0.1")},
	{"ip-localhost", false, aclACL(zk.PermRead, "ip", "localhost")},
	{"ip-empty", false, aclACL(zk.PermRead, "ip", "")},
	{"ip-::1", false, aclACL(zk.PermRead, "ip", "::1")},
	{"ip-::1/128", false, aclACL(zk.PermRead, "ip", "::1/128")},
	{"ip-0:0:0:0:0:0:0:1", false, aclACL(zk.PermRead, "ip", "0:0:0:0:0:0:0:1")},
	{"ip-2001:db8::/32", false, aclACL(zk.PermRead, "ip", "2001:db8::/32")},
	{"ip-::ffff:127.0.0.1", false, aclACL(zk.PermRead, "ip", "::ffff:127.0.0.1")},
	{"ip-fe80::1%lo", false, aclACL(zk.PermRead, "ip", "fe80::1%lo")},
	// other schemes
	{"super-empty", false, aclACL(zk.PermAll, "super", "")},
	{"super-x", false, aclACL(zk.PermAll, "super", "x")},
	{"x509", false, aclACL(zk.PermAll, "x509", "CN=foo")},
	{"sasl", false, aclACL(zk.PermAll, "sasl", "bob")},
	{"scheme-foo", false, aclACL(zk.PermAll, "foo", "bar")},
	{"scheme-empty", false, aclACL(zk.PermAll, "", "anyone")},
	{"scheme-WORLD", false, aclACL(zk.PermAll, "WORLD", "anyone")},
	{"scheme-Digest", false, aclACL(zk.PermAll, "Digest", aclBob)},
	{"valid+invalid", false, []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "x509", ID: "CN=foo"}}},
	// duplicates
	{"dup-world", false, []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}}},
	{"dup-digest", false, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: aclBob}, {Perms: zk.PermAll, Scheme: "digest", ID: aclBob}, {Perms: zk.PermAll, Scheme: "world", ID: "anyone"}}},
	{"dup-ip", false, []zk.ACL{{Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.1"}, {Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.1"}}},
	{"dup-mixed-order", false, []zk.ACL{{Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.1"}, {Perms: zk.PermAll, Scheme: "digest", ID: aclBob}, {Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.1"}, {Perms: zk.PermAll, Scheme: "digest", ID: aclBob}}},
}

// aclFixupCallers run the fix-up cases.
var aclFixupCallers = []struct {
	name  string
	creds []aclCred
}{
	{"fNone", nil},
	{"fBob", []aclCred{{"digest", "bob:pw"}}},
	{"fSuper", []aclCred{{"digest", "super:" + aclSuperPassword}}},
	{"fBobAlice", []aclCred{{"digest", "bob:pw"}, {"digest", "alice:pw"}}},
	{"fBobTwice", []aclCred{{"digest", "bob:pw"}, {"ip", ""}, {"digest", "bob:pw"}}},
	{"fIP", []aclCred{{"ip", ""}}},
}

// aclDigestAuths are the credentials of the addAuth digest cases.
var aclDigestAuths = []string{
	"bob:pw", "nocolon", "", ":pw", "a:b:c", "bob:", "\xff\xfe:pw", "\xe2\x82:pw", "ünï:pw", "bob:pw\x00",
	"super:" + aclSuperPassword, "super:S3CRET", "SUPER:" + aclSuperPassword,
}

// aclFailSchemes are addAuth schemes without a provider on either system.
var aclFailSchemes = []string{"x509", "sasl", "world", "auth", "super", "foo", "", "DIGEST", "IP"}

// runACLScript runs the whole script on one system.
func runACLScript(a *aclScript) {
	setup := a.block("sessions")
	root := a.session(setup, "root", aclCred{"digest", "super:" + aclSuperPassword})
	a.session(setup, "bobC", aclCred{"digest", "bob:pw"})
	for _, c := range aclCallers {
		a.session(setup, c.name, c.creds...)
	}
	for _, c := range aclFixupCallers {
		a.session(setup, c.name, c.creds...)
	}
	setup.create(root, "/m", nil, 0, confOpenACL, 0)
	setup.create(root, "/f", nil, 0, confOpenACL, 0)
	setup.create(root, "/a", nil, 0, confOpenACL, 0)

	// 1. The permission matrix.
	for _, k := range aclKinds {
		for _, ps := range aclPermSets {
			for _, cl := range aclCallers {
				c := a.sess[cl.name]
				r := a.block("matrix acl=%s perms=%s caller=%s", k.name, ps.name, cl.name)
				n := fmt.Sprintf("/m/%s-%d-%s", k.name, ps.p, cl.name)
				r.create(a.sess[k.creator], n, []byte("d"), 0, k.acl(ps.p), 0)
				r.createOnly(root, n+"/c", nil, 0, confOpenACL, 0)
				r.stat(c, n)                                                                  // no check
				r.get(c, n)                                                                   // READ
				r.children(c, n)                                                              // READ
				r.getACL(c, n)                                                                // READ|ADMIN, masked without ADMIN
				r.multi(c, confMCheck(n, 0))                                                  // READ
				r.multi(c, confMCreate(n+"-x", []byte("x"), 0), confMSet(n, []byte("m"), -1)) // WRITE denied: nothing done
				r.set(c, n, []byte("w"), -1)                                                  // WRITE
				r.createOnly(c, n+"/new", []byte("n"), 0, confOpenACL, 0)                     // CREATE on parent
				r.del(c, n+"/c", -1)                                                          // DELETE on parent
				r.setACL(c, n, k.acl(ps.p), -1)                                               // ADMIN
				// The effects, seen by the super session.
				r.stat(root, n+"-x")
				r.get(root, n)
				r.children(root, n)
				r.getACL(root, n)
			}
		}
	}

	// 2. ACL fix-up and InvalidACL, on create and on setACL.
	probe := a.sess["none"]
	for _, fc := range aclFixupCallers {
		c := a.sess[fc.name]
		for i, l := range aclFixupLists {
			if !l.authDep && fc.name != "fNone" && fc.name != "fBob" {
				continue
			}
			r := a.block("fixup list=%s caller=%s", l.name, fc.name)
			f := fmt.Sprintf("/f/%s-%d", fc.name, i)
			r.createOnly(c, f, []byte("f"), 0, l.acl, 0)
			r.getACL(root, f) // the stored list
			r.get(probe, f)   // does a plain 127.0.0.1 session match?
			g := f + "-set"
			r.createOnly(root, g, []byte("g"), 0, confOpenACL, 0)
			r.setACL(c, g, l.acl, -1)
			r.getACL(root, g)
			r.get(probe, g)
		}
	}

	// 3. addAuth digest with odd credentials: the id each one yields is
	// seen through auth expansion.
	for i, cred := range aclDigestAuths {
		r := a.block("addAuth digest %q", cred)
		s := a.session(r, fmt.Sprintf("d%d", i), aclCred{"digest", cred})
		p := fmt.Sprintf("/a/d%d", i)
		r.createOnly(s, p, []byte("a"), 0, aclACL(zk.PermAll, "auth", ""), 0)
		r.getACL(s, p)
		r.getACL(root, p)
		r.get(s, p)
		r.get(probe, p)
	}
	{
		r := a.block("addAuth ip, then auth expansion")
		s := a.session(r, "ipOnly", aclCred{"ip", "10.1.2.3"})
		r.createOnly(s, "/a/ip", nil, 0, aclACL(zk.PermAll, "auth", ""), 0)
		r.createOnly(s, "/a/ip2", nil, 0, aclACL(zk.PermRead, "ip", "127.0.0.1"), 0)
		r.get(s, "/a/ip2")
		a.addAuth(r, s, "digest", []byte("bob:pw"))
		r.createOnly(s, "/a/ip", nil, 0, aclACL(zk.PermAll, "auth", ""), 0)
		r.getACL(root, "/a/ip")
	}

	// 4. addAuth with a scheme that has no provider: compare the code; log
	// what the session's next request does (see the file comment).
	for i, scheme := range aclFailSchemes {
		r := a.block("addAuth unknown scheme %q", scheme)
		s := a.session(r, fmt.Sprintf("u%d", i), aclCred{scheme, "CN=foo"})
		_, _, err := s.c.exists("/a")
		a.notes = append(a.notes, fmt.Sprintf("after a failed addAuth %q, exists /a -> %s (err %v)",
			scheme, confFmtCode(s.c.code(err)), err))
	}
}

// TestConformanceACLMatrix runs the ACL matrix on a ZooKeeper server started
// with a super digest and on an engine with the same super digest.
func TestConformanceACLMatrix(t *testing.T) {
	t.Parallel()
	if addr := os.Getenv(zkserver.EnvAddr); addr != "" {
		t.Skipf("%s=%s: an external server cannot be given the super digest", zkserver.EnvAddr, addr)
	}
	srv := zkserver.Start(t, zkserver.WithSuperDigest(aclSuperDigest))

	start := time.Now()
	zs := &aclScript{t: t, sys: &confZKSystem{srv: srv}, owners: map[int64]string{}, sess: map[string]*confSess{}}
	runACLScript(zs)
	zkTime := time.Since(start)

	start = time.Now()
	clk := clock.NewVirtual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	db, err := zkembed.Open("", &zkembed.Options{ExtendedTypes: true, Clock: clk, SuperDigest: aclSuperDigest})
	if err != nil {
		t.Fatalf("zkembed.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	es := &aclScript{t: t, owners: map[int64]string{}, sess: map[string]*confSess{},
		sys: &confEngineSystem{db: db, clk: clk, sessOpts: &zkembed.SessionOptions{Addr: aclLoopback}}}
	runACLScript(es)
	engTime := time.Since(start)

	if f := os.Getenv("ZKEMBED_ACL_DUMP"); f != "" {
		// For review: ZooKeeper's and zkembed's whole transcripts.
		for _, x := range []struct {
			suffix string
			s      *aclScript
		}{{".zookeeper", zs}, {".zkembed", es}} {
			var b strings.Builder
			for _, bl := range x.s.blocks {
				fmt.Fprintf(&b, "== %s\n%s\n", bl.title, strings.Join(bl.run.render(), "\n"))
			}
			if err := os.WriteFile(f+x.suffix, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The same script through go-zk against zkembed's wire server.
	wclk := clock.NewVirtual(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	wdb, err := zkembed.Open("", &zkembed.Options{ExtendedTypes: true, Clock: wclk, SuperDigest: aclSuperDigest})
	if err != nil {
		t.Fatalf("zkembed.Open: %v", err)
	}
	t.Cleanup(func() { _ = wdb.Close() })
	wsrv := zkembed.NewServer(wdb, nil)
	t.Cleanup(func() { _ = wsrv.Close() })
	ws := &aclScript{t: t, owners: map[int64]string{}, sess: map[string]*confSess{},
		sys: &confWireSystem{confEngineSystem: &confEngineSystem{db: wdb, clk: wclk}, srv: wsrv}}
	runACLScript(ws)

	compare := func(label string, es *aclScript) int {
		if len(zs.blocks) != len(es.blocks) {
			t.Fatalf("%s: block counts differ: zookeeper %d, zkembed %d", label, len(zs.blocks), len(es.blocks))
		}
		const maxShown = 25
		lines, differing := 0, 0
		summary := map[string]int{}
		for i, zb := range zs.blocks {
			eb := es.blocks[i]
			if zb.title != eb.title {
				t.Fatalf("%s: block %d: titles differ: %q vs %q", label, i, zb.title, eb.title)
			}
			want, got := zb.run.render(), eb.run.render()
			lines += len(want)
			hunks := confDiff(want, got)
			if len(hunks) == 0 {
				continue
			}
			differing++
			for _, h := range hunks {
				for _, l := range strings.Split(h.text, "\n") {
					if s, ok := strings.CutPrefix(l, "  - zookeeper: "); ok {
						summary[aclSummaryKey(zb.title, s)]++
					}
				}
			}
			if differing <= maxShown {
				var b strings.Builder
				for _, h := range hunks {
					fmt.Fprintf(&b, "  at line %d of the case:\n%s\n", h.line, h.text)
				}
				t.Errorf("%s: case %q differs:\n%s  ZooKeeper's transcript of the case:\n    %s",
					label, zb.title, b.String(), strings.Join(want, "\n    "))
			}
		}
		confComparisons.Add(int64(lines))
		if differing > 0 {
			keys := make([]string, 0, len(summary))
			for k := range summary {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "  %4d  %s\n", summary[k], k)
			}
			t.Errorf("%s: %d of %d cases differ (first %d shown); differing ZooKeeper lines by kind:\n%s",
				label, differing, len(zs.blocks), min(differing, maxShown), b.String())
		}
		for i := range zs.notes {
			t.Logf("not compared: zookeeper: %s", zs.notes[i])
			t.Logf("not compared: %s: %s", label, es.notes[i])
		}
		return lines
	}
	lines := compare("zkembed", es)
	compare("zkembed over the wire", ws)
	t.Logf("%d cases, %d transcript lines compared; zookeeper %v, zkembed %v",
		len(zs.blocks), lines, zkTime.Round(time.Millisecond), engTime.Round(time.Millisecond))
}

// aclSummaryKey groups a differing line by case family and operation.
func aclSummaryKey(title, line string) string {
	family := title
	if f, rest, ok := strings.Cut(title, " "); ok && f == "matrix" {
		// matrix acl=K perms=P caller=C -> matrix acl=K caller=C
		fields := strings.Fields(rest)
		family = "matrix " + fields[0] + " " + fields[2]
	}
	op := line
	if _, after, ok := strings.Cut(line, ": "); ok {
		op, _, _ = strings.Cut(strings.TrimSpace(after), " ")
	}
	return family + ": " + op
}
