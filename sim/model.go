package sim

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// Model is the reference model: a plain map of nodes that implements
// ZooKeeper's rules for the writes Op describes (SEMANTICS.md §2–§7) on
// its own, in the simplest way, so that an engine can be checked against
// it step by step. It knows two ACLs, world:anyone:cdrwa and
// world:anyone:r, and models reaping (Reap) but not watches, which the
// simulator derives from the changes a write makes.
type Model struct {
	nodes map[string]*mnode
	// Zxid is the zxid of the last transaction.
	Zxid znode.Zxid
}

type mnode struct {
	data                             []byte
	readOnly                         bool // ACL world:anyone:r, else world:anyone:cdrwa
	czxid, mzxid, pzxid              znode.Zxid
	ctime, mtime                     int64
	version, cv, aversion, nchildren int32
	owner                            int64 // raw: session, container or TTL encoding
}

// NewModel returns the tree of a fresh engine.
func NewModel() *Model {
	empty := []byte{} // the built-in nodes hold empty data, not null
	return &Model{nodes: map[string]*mnode{
		"/": {data: empty, nchildren: 1}, "/zookeeper": {data: empty, nchildren: 2},
		"/zookeeper/quota": {data: empty}, "/zookeeper/config": {data: empty, readOnly: true, aversion: -1},
	}}
}

// Clone returns an independent copy.
func (m *Model) Clone() *Model {
	c := &Model{nodes: map[string]*mnode{}, Zxid: m.Zxid}
	for p, n := range m.nodes {
		cp := *n
		c.nodes[p] = &cp
	}
	return c
}

// Paths returns every node's path, sorted.
func (m *Model) Paths() []string { return slices.Sorted(maps.Keys(m.nodes)) }

// Node returns a node's data, Stat and child count; ok is false if it
// does not exist.
func (m *Model) Node(path string) (data []byte, st zkembed.Stat, ok bool) {
	n := m.nodes[path]
	if n == nil {
		return nil, zkembed.Stat{}, false
	}
	return n.data, n.stat(), true
}

func parent(path string) string {
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

// Op is a write as the model and the engine both take it. Kind is
// "create", "delete", "set" or "acl"; in a multi, "acl" becomes a check
// of the data version.
type Op struct {
	Kind     string
	Path     string
	Mode     zkembed.CreateMode
	Data     []byte
	Version  int32
	ReadOnly bool          // the ACL to create or set: world:anyone:r instead of cdrwa
	TTL      time.Duration // of a TTL node
}

// String renders the op for histories and failure messages.
func (op Op) String() string {
	switch op.Kind {
	case "create":
		return fmt.Sprintf("create %s mode=%d data=%q ro=%v", op.Path, op.Mode, op.Data, op.ReadOnly)
	case "set":
		return fmt.Sprintf("set %s data=%q v=%d", op.Path, op.Data, op.Version)
	case "acl":
		return fmt.Sprintf("acl %s ro=%v v=%d", op.Path, op.ReadOnly, op.Version)
	}
	return fmt.Sprintf("%s %s v=%d", op.Kind, op.Path, op.Version)
}

// ttls are the TTLs RandomOp gives TTL nodes: some expire within a run's
// clock jumps, some never do.
var ttls = []time.Duration{500 * time.Millisecond, 5 * time.Second, time.Hour}

// Apply runs one write at zxid z and time t (ms) for session; it returns
// the final path and the error code. It changes the model only on
// success, and does not advance Zxid (the caller does, on success).
func (m *Model) Apply(op Op, z znode.Zxid, t int64, session int64) (string, znode.Code) {
	switch op.Kind {
	case "create":
		parent := m.nodes[parent(op.Path)]
		if parent == nil {
			return "", znode.CodeNoNode
		}
		if !parent.allows(znode.PermCreate) {
			return "", znode.CodeNoAuth
		}
		path := op.Path
		if op.Mode.IsSequential() {
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
		case op.Mode.IsEphemeral():
			owner = session
		case op.Mode.IsContainer():
			owner = znode.ContainerOwner
		case op.Mode.IsTTL():
			owner = znode.TTLOwner(op.TTL.Milliseconds())
		}
		m.nodes[path] = &mnode{data: op.Data, readOnly: op.ReadOnly, czxid: z, mzxid: z, pzxid: z, ctime: t, mtime: t, owner: owner}
		parent.cv++
		parent.nchildren++
		parent.pzxid = z
		return path, znode.CodeOK
	case "delete":
		parent := m.nodes[parent(op.Path)]
		if parent == nil {
			return "", znode.CodeNoNode
		}
		if !parent.allows(znode.PermDelete) {
			return "", znode.CodeNoAuth
		}
		n := m.nodes[op.Path]
		if n == nil {
			return "", znode.CodeNoNode
		}
		if op.Version != -1 && op.Version != n.version {
			return "", znode.CodeBadVersion
		}
		if n.nchildren > 0 {
			return "", znode.CodeNotEmpty
		}
		m.remove(op.Path, z)
		return op.Path, znode.CodeOK
	case "set":
		n := m.nodes[op.Path]
		if n == nil {
			return "", znode.CodeNoNode
		}
		if !n.allows(znode.PermWrite) {
			return "", znode.CodeNoAuth
		}
		if op.Version != -1 && op.Version != n.version {
			return "", znode.CodeBadVersion
		}
		n.data, n.version, n.mzxid, n.mtime = op.Data, n.version+1, z, t
		return op.Path, znode.CodeOK
	case "acl":
		n := m.nodes[op.Path]
		if n == nil {
			return "", znode.CodeNoNode
		}
		if !n.allows(znode.PermAdmin) {
			return "", znode.CodeNoAuth
		}
		if op.Version != -1 && op.Version != n.aversion {
			return "", znode.CodeBadVersion
		}
		n.readOnly, n.aversion = op.ReadOnly, n.aversion+1
		return op.Path, znode.CodeOK
	}
	panic("sim: unknown op kind " + op.Kind)
}

// ApplyMulti runs ops as one multi at zxid z: all or nothing. It returns
// the first failing op's code (CodeOK if none) and, on success, the path
// each op made or touched, commits them to the model and advances Zxid.
func (m *Model) ApplyMulti(ops []Op, z znode.Zxid, t int64, session int64) ([]string, znode.Code) {
	scratch := m.Clone()
	paths := make([]string, len(ops))
	for i, op := range ops {
		if op.Kind == "acl" { // a check op
			n := scratch.nodes[op.Path]
			switch {
			case n == nil:
				return nil, znode.CodeNoNode
			case op.Version != -1 && op.Version != n.version:
				return nil, znode.CodeBadVersion
			}
			paths[i] = op.Path
			continue
		}
		p, code := scratch.Apply(op, z, t, session)
		if code != znode.CodeOK {
			return nil, code
		}
		paths[i] = p
	}
	*m = *scratch
	m.Zxid = z
	return paths, znode.CodeOK
}

func (m *Model) remove(path string, z znode.Zxid) {
	delete(m.nodes, path)
	p := m.nodes[parent(path)]
	p.nchildren--
	p.pzxid = max(p.pzxid, z)
}

// CloseSession deletes the session's ephemerals in one new transaction
// (as closeSession does: it takes a zxid even with no ephemerals) and
// returns their paths in the order deleted: reverse path order, the
// engine's (ZooKeeper's is a hash set's).
func (m *Model) CloseSession(session int64) []string {
	m.Zxid++
	var gone []string
	for _, p := range m.Paths() {
		if m.nodes[p].owner == session {
			gone = append(gone, p)
		}
	}
	slices.Reverse(gone)
	for _, p := range gone {
		m.remove(p, m.Zxid)
	}
	return gone
}

// Reap deletes what a reaping pass at time now (ms) deletes, each node in
// a transaction of its own, and returns their paths in the order deleted.
// ZooKeeper's ContainerManager rules: a container without children that
// has had one (stored cversion > 0); a TTL node without children whose
// mtime is more than its TTL ago. Candidates are chosen before any is
// deleted, so a parent emptied by this pass waits for the next; they are
// deleted in path order, as the engine does (ZooKeeper's order is that of
// a hash set, so any fixed order is as faithful).
func (m *Model) Reap(now int64) []string {
	var doomed []string
	for p, n := range m.nodes {
		if n.nchildren != 0 {
			continue
		}
		switch znode.KindOf(n.owner) {
		case znode.KindContainer:
			if n.cv > 0 {
				doomed = append(doomed, p)
			}
		case znode.KindTTL:
			if now-n.mtime > znode.TTLOf(n.owner).Milliseconds() {
				doomed = append(doomed, p)
			}
		}
	}
	slices.Sort(doomed)
	for _, p := range doomed {
		m.Zxid++
		m.remove(p, m.Zxid)
	}
	return doomed
}

// Paths the random ops touch: under the root, under /zookeeper (where
// writes are refused or read-only), deep enough for NotEmpty and
// NoChildrenForEphemerals.
var opPaths = []string{"/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/zookeeper/u", "/zookeeper/config/x"}

// RandomOp draws a write that may or may not succeed on m.
func RandomOp(rng *rand.Rand, m *Model) Op {
	op := Op{Path: opPaths[rng.IntN(len(opPaths))], Data: []byte(fmt.Sprint(rng.IntN(100))), ReadOnly: rng.IntN(8) == 0}
	if rng.IntN(4) == 0 {
		op.Data = nil
	}
	// Versions: any, the current one, or a wrong one.
	current := int32(0)
	if n := m.nodes[op.Path]; n != nil {
		current = n.version
	}
	op.Version = []int32{-1, current, current + 1}[rng.IntN(3)]
	switch rng.IntN(6) {
	case 0, 1:
		op.Kind = "create"
		op.Mode = zkembed.CreateMode(rng.IntN(6))
		if op.Mode == zkembed.ModePersistentWithTTL { // the TTL modes go through CreateTTL
			op.Mode = zkembed.ModePersistentSequentialWithTTL - zkembed.CreateMode(rng.IntN(2))
			op.TTL = ttls[rng.IntN(len(ttls))]
		}
		if op.Mode.IsSequential() {
			op.Path += "/s-"
		}
	case 2:
		op.Kind = "delete"
	case 3, 4:
		op.Kind = "set"
	case 5:
		op.Kind = "acl"
		if n := m.nodes[op.Path]; n != nil {
			op.Version = []int32{-1, n.aversion, n.aversion + 1}[rng.IntN(3)]
		}
	}
	return op
}

func (op Op) acl() []zkembed.ACL {
	if op.ReadOnly {
		return zkembed.ReadACL()
	}
	return zkembed.OpenACL()
}

// Write runs op on s as one request; it returns the final path.
func (op Op) Write(ctx context.Context, s *zkembed.Session) (string, error) {
	switch op.Kind {
	case "create":
		if op.Mode.IsTTL() {
			p, _, err := s.CreateTTL(ctx, op.Path, op.Data, op.Mode, op.acl(), op.TTL)
			return p, err
		}
		return s.Create(ctx, op.Path, op.Data, op.Mode, op.acl())
	case "delete":
		return op.Path, s.Delete(ctx, op.Path, op.Version)
	case "set":
		_, err := s.SetData(ctx, op.Path, op.Data, op.Version)
		return op.Path, err
	case "acl":
		_, err := s.SetACL(ctx, op.Path, op.acl(), op.Version)
		return op.Path, err
	}
	panic("sim: unknown op kind " + op.Kind)
}

// MultiOp returns op as an operation of a multi ("acl": a check).
func (op Op) MultiOp() zkembed.Op {
	switch op.Kind {
	case "create":
		c := &zkembed.CreateOp{Path: op.Path, Data: op.Data, Mode: op.Mode, ACL: op.acl()}
		if op.Mode.IsTTL() {
			c.TTL = op.TTL
		}
		return c
	case "delete":
		return &zkembed.DeleteOp{Path: op.Path, Version: op.Version}
	case "set":
		return &zkembed.SetDataOp{Path: op.Path, Data: op.Data, Version: op.Version}
	}
	return &zkembed.CheckOp{Path: op.Path, Version: op.Version}
}
