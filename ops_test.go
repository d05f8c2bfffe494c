package zkembed_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/znode"
)

func TestFreshTree(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	root := stat(t, s, "/")
	assert.Equal(t, zkembed.Stat{Cversion: -1, NumChildren: 1}, root)
	assert.Equal(t, zkembed.Stat{Cversion: -2, NumChildren: 2}, stat(t, s, "/zookeeper"))
	assert.Equal(t, zkembed.Stat{}, stat(t, s, "/zookeeper/quota"))
	assert.Equal(t, zkembed.Stat{Aversion: -1}, stat(t, s, "/zookeeper/config"))
	list, _, err := s.GetACL(ctx, "/zookeeper/config")
	require.NoError(t, err)
	assert.Equal(t, zkembed.ReadACL(), list)
	n, err := s.GetAllChildrenNumber(ctx, "/")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	data, st, err := s.GetData(ctx, "") // "" is the root's alias for reads
	require.NoError(t, err)
	assert.Equal(t, []byte{}, data, "the root's data is empty, not null")
	assert.Equal(t, root, st)
	kids, _, err := s.GetChildren(ctx, "/zookeeper")
	require.NoError(t, err)
	assert.Equal(t, []string{"config", "quota"}, kids)
	_, err = s.Create(ctx, "/zookeeper/foo", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err, "children may be created under /zookeeper")
}

func TestCreateModes(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	ms := t0.UnixMilli()
	p := mustCreate(t, s, "/p", "data")
	z := p.Czxid
	assert.Equal(t, zkembed.Stat{Czxid: z, Mzxid: z, Pzxid: z, Ctime: ms, Mtime: ms, DataLength: 4}, p)

	tests := []struct {
		mode  zkembed.CreateMode
		path  string
		want  string
		owner int64
		ttl   time.Duration
	}{
		{zkembed.ModePersistent, "/p/a", "/p/a", 0, 0},
		{zkembed.ModeEphemeral, "/p/e", "/p/e", s.ID(), 0},
		{zkembed.ModePersistentSequential, "/p/s-", "/p/s-0000000002", 0, 0},
		{zkembed.ModeEphemeralSequential, "/p/es-", "/p/es-0000000003", s.ID(), 0},
		{zkembed.ModeContainer, "/p/c", "/p/c", 0, 0},
		{zkembed.ModePersistentWithTTL, "/p/t", "/p/t", 0, time.Minute},
		{zkembed.ModePersistentSequentialWithTTL, "/p/ts-", "/p/ts-0000000006", 0, time.Minute},
	}
	for i, tt := range tests {
		var got string
		var st zkembed.Stat
		var err error
		if tt.ttl > 0 {
			got, st, err = s.CreateTTL(ctx, tt.path, []byte("x"), tt.mode, zkembed.OpenACL(), tt.ttl)
		} else {
			got, st, err = s.Create2(ctx, tt.path, []byte("x"), tt.mode, zkembed.OpenACL())
		}
		require.NoError(t, err, tt.mode)
		assert.Equal(t, tt.want, got, tt.mode)
		assert.Equal(t, tt.owner, st.EphemeralOwner, "%v: containers and TTL nodes show owner 0", tt.mode)
		assert.Equal(t, st, stat(t, s, got))
		parent := stat(t, s, "/p")
		assert.Equal(t, int32(i+1), parent.NumChildren)
		assert.Equal(t, int32(i+1), parent.Cversion)
		assert.Equal(t, st.Czxid, parent.Pzxid)
		assert.Equal(t, z, parent.Mzxid, "child creates leave the parent's mzxid")
	}

	// Null and empty data are distinct.
	_, err := s.Create(ctx, "/null", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	_, err = s.Create(ctx, "/empty", []byte{}, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	data, st, err := s.GetData(ctx, "/null")
	require.NoError(t, err)
	assert.Nil(t, data)
	assert.Equal(t, int32(0), st.DataLength)
	data, _, err = s.GetData(ctx, "/empty")
	require.NoError(t, err)
	assert.Equal(t, []byte{}, data)

	// The caller's buffer is copied.
	buf := []byte("abc")
	mustCreate(t, s, "/copy", string(buf))
	_, err = s.SetData(ctx, "/copy", buf, -1)
	require.NoError(t, err)
	buf[0] = 'X'
	data, _, _ = s.GetData(ctx, "/copy")
	assert.Equal(t, "abc", string(data))
	data[0] = 'Y'
	data, _, _ = s.GetData(ctx, "/copy")
	assert.Equal(t, "abc", string(data), "returned data is a copy")
}

func TestModeAndTTLArguments(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	bad := map[string]func() error{
		"mode 7":  func() error { _, err := s.Create(ctx, "/x", nil, 7, zkembed.OpenACL()); return err },
		"mode -1": func() error { _, err := s.Create(ctx, "/x", nil, -1, zkembed.OpenACL()); return err },
		"create with a TTL mode": func() error {
			_, err := s.Create(ctx, "/x", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL())
			return err
		},
		"createTTL, non-TTL mode": func() error {
			_, _, err := s.CreateTTL(ctx, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL(), time.Second)
			return err
		},
		"createTTL, ttl 0": func() error {
			_, _, err := s.CreateTTL(ctx, "/x", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), 0)
			return err
		},
		"createTTL, ttl 0.5ms": func() error {
			_, _, err := s.CreateTTL(ctx, "/x", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), 500*time.Microsecond)
			return err
		},
		"createTTL, ttl -1s": func() error {
			_, _, err := s.CreateTTL(ctx, "/x", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), -time.Second)
			return err
		},
		"createTTL, ttl 2^40ms": func() error {
			_, _, err := s.CreateTTL(ctx, "/x", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), (1<<40)*time.Millisecond)
			return err
		},
	}
	for name, f := range bad {
		assertUnchanged(t, e, func() { assert.ErrorIs(t, f(), zkembed.ErrBadArguments, name) })
	}
	_, _, err := s.CreateTTL(ctx, "/max", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), (1<<40-1)*time.Millisecond)
	require.NoError(t, err, "the largest TTL is accepted")

	off := newEnv(t, func(o *zkembed.Options) { o.ExtendedTypes = false })
	so := off.session(t)
	_, _, err = so.CreateTTL(ctx, "/t", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), time.Second)
	assert.ErrorIs(t, err, zkembed.ErrUnimplemented)
	_, err = so.Create(ctx, "/t", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL())
	assert.ErrorIs(t, err, zkembed.ErrUnimplemented, "TTL disabled is checked before the ttl value")
}

// assertUnchanged runs f and asserts that the engine's state and zxid are
// the same afterwards: bad input never changes anything.
func assertUnchanged(t *testing.T, e *env, f func()) {
	t.Helper()
	before, zxid := dump(t, e.db), e.db.LastZxid()
	f()
	assert.Equal(t, zxid, e.db.LastZxid(), "a failed write consumes no zxid")
	assert.Equal(t, before, dump(t, e.db), "a failed write changes nothing")
}

func TestSequentialNaming(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	seq := func(path string) string {
		t.Helper()
		p, err := s.Create(ctx, path, nil, zkembed.ModePersistentSequential, zkembed.OpenACL())
		require.NoError(t, err)
		return p
	}
	mustCreate(t, s, "/q", "")
	// Creates of every kind advance the counter.
	_, err := s.Create(ctx, "/q/a", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	_, err = s.Create(ctx, "/q/b", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	_, err = s.Create(ctx, "/q/c", nil, zkembed.ModeContainer, zkembed.OpenACL())
	require.NoError(t, err)
	_, _, err = s.CreateTTL(ctx, "/q/d", nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), time.Hour)
	require.NoError(t, err)
	assert.Equal(t, "/q/x0000000004", seq("/q/x"))
	// Deletes never free a number.
	require.NoError(t, s.Delete(ctx, "/q/x0000000004", -1))
	assert.Equal(t, "/q/x0000000005", seq("/q/x"))
	// Failed creates do not consume one, even in a failed multi.
	_, err = s.Create(ctx, "/q/a", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.ErrorIs(t, err, zkembed.ErrNodeExists)
	res, err := s.Multi(ctx,
		&zkembed.CreateOp{Path: "/q/m-", Mode: zkembed.ModePersistentSequential, ACL: zkembed.OpenACL()},
		&zkembed.CreateOp{Path: "/q/a", ACL: zkembed.OpenACL()})
	require.ErrorIs(t, err, zkembed.ErrNodeExists)
	assert.Equal(t, "/q/m-", res[0].Path, "a failed multi reports no uncommitted names")
	// Within a multi each sequential create sees the previous one.
	res, err = s.Multi(ctx,
		&zkembed.CreateOp{Path: "/q/m-", Mode: zkembed.ModePersistentSequential, ACL: zkembed.OpenACL()},
		&zkembed.CreateOp{Path: "/q/m-", Mode: zkembed.ModePersistentSequential, ACL: zkembed.OpenACL()})
	require.NoError(t, err)
	assert.Equal(t, "/q/m-0000000006", res[0].Path)
	assert.Equal(t, "/q/m-0000000007", res[1].Path)
	// A trailing slash is fine for a sequential create; so is "/".
	assert.Equal(t, "/q/0000000008", seq("/q/"))
	rootCV := int32(0) // root's stored cversion: /q is its only create
	assert.Equal(t, fmt.Sprintf("/%010d", rootCV+1), seq("/"))
	_, err = s.Create(ctx, "/q/", nil, zkembed.ModePersistent, zkembed.OpenACL())
	assert.ErrorIs(t, err, zkembed.ErrBadArguments, "but not for a plain create")
}

// At int32 max the counter cannot advance: 3.8.0 repeats 2147483647 and
// fails with NodeExists; zkembed fails with an error that matches
// ErrNodeExists and says why (SEMANTICS.md, deliberate differences).
func TestSequentialOverflow(t *testing.T) {
	log := []*txn.Txn{
		{Zxid: 1, Ops: []txn.Op{{Type: txn.TypeCreate, Path: "/s", ACL: znode.OpenACL(), ParentCversion: 1}}},
		// A record that leaves /s's stored cversion just below int32 max.
		{Zxid: 2, Ops: []txn.Op{{Type: txn.TypeCreate, Path: "/s/first", ACL: znode.OpenACL(), ParentCversion: math.MaxInt32 - 1}}},
	}
	e := newEnv(t, func(o *zkembed.Options) { require.NoError(t, o.Log.Append(log...)) })
	s := e.session(t)
	p, err := s.Create(ctx, "/s/n-", nil, zkembed.ModePersistentSequential, zkembed.OpenACL())
	require.NoError(t, err)
	assert.Equal(t, "/s/n-2147483646", p)
	// Stored cversion is now int32 max; the visible 2×stored − 2 wraps to -4.
	assert.Equal(t, int32(-4), stat(t, s, "/s").Cversion)
	assertUnchanged(t, e, func() {
		_, err = s.Create(ctx, "/s/n-", nil, zkembed.ModePersistentSequential, zkembed.OpenACL())
		assert.ErrorIs(t, err, zkembed.ErrNodeExists)
		assert.Contains(t, err.Error(), "sequence counter of /s is exhausted")
	})
	// Plain creates still work; the counter sticks at int32 max, as in
	// ZooKeeper, and the visible cversion overflows as it does there. The
	// parent's pzxid sticks too: ZooKeeper moves both only upward.
	pzxid := stat(t, s, "/s").Pzxid
	_, err = s.Create(ctx, "/s/plain", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	assert.Equal(t, pzxid, stat(t, s, "/s").Pzxid)
	assert.Equal(t, int32(-5), stat(t, s, "/s").Cversion) // 2×max − 3 children, wrapped (ZooKeeper shows -6 with 4)
}

func TestWritesUpdateStat(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	created := mustCreate(t, s, "/n", "a")
	mustCreate(t, s, "/n/c", "")
	e.clk.Advance(time.Second)
	st, err := s.SetData(ctx, "/n", []byte("bb"), 0)
	require.NoError(t, err)
	assert.Equal(t, int32(1), st.Version)
	assert.Equal(t, int32(2), st.DataLength)
	assert.Equal(t, created.Ctime+1000, st.Mtime)
	assert.Equal(t, created.Ctime, st.Ctime)
	assert.Greater(t, st.Mzxid, created.Mzxid)
	assert.Equal(t, created.Czxid, st.Czxid)
	st2, err := s.SetData(ctx, "/n", nil, -1)
	require.NoError(t, err, "-1 matches any version")
	assert.Equal(t, int32(2), st2.Version, "the version increments on unconditional writes too")

	e.clk.Advance(time.Second)
	st3, err := s.SetACL(ctx, "/n", []zkembed.ACL{{Perms: zkembed.PermAll, ID: znode.AnyoneID}}, 0)
	require.NoError(t, err)
	assert.Equal(t, int32(1), st3.Aversion)
	assert.Equal(t, st2.Mzxid, st3.Mzxid, "setACL changes neither mzxid")
	assert.Equal(t, st2.Mtime, st3.Mtime, "nor mtime")
	assert.Equal(t, int32(2), st3.Version)

	before := stat(t, s, "/n")
	require.NoError(t, s.Delete(ctx, "/n/c", 0))
	after := stat(t, s, "/n")
	assert.Equal(t, before.Cversion+1, after.Cversion, "a delete raises the visible cversion")
	assert.Equal(t, int32(0), after.NumChildren)
	assert.Greater(t, after.Pzxid, before.Pzxid)
	assert.Equal(t, before.Mzxid, after.Mzxid)
}

// TestErrorPrecedence runs each bad call against one fixture and checks the
// error ZooKeeper's server order gives, and that nothing changed.
func TestErrorPrecedence(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	mustCreate(t, s, "/a", "")
	mustCreate(t, s, "/a/b", "")
	mustCreate(t, s, "/ro", "")
	mustCreate(t, s, "/ro/c", "")
	_, err := s.SetACL(ctx, "/ro", zkembed.ReadACL(), -1)
	require.NoError(t, err)
	_, err = s.Create(ctx, "/nr", nil, zkembed.ModePersistent, []zkembed.ACL{{Perms: zkembed.PermWrite, ID: znode.AnyoneID}})
	require.NoError(t, err)
	_, err = s.Create(ctx, "/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	open := zkembed.OpenACL()
	big := make([]byte, zkembed.DefaultMaxDataSize+1)

	create := func(path string, mode zkembed.CreateMode, list []zkembed.ACL) func() error {
		return func() error { _, err := s.Create(ctx, path, nil, mode, list); return err }
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"create: flags before everything", create("/missing/x", 9, nil), zkembed.ErrBadArguments},
		{"create: relative path", create("a", 0, open), zkembed.ErrBadArguments},
		{"create: NUL", create("/a\x00", 0, open), zkembed.ErrBadArguments},
		{"create: InvalidACL before NoNode", create("/missing/x", 0, nil), zkembed.ErrInvalidACL},
		{"create: world:bob", create("/x", 0, []zkembed.ACL{{Perms: 31, ID: zkembed.ID{Scheme: "world", ID: "bob"}}}), zkembed.ErrInvalidACL},
		{"create: auth without ids", create("/x", 0, zkembed.CreatorAllACL()), zkembed.ErrInvalidACL},
		{"create: parent missing", create("/missing/x", 0, open), zkembed.ErrNoNode},
		{"create: NoNode before full validation", create("/missing/", 0, open), zkembed.ErrNoNode},
		{"create: trailing slash", create("/a/", 0, open), zkembed.ErrBadArguments},
		{"create: empty name", create("//", 0, open), zkembed.ErrBadArguments},
		{"create: relative element", create("/a/..", 0, open), zkembed.ErrBadArguments},
		{"create: no CREATE on parent", create("/ro/x", 0, open), zkembed.ErrNoAuth},
		{"create: NoAuth before NodeExists", create("/ro/c", 0, open), zkembed.ErrNoAuth},
		{"create: exists", create("/a/b", 0, open), zkembed.ErrNodeExists},
		{"create: built-in exists", create("/zookeeper", 0, open), zkembed.ErrNodeExists},
		{"create: under config", create("/zookeeper/config/x", 0, open), zkembed.ErrNoAuth},
		{"create: child of ephemeral", create("/eph/x", 0, open), zkembed.ErrNoChildrenForEphemerals},
		{"create: sequential child of ephemeral", create("/eph/x", zkembed.ModePersistentSequential, open), zkembed.ErrNoChildrenForEphemerals},
		{"create: data too big", func() error { _, err := s.Create(ctx, "/big", big, 0, open); return err }, zkembed.ErrBadArguments},

		{"delete: root", func() error { return s.Delete(ctx, "/", -1) }, zkembed.ErrBadArguments},
		{"delete: /zookeeper", func() error { return s.Delete(ctx, "/zookeeper", -1) }, zkembed.ErrBadArguments},
		{"delete: /zookeeper/quota", func() error { return s.Delete(ctx, "/zookeeper/quota", -1) }, zkembed.ErrBadArguments},
		{"delete: /zookeeper/config", func() error { return s.Delete(ctx, "/zookeeper/config", -1) }, zkembed.ErrBadArguments},
		{"delete: relative", func() error { return s.Delete(ctx, "x", -1) }, zkembed.ErrBadArguments},
		{"delete: no full validation", func() error { return s.Delete(ctx, "//x", -1) }, zkembed.ErrNoNode},
		{"delete: parent missing", func() error { return s.Delete(ctx, "/missing/x", -1) }, zkembed.ErrNoNode},
		{"delete: NoAuth even when missing", func() error { return s.Delete(ctx, "/ro/nope", -1) }, zkembed.ErrNoAuth},
		{"delete: no DELETE on parent", func() error { return s.Delete(ctx, "/ro/c", -1) }, zkembed.ErrNoAuth},
		{"delete: missing", func() error { return s.Delete(ctx, "/nope", -1) }, zkembed.ErrNoNode},
		{"delete: BadVersion before NotEmpty", func() error { return s.Delete(ctx, "/a", 5) }, zkembed.ErrBadVersion},
		{"delete: not empty", func() error { return s.Delete(ctx, "/a", -1) }, zkembed.ErrNotEmpty},

		{"setData: invalid path", func() error { _, err := s.SetData(ctx, "/a/", nil, -1); return err }, zkembed.ErrBadArguments},
		{"setData: empty path", func() error { _, err := s.SetData(ctx, "", nil, -1); return err }, zkembed.ErrBadArguments},
		{"setData: missing", func() error { _, err := s.SetData(ctx, "/nope", nil, -1); return err }, zkembed.ErrNoNode},
		{"setData: NoAuth before BadVersion", func() error { _, err := s.SetData(ctx, "/ro", nil, 99); return err }, zkembed.ErrNoAuth},
		{"setData: config", func() error { _, err := s.SetData(ctx, "/zookeeper/config", nil, -1); return err }, zkembed.ErrNoAuth},
		{"setData: version", func() error { _, err := s.SetData(ctx, "/a", nil, 9); return err }, zkembed.ErrBadVersion},
		{"setData: too big", func() error { _, err := s.SetData(ctx, "/a", big, -1); return err }, zkembed.ErrBadArguments},

		{"setACL: invalid path", func() error { _, err := s.SetACL(ctx, "a", open, -1); return err }, zkembed.ErrBadArguments},
		{"setACL: InvalidACL before NoNode", func() error { _, err := s.SetACL(ctx, "/nope", nil, -1); return err }, zkembed.ErrInvalidACL},
		{"setACL: missing", func() error { _, err := s.SetACL(ctx, "/nope", open, -1); return err }, zkembed.ErrNoNode},
		{"setACL: NoAuth before BadVersion", func() error { _, err := s.SetACL(ctx, "/ro", open, 9); return err }, zkembed.ErrNoAuth},
		{"setACL: version", func() error { _, err := s.SetACL(ctx, "/a", open, 9); return err }, zkembed.ErrBadVersion},

		{"getData: missing", func() error { _, _, err := s.GetData(ctx, "/nope"); return err }, zkembed.ErrNoNode},
		{"getData: invalid path is just missing", func() error { _, _, err := s.GetData(ctx, "nope/"); return err }, zkembed.ErrNoNode},
		{"getData: no READ", func() error { _, _, err := s.GetData(ctx, "/nr"); return err }, zkembed.ErrNoAuth},
		{"getChildren: no READ", func() error { _, _, err := s.GetChildren(ctx, "/nr"); return err }, zkembed.ErrNoAuth},
		{"getChildren: missing", func() error { _, _, err := s.GetChildren(ctx, "/nope"); return err }, zkembed.ErrNoNode},
		{"getACL: no READ or ADMIN", func() error { _, _, err := s.GetACL(ctx, "/nr"); return err }, zkembed.ErrNoAuth},
		{"getAllChildrenNumber: no READ", func() error { _, err := s.GetAllChildrenNumber(ctx, "/nr"); return err }, zkembed.ErrNoAuth},
		{"exists: NUL", func() error { _, _, err := s.Exists(ctx, "/a\x00"); return err }, zkembed.ErrBadArguments},

		{"check: missing", func() error { _, err := s.Multi(ctx, &zkembed.CheckOp{Path: "/nope", Version: -1}); return err }, zkembed.ErrNoNode},
		{"check: no READ", func() error { _, err := s.Multi(ctx, &zkembed.CheckOp{Path: "/nr", Version: 7}); return err }, zkembed.ErrNoAuth},
		{"check: version", func() error { _, err := s.Multi(ctx, &zkembed.CheckOp{Path: "/a", Version: 3}); return err }, zkembed.ErrBadVersion},
		{"check: invalid path", func() error { _, err := s.Multi(ctx, &zkembed.CheckOp{Path: "/a/", Version: -1}); return err }, zkembed.ErrBadArguments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertUnchanged(t, e, func() {
				err := tt.call()
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.want, "got %v", err)
				var opErr *zkembed.OpError
				assert.True(t, errors.As(err, &opErr), "errors are *OpError")
			})
		})
	}
	// Reads that need no permission still work on /nr.
	ok, _, err := s.Exists(ctx, "/nr")
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestGetACLMasksDigests(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	bob := zkembed.ID{Scheme: "digest", ID: acl.Digest("bob", "pw")}
	list := []zkembed.ACL{{Perms: zkembed.PermRead, ID: znode.AnyoneID}, {Perms: zkembed.PermAll, ID: bob}}
	_, err := s.Create(ctx, "/d", nil, zkembed.ModePersistent, list)
	require.NoError(t, err)
	got, _, err := s.GetACL(ctx, "/d")
	require.NoError(t, err)
	assert.Equal(t, "bob:x", got[1].ID.ID, "without ADMIN, digests are masked")
	_, err = s.Create(ctx, "/adm", nil, zkembed.ModePersistent, []zkembed.ACL{{Perms: zkembed.PermAdmin, ID: znode.AnyoneID}, {Perms: zkembed.PermRead, ID: bob}})
	require.NoError(t, err)
	got, _, err = s.GetACL(ctx, "/adm")
	require.NoError(t, err, "ADMIN alone is enough for getACL")
	assert.Equal(t, bob, got[1].ID)
}

func TestGetEphemerals(t *testing.T) {
	e := newEnv(t)
	s, other := e.session(t), e.session(t)
	mustCreate(t, s, "/t5", "")
	for _, p := range []string{"/t5/e1", "/t5/e2", "/t5/f"} {
		_, err := s.Create(ctx, p, nil, zkembed.ModeEphemeral, zkembed.OpenACL())
		require.NoError(t, err)
	}
	_, err := other.Create(ctx, "/t5/e3", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	for prefix, want := range map[string][]string{
		"":       {"/t5/e1", "/t5/e2", "/t5/f"},
		" ":      {"/t5/e1", "/t5/e2", "/t5/f"},
		"/":      {"/t5/e1", "/t5/e2", "/t5/f"},
		"/t5/e":  {"/t5/e1", "/t5/e2"},
		"/t5/e1": {"/t5/e1"},
		"/nope":  {},
	} {
		got, err := s.GetEphemerals(ctx, prefix)
		require.NoError(t, err)
		assert.Equal(t, want, got, "prefix %q", prefix)
	}
}

func TestMulti(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	mustCreate(t, s, "/old", "")
	mustCreate(t, s, "/old/kid", "")
	before := e.db.LastZxid()
	res, err := s.Multi(ctx,
		&zkembed.CreateOp{Path: "/m", Data: []byte("a"), ACL: zkembed.OpenACL()},
		&zkembed.SetDataOp{Path: "/m", Data: []byte("bc"), Version: 0},
		&zkembed.CreateOp{Path: "/m/c", ACL: zkembed.OpenACL()},
		&zkembed.DeleteOp{Path: "/m/c", Version: -1},
		&zkembed.CreateOp{Path: "/m/c", ACL: zkembed.OpenACL()}, // delete and recreate
		&zkembed.CheckOp{Path: "/m", Version: 1},
		&zkembed.DeleteOp{Path: "/old/kid", Version: -1}, // a child, then its parent
		&zkembed.DeleteOp{Path: "/old", Version: -1},
	)
	require.NoError(t, err)
	z := before + 1
	assert.Equal(t, z, e.db.LastZxid(), "a multi takes one zxid")
	require.Len(t, res, 8)
	for _, r := range res {
		assert.NoError(t, r.Err)
	}
	assert.Equal(t, "/m", res[0].Path)
	assert.Equal(t, int32(1), res[1].Stat.Version)
	assert.Equal(t, z, res[1].Stat.Mzxid)
	m := stat(t, s, "/m")
	assert.Equal(t, z, m.Czxid)
	assert.Equal(t, int32(1), m.Version)
	assert.Equal(t, int32(3), m.Cversion, "two creates and one delete")
	assert.False(t, exists(t, s, "/old"))

	// A failed multi: ok before the failure, the error at it, runtime
	// inconsistency after; nothing applied, no zxid.
	assertUnchanged(t, e, func() {
		res, err = s.Multi(ctx,
			&zkembed.CreateOp{Path: "/x", ACL: zkembed.OpenACL()},
			&zkembed.SetDataOp{Path: "/x", Version: 0},
			&zkembed.CreateOp{Path: "/m", ACL: zkembed.OpenACL()},
			&zkembed.DeleteOp{Path: "/m", Version: -1})
		require.ErrorIs(t, err, zkembed.ErrNodeExists)
		require.Len(t, res, 4)
		assert.NoError(t, res[0].Err)
		assert.NoError(t, res[1].Err)
		assert.ErrorIs(t, res[2].Err, zkembed.ErrNodeExists)
		assert.ErrorIs(t, res[3].Err, zkembed.ErrRuntimeInconsistency)
		assert.Equal(t, zkembed.Stat{}, res[1].Stat, "no stats from an uncommitted multi")
	})
	assertUnchanged(t, e, func() {
		res, err := s.Multi(ctx)
		require.NoError(t, err, "an empty multi succeeds")
		assert.Empty(t, res)
		_, err = s.Multi(ctx, &zkembed.CreateOp{Path: "/y", ACL: zkembed.OpenACL()}, nil)
		assert.ErrorIs(t, err, zkembed.ErrMarshallingError)
		_, err = s.Multi(ctx, &zkembed.CreateOp{Path: "/y", ACL: zkembed.OpenACL(), TTL: time.Second})
		assert.ErrorIs(t, err, zkembed.ErrBadArguments, "a TTL needs a TTL mode")
	})
	res, err = s.Multi(ctx, &zkembed.CreateOp{Path: "/ttl", Mode: zkembed.ModePersistentWithTTL, TTL: time.Second, ACL: zkembed.OpenACL()},
		&zkembed.CreateOp{Path: "/box", Mode: zkembed.ModeContainer, ACL: zkembed.OpenACL()})
	require.NoError(t, err)
	assert.Equal(t, int64(0), res[0].Stat.EphemeralOwner)
}

func TestMultiRead(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	mustCreate(t, s, "/r", "data")
	mustCreate(t, s, "/r/b", "")
	mustCreate(t, s, "/r/a", "")
	_, err := s.Create(ctx, "/nr", nil, zkembed.ModePersistent, []zkembed.ACL{{Perms: zkembed.PermWrite, ID: znode.AnyoneID}})
	require.NoError(t, err)
	res, err := s.MultiRead(ctx, &zkembed.GetDataOp{Path: "/r"}, &zkembed.GetDataOp{Path: "/nope"},
		&zkembed.GetChildrenOp{Path: "/r"}, &zkembed.GetChildrenOp{Path: "/nr"})
	require.NoError(t, err)
	assert.Equal(t, "data", string(res[0].Data))
	assert.Equal(t, int32(2), res[0].Stat.NumChildren)
	assert.ErrorIs(t, res[1].Err, zkembed.ErrNoNode)
	assert.Equal(t, []string{"a", "b"}, res[2].Children)
	assert.ErrorIs(t, res[3].Err, zkembed.ErrNoAuth)
	_, err = s.MultiRead(ctx, nil)
	assert.ErrorIs(t, err, zkembed.ErrMarshallingError)
}

func TestDeleteAll(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	mustCreate(t, s, "/big", "")
	for i := range 30 {
		mustCreate(t, s, fmt.Sprintf("/big/%d", i), "")
		for j := range 40 {
			mustCreate(t, s, fmt.Sprintf("/big/%d/%d", i, j), "")
		}
	}
	mustCreate(t, s, "/bigger", "") // a sibling sharing the prefix survives
	before := e.db.LastZxid()
	require.NoError(t, s.DeleteAll(ctx, "/big"))
	assert.False(t, exists(t, s, "/big"))
	assert.True(t, exists(t, s, "/bigger"))
	assert.Equal(t, before+2, e.db.LastZxid(), "1231 deletes in two multis of at most 1000")
	assert.ErrorIs(t, s.DeleteAll(ctx, "/big"), zkembed.ErrNoNode)
	assert.ErrorIs(t, s.DeleteAll(ctx, "big"), zkembed.ErrBadArguments)
}

func TestContextAndClose(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	canceled, cancel := contextWithCancel()
	cancel()
	_, err := s.Create(canceled, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL())
	assert.ErrorIs(t, err, errContextCanceled)
	_, _, err = s.GetData(canceled, "/")
	assert.ErrorIs(t, err, errContextCanceled)
	assert.False(t, exists(t, s, "/x"))

	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoError(t, db.Close(), "Close is idempotent")
	_, err = s2.Create(ctx, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL())
	assert.ErrorIs(t, err, zkembed.ErrClosed)
	assert.ErrorIs(t, err, zkembed.ErrConnectionLoss)
	_, err = db.NewSession(ctx, nil)
	assert.ErrorIs(t, err, zkembed.ErrClosed)
}

func TestOpenRejectsBadOptions(t *testing.T) {
	bad := map[string]zkembed.Options{
		"TickTime":          {TickTime: time.Microsecond},
		"MaxSessionTimeout": {MinSessionTimeout: time.Minute, MaxSessionTimeout: time.Second},
		"MaxDataSize":       {MaxDataSize: -1},
		"ZxidCounterBits":   {ZxidCounterBits: 1},
	}
	for field, o := range bad {
		_, err := zkembed.Open("", &o)
		var oe *zkembed.OptionError
		require.True(t, errors.As(err, &oe), field)
		assert.Equal(t, field, oe.Field)
		assert.ErrorIs(t, err, zkembed.ErrBadArguments)
	}
	_, err := zkembed.Open(t.TempDir(), &zkembed.Options{Log: txnlog.NewMem()})
	var oe *zkembed.OptionError
	require.True(t, errors.As(err, &oe), "a data directory brings its own log")
	assert.Equal(t, "Log", oe.Field)
}

func TestDataLimitOption(t *testing.T) {
	e := newEnv(t, func(o *zkembed.Options) { o.MaxDataSize = 4 })
	s := e.session(t)
	mustCreate(t, s, "/ok", "1234")
	_, err := s.Create(ctx, "/no", []byte("12345"), zkembed.ModePersistent, zkembed.OpenACL())
	require.ErrorIs(t, err, zkembed.ErrBadArguments)
	assert.True(t, strings.Contains(err.Error(), "/no") && strings.Contains(err.Error(), "limit is 4"), err.Error())
	_, err = s.SetData(ctx, "/ok", bytes.Repeat([]byte("x"), 5), -1)
	assert.ErrorIs(t, err, zkembed.ErrBadArguments)
}
