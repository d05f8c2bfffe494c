package tree

import (
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/btree"
	"github.com/zkembed/zkembed/internal/enc"
	"github.com/zkembed/zkembed/znode"
)

// Tree is a znode tree: writable, or a snapshot (see the package doc).
type Tree struct {
	nodes *btree.BTreeG[*Node]
	ephs  *btree.BTreeG[ephKey] // ephemeral nodes by (owner, path)
	timed *btree.BTreeG[string] // paths of containers and TTL nodes
	zxid  znode.Zxid            // zxid of the last applied transaction

	digest    uint64 // the tree digest, if tracked (see TrackDigest)
	hasDigest bool   // a snapshot of a tree that tracks its digest

	w *writer // nil in a snapshot
}

// writer is the state only a writable tree has.
type writer struct {
	last                  *Tree // the latest snapshot, sharing clean indexes
	dirtyEphs, dirtyTimed bool  // changed since last was taken
	// acls interns ACL lists by an unambiguous key. A Clone interns into
	// its own map and reads through to base, so work abandoned on a clone
	// (a failed multi) leaves nothing behind in the tree it came from.
	acls, base map[string]*aclList
	// digesting is set by TrackDigest; scratch is its encoding buffer.
	digesting bool
	scratch   []byte
	recent    recent // the last few lookups (see recent.go)
	hints     *hints // B-tree path hints by parent (see hints.go); nil in a Clone
}

type ephKey struct {
	owner int64
	path  string
}

func ephLess(a, b ephKey) bool {
	if a.owner != b.owner {
		return a.owner < b.owner
	}
	return a.path < b.path
}

func stringLess(a, b string) bool { return a < b }

var btreeOpts = btree.Options{NoLocks: true}

// openACL is shared by every node created with world:anyone/ALL, the
// common case, so it costs no interning lookup.
var openACL = &aclList{entries: znode.OpenACL()}

// New returns a writable tree holding ZooKeeper's built-in nodes: "/",
// "/zookeeper", "/zookeeper/quota" and "/zookeeper/config", with all-zero
// stats as on a fresh server. /zookeeper/config is read-only to everyone and
// has aversion -1.
func New() *Tree {
	t := &Tree{
		nodes: btree.NewBTreeGOptions(less, btreeOpts),
		ephs:  btree.NewBTreeGOptions(ephLess, btreeOpts),
		timed: btree.NewBTreeGOptions(stringLess, btreeOpts),
		w:     &writer{acls: map[string]*aclList{}, hints: newHints()},
	}
	builtin := func(path string, children int32, acl *aclList, aversion int32) {
		t.nodes.Set(&Node{path: path, split: max(lastSlash(path), 0), acl: acl, numChildren: children, aversion: aversion})
	}
	builtin("/", 1, openACL, 0)
	builtin(znode.ZookeeperPath, 2, openACL, 0)
	builtin(znode.QuotaPath, 0, openACL, 0)
	builtin(znode.ConfigPath, 0, t.internACL(znode.ReadACL()), -1)
	return t
}

// probes are reusable lookup keys. A key passed to the B-tree escapes to the
// heap (it reaches the comparison through a func value), so pooling saves an
// allocation on every read.
var probes = sync.Pool{New: func() any { return new(Node) }}

// Get returns the node at path, or nil. Like ZooKeeper, it does not validate
// the path (an invalid path is simply not found), and "" is the root's alias.
func (t *Tree) Get(path string) *Node {
	if path == "" {
		path = "/"
	}
	if t.w != nil {
		if e := t.w.recent.find(path); e != nil {
			return e.node
		}
	}
	split := lastSlash(path)
	if split < 0 {
		return nil
	}
	p := probes.Get().(*Node)
	p.path, p.split = path, split
	var n *Node
	if t.w != nil {
		n, _ = t.nodes.GetHint(p, t.w.hintFor(p.parentKey()))
		t.w.recent.remember(path, n)
	} else {
		n, _ = t.nodes.Get(p)
	}
	p.path = ""
	probes.Put(p)
	return n
}

// childPivot is the smallest key among the children of path.
func childPivot(path string) *Node {
	if path == "/" {
		return &Node{path: "/", split: 0} // the root itself; skipped by callers
	}
	// (path, "") : a pseudo-path whose last slash is at len(path).
	return &Node{path: path + "/", split: int32(len(path))}
}

// Children calls fn with each direct child of the node at path, in name
// order, until fn returns false. It visits nothing but the children.
func (t *Tree) Children(path string, fn func(child *Node) bool) {
	if path == "" {
		path = "/"
	}
	parentKey := path
	if path == "/" {
		parentKey = ""
	}
	t.nodes.Ascend(childPivot(path), func(n *Node) bool {
		if n.parentKey() != parentKey {
			return false
		}
		if n.split == 0 && n.path == "/" {
			return true
		}
		return fn(n)
	})
}

// ChildNames returns the names of the direct children of n, a node of t,
// sorted. (It takes the node, which callers have already looked up, to
// size the result without a second lookup.)
func (t *Tree) ChildNames(n *Node) []string {
	names := make([]string, 0, n.numChildren)
	t.Children(n.path, func(c *Node) bool {
		names = append(names, c.Name())
		return true
	})
	return names
}

// CountDescendants returns the number of nodes below path, at any depth.
func (t *Tree) CountDescendants(path string) int {
	if path == "" || path == "/" {
		return t.nodes.Len() - 1
	}
	count := 0
	var walk func(p string)
	walk = func(p string) {
		t.Children(p, func(c *Node) bool {
			count++
			if c.numChildren > 0 {
				walk(c.path)
			}
			return true
		})
	}
	walk(path)
	return count
}

// Walk calls fn with every node in (parent, name) order until it returns false.
func (t *Tree) Walk(fn func(n *Node) bool) { t.nodes.Scan(fn) }

// Ephemerals calls fn with the path of each ephemeral node owned by session,
// in path order, until fn returns false.
func (t *Tree) Ephemerals(session int64, fn func(path string) bool) {
	t.ephs.Ascend(ephKey{owner: session}, func(k ephKey) bool {
		return k.owner == session && fn(k.path)
	})
}

// EphemeralCount returns the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int { return t.ephs.Len() }

// EphemeralsWithPrefix returns the session's ephemeral paths that start with
// prefix (a plain string prefix, as in ZooKeeper's getEphemerals).
func (t *Tree) EphemeralsWithPrefix(session int64, prefix string) []string {
	paths := []string{}
	t.Ephemerals(session, func(p string) bool {
		if strings.HasPrefix(p, prefix) {
			paths = append(paths, p)
		}
		return true
	})
	return paths
}

// Timed calls fn with each container and TTL node until it returns false.
func (t *Tree) Timed(fn func(n *Node) bool) {
	t.timed.Scan(func(path string) bool {
		if n := t.Get(path); n != nil {
			return fn(n)
		}
		return true
	})
}

// Len returns the number of nodes, the root and built-in nodes included.
func (t *Tree) Len() int { return t.nodes.Len() }

// Zxid returns the zxid of the last transaction applied to the tree.
func (t *Tree) Zxid() znode.Zxid { return t.zxid }

// Snapshot returns an immutable view of t as it is now, safe for concurrent
// readers while t goes on changing. It is O(1) and allocates two objects.
// REQUIRES: t is writable.
func (t *Tree) Snapshot() *Tree {
	s := &Tree{nodes: t.nodes.Copy(), zxid: t.zxid, digest: t.digest, hasDigest: t.w.digesting}
	w := t.w
	if w.last == nil || w.dirtyEphs {
		s.ephs = t.ephs.Copy()
	} else {
		s.ephs = w.last.ephs
	}
	if w.last == nil || w.dirtyTimed {
		s.timed = t.timed.Copy()
	} else {
		s.timed = w.last.timed
	}
	w.last, w.dirtyEphs, w.dirtyTimed = s, false, false
	return s
}

// Clone returns an independent writable copy of t, for work that may be
// abandoned (a multi is prepared on a clone). It keeps no path hints: it
// lives for a few lookups, fewer than would repay its hint table.
// REQUIRES: t is writable.
func (t *Tree) Clone() *Tree { return t.writableCopy(t.w.acls) }

// Writable returns a writable copy of the snapshot t. Like a snapshot and
// the tree it came from, the two share every node until the copy replaces
// one. The copy does not track the digest, and interns ACLs into a map of
// its own. The engine uses it to bring a read root up to date with records
// applied since it was taken, without touching the working tree.
// REQUIRES: t is a snapshot, and no other goroutine calls Writable on t at
// the same time (copying a B-tree marks it; readers of t are unaffected).
func (t *Tree) Writable() *Tree {
	c := t.writableCopy(nil)
	c.w.hints = newHints()
	return c
}

// writableCopy returns a writable tree sharing t's nodes, without path
// hints, which interns ACLs into a map of its own and reads through to
// base.
func (t *Tree) writableCopy(base map[string]*aclList) *Tree {
	return &Tree{
		nodes: t.nodes.Copy(),
		ephs:  t.ephs.Copy(),
		timed: t.timed.Copy(),
		zxid:  t.zxid,
		w:     &writer{acls: map[string]*aclList{}, base: base},
	}
}

// internACL returns the shared aclList equal to entries.
func (t *Tree) internACL(entries []znode.ACL) *aclList {
	if len(entries) == 1 && entries[0] == openACL.entries[0] {
		return openACL
	}
	// The record encoding: length-prefixed, so unambiguous (ids may hold
	// any byte).
	key := enc.AppendACL(nil, entries)
	if l, ok := t.w.acls[string(key)]; ok {
		return l
	}
	if l, ok := t.w.base[string(key)]; ok {
		return l
	}
	l := &aclList{entries: append([]znode.ACL(nil), entries...)}
	t.w.acls[string(key)] = l
	return l
}

// DeletionOrder returns the paths of the session's ephemerals in the order
// a closeSession deletes them: reverse path order. Nil if there are none.
func (t *Tree) DeletionOrder(session int64) []string {
	var paths []string
	t.Ephemerals(session, func(p string) bool {
		paths = append(paths, p)
		return true
	})
	slices.Reverse(paths)
	return paths
}
