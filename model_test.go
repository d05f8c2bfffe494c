package zkembed_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// The reference model: a plain map of nodes that implements ZooKeeper's
// rules (SEMANTICS.md §2–§7) on its own, in the simplest way, so that the
// engine can be checked against it step by step.
type mnode struct {
	data                             []byte
	readOnly                         bool // ACL is world:anyone READ, else world:anyone ALL
	czxid, mzxid, pzxid              znode.Zxid
	ctime, mtime                     int64
	version, cv, aversion, nchildren int32
	owner                            int64 // raw: session, container or TTL encoding
}

type model struct {
	nodes map[string]*mnode
	zxid  znode.Zxid
}

func newModel() *model {
	empty := []byte{} // the built-in nodes hold empty data, not null
	m := &model{nodes: map[string]*mnode{
		"/": {data: empty, nchildren: 1}, "/zookeeper": {data: empty, nchildren: 2},
		"/zookeeper/quota": {data: empty}, "/zookeeper/config": {data: empty, readOnly: true, aversion: -1},
	}}
	return m
}

func (m *model) clone() *model {
	c := &model{nodes: map[string]*mnode{}, zxid: m.zxid}
	for p, n := range m.nodes {
		cp := *n
		c.nodes[p] = &cp
	}
	return c
}

func mparent(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i == 0 {
		return "/"
	}
	return path[:i]
}

func (n *mnode) allows(perm znode.Perm) bool { return !n.readOnly || perm == znode.PermRead }

func (n *mnode) stat() zkembed.Stat {
	return zkembed.Stat{Czxid: n.czxid, Mzxid: n.mzxid, Ctime: n.ctime, Mtime: n.mtime, Version: n.version,
		Cversion: 2*n.cv - n.nchildren, Aversion: n.aversion, EphemeralOwner: znode.VisibleOwner(n.owner),
		DataLength: int32(len(n.data)), NumChildren: n.nchildren, Pzxid: n.pzxid}
}

// mop is a write as the model and the engine both take it.
type mop struct {
	kind     string // create, delete, set, acl
	path     string
	mode     zkembed.CreateMode
	data     []byte
	version  int32
	readOnly bool
}

// apply runs one write at zxid z and time t; it returns the final path and
// the error code.
func (m *model) apply(op mop, z znode.Zxid, t int64, session int64) (string, znode.Code) {
	switch op.kind {
	case "create":
		parent := m.nodes[mparent(op.path)]
		if parent == nil {
			return "", znode.CodeNoNode
		}
		if !parent.allows(znode.PermCreate) {
			return "", znode.CodeNoAuth
		}
		path := op.path
		if op.mode.IsSequential() {
			path = fmt.Sprintf("%s%010d", path, parent.cv)
		}
		if m.nodes[path] != nil {
			return "", znode.CodeNodeExists
		}
		if znode.KindOf(parent.owner) == znode.KindEphemeral {
			return "", znode.CodeNoChildrenForEphemerals
		}
		owner := int64(0)
		switch {
		case op.mode.IsEphemeral():
			owner = session
		case op.mode.IsContainer():
			owner = znode.ContainerOwner
		case op.mode.IsTTL():
			owner = znode.TTLOwner(time.Hour.Milliseconds())
		}
		m.nodes[path] = &mnode{data: op.data, readOnly: op.readOnly, czxid: z, mzxid: z, pzxid: z, ctime: t, mtime: t, owner: owner}
		parent.cv++
		parent.nchildren++
		parent.pzxid = z
		return path, znode.CodeOK
	case "delete":
		parent := m.nodes[mparent(op.path)]
		if parent == nil {
			return "", znode.CodeNoNode
		}
		if !parent.allows(znode.PermDelete) {
			return "", znode.CodeNoAuth
		}
		n := m.nodes[op.path]
		if n == nil {
			return "", znode.CodeNoNode
		}
		if op.version != -1 && op.version != n.version {
			return "", znode.CodeBadVersion
		}
		if n.nchildren > 0 {
			return "", znode.CodeNotEmpty
		}
		m.remove(op.path, z)
		return op.path, znode.CodeOK
	case "set":
		n := m.nodes[op.path]
		if n == nil {
			return "", znode.CodeNoNode
		}
		if !n.allows(znode.PermWrite) {
			return "", znode.CodeNoAuth
		}
		if op.version != -1 && op.version != n.version {
			return "", znode.CodeBadVersion
		}
		n.data, n.version, n.mzxid, n.mtime = op.data, n.version+1, z, t
		return op.path, znode.CodeOK
	case "acl":
		n := m.nodes[op.path]
		if n == nil {
			return "", znode.CodeNoNode
		}
		if !n.allows(znode.PermAdmin) {
			return "", znode.CodeNoAuth
		}
		if op.version != -1 && op.version != n.aversion {
			return "", znode.CodeBadVersion
		}
		n.readOnly, n.aversion = op.readOnly, n.aversion+1
		return op.path, znode.CodeOK
	}
	panic(op.kind)
}

func (m *model) remove(path string, z znode.Zxid) {
	delete(m.nodes, path)
	p := m.nodes[mparent(path)]
	p.nchildren--
	p.pzxid = max(p.pzxid, z)
}

// closeSession deletes the session's ephemerals under one new zxid.
func (m *model) closeSession(session int64) {
	m.zxid++
	for _, p := range slices.Sorted(maps.Keys(m.nodes)) {
		if m.nodes[p].owner == session {
			m.remove(p, m.zxid)
		}
	}
}

var modelPaths = []string{"/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/zookeeper/u", "/zookeeper/config/x"}

func randomOp(rng *rand.Rand, m *model) mop {
	op := mop{path: modelPaths[rng.IntN(len(modelPaths))], data: []byte(fmt.Sprint(rng.IntN(100))), readOnly: rng.IntN(8) == 0}
	if rng.IntN(4) == 0 {
		op.data = nil
	}
	// Versions: any, the current one, or a wrong one.
	current := int32(0)
	if n := m.nodes[op.path]; n != nil {
		current = n.version
	}
	op.version = []int32{-1, current, current + 1}[rng.IntN(3)]
	switch rng.IntN(6) {
	case 0, 1:
		op.kind = "create"
		op.mode = zkembed.CreateMode(rng.IntN(6))
		if op.mode == 5 { // the TTL modes go through CreateTTL
			op.mode = zkembed.ModePersistentSequentialWithTTL - zkembed.CreateMode(rng.IntN(2))
		}
		if op.mode.IsSequential() {
			op.path += "/s-"
		}
	case 2:
		op.kind = "delete"
	case 3, 4:
		op.kind = "set"
	case 5:
		op.kind = "acl"
		if n := m.nodes[op.path]; n != nil {
			op.version = []int32{-1, n.aversion, n.aversion + 1}[rng.IntN(3)]
		}
	}
	return op
}

func engineWrite(s *zkembed.Session, op mop) (string, error) {
	list := zkembed.OpenACL()
	if op.readOnly {
		list = zkembed.ReadACL()
	}
	switch op.kind {
	case "create":
		if op.mode.IsTTL() {
			p, _, err := s.CreateTTL(ctx, op.path, op.data, op.mode, list, time.Hour)
			return p, err
		}
		return s.Create(ctx, op.path, op.data, op.mode, list)
	case "delete":
		return op.path, s.Delete(ctx, op.path, op.version)
	case "set":
		_, err := s.SetData(ctx, op.path, op.data, op.version)
		return op.path, err
	case "acl":
		_, err := s.SetACL(ctx, op.path, list, op.version)
		return op.path, err
	}
	panic(op.kind)
}

func toMultiOp(op mop) zkembed.Op {
	list := zkembed.OpenACL()
	if op.readOnly {
		list = zkembed.ReadACL()
	}
	switch op.kind {
	case "create":
		c := &zkembed.CreateOp{Path: op.path, Data: op.data, Mode: op.mode, ACL: list}
		if op.mode.IsTTL() {
			c.TTL = time.Hour
		}
		return c
	case "delete":
		return &zkembed.DeleteOp{Path: op.path, Version: op.version}
	case "set":
		return &zkembed.SetDataOp{Path: op.path, Data: op.data, Version: op.version}
	}
	return &zkembed.CheckOp{Path: op.path, Version: op.version}
}

func TestAgainstModel(t *testing.T) {
	seeds, steps := 150, 150
	if testing.Short() {
		seeds = 20
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, steps) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	e := newEnv(t, func(o *zkembed.Options) { o.ContainerCheckInterval = 24 * time.Hour })
	rng := rand.New(rand.NewPCG(seed, 7))
	m := newModel()
	newSession := func() *zkembed.Session {
		m.zxid++ // createSession
		return e.session(t)
	}
	s := newSession()
	for step := range steps {
		now := e.clk.Now().UnixMilli()
		where := fmt.Sprintf("seed %d step %d", seed, step)
		switch r := rng.IntN(20); {
		case r < 12: // a single write
			op := randomOp(rng, m)
			gotPath, err := engineWrite(s, op)
			wantPath, code := m.apply(op, m.zxid+1, now, s.ID())
			require.Equal(t, code, znode.CodeOf(err), "%s: %+v: %v", where, op, err)
			if code == znode.CodeOK {
				m.zxid++
				require.Equal(t, wantPath, gotPath, where)
			}
		case r < 15: // a multi of 1-3 writes (setACL becomes a check)
			var ops []mop
			for range 1 + rng.IntN(3) {
				ops = append(ops, randomOp(rng, m))
			}
			scratch := m.clone()
			var mops []zkembed.Op
			want := znode.CodeOK
			for _, op := range ops {
				mops = append(mops, toMultiOp(op))
				if want != znode.CodeOK {
					continue
				}
				if op.kind == "acl" { // a check op
					n := scratch.nodes[op.path]
					switch {
					case n == nil:
						want = znode.CodeNoNode
					case op.version != -1 && op.version != n.version:
						want = znode.CodeBadVersion
					}
					continue
				}
				_, want = scratch.apply(op, m.zxid+1, now, s.ID())
			}
			_, err := s.Multi(ctx, mops...)
			require.Equal(t, want, znode.CodeOf(err), "%s: multi %+v: %v", where, ops, err)
			if want == znode.CodeOK {
				scratch.zxid++
				m = scratch
			}
		case r < 16: // a session ends; a new one starts
			require.NoError(t, s.Close(ctx))
			m.closeSession(s.ID())
			s = newSession()
		case r < 17:
			e.clk.Advance(time.Duration(rng.IntN(5000)) * time.Millisecond)
		default: // reads
			p := modelPaths[rng.IntN(len(modelPaths))]
			compareNode(t, where, s, m, p)
		}
	}
	// Finally the whole tree: the same paths, and every node equal.
	var walk func(p string)
	var enginePaths []string
	walk = func(p string) {
		enginePaths = append(enginePaths, p)
		kids, _, err := s.GetChildren(ctx, p)
		require.NoError(t, err)
		for _, k := range kids {
			walk(znode.Join(p, k))
		}
	}
	walk("/")
	require.Equal(t, slices.Sorted(maps.Keys(m.nodes)), slices.Sorted(slices.Values(enginePaths)), "seed %d: the trees hold the same paths", seed)
	for _, p := range enginePaths {
		compareNode(t, fmt.Sprintf("seed %d end", seed), s, m, p)
	}
	require.Equal(t, m.zxid, e.db.LastZxid(), "seed %d: the same number of transactions", seed)
}

func compareNode(t *testing.T, where string, s *zkembed.Session, m *model, p string) {
	t.Helper()
	n := m.nodes[p]
	ok, st, err := s.Exists(ctx, p)
	require.NoError(t, err)
	require.Equal(t, n != nil, ok, "%s: exists %s", where, p)
	data, gst, err := s.GetData(ctx, p)
	if n == nil {
		require.ErrorIs(t, err, zkembed.ErrNoNode, where)
		return
	}
	require.NoError(t, err, where)
	require.Equal(t, n.stat(), st, "%s: stat of %s", where, p)
	require.Equal(t, n.stat(), gst, "%s: getData stat of %s", where, p)
	require.Equal(t, n.data, data, "%s: data of %s", where, p)
	kids, _, err := s.GetChildren(ctx, p)
	require.NoError(t, err)
	require.Len(t, kids, int(n.nchildren), "%s: children of %s", where, p)
}
