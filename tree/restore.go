package tree

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/zkembed/zkembed/znode"
)

// NodeRecord is every persisted field of a node, raw: the stored cversion
// and the raw ephemeralOwner, as a snapshot keeps them. Data is nil for
// ZooKeeper's null buffer.
type NodeRecord struct {
	Path                string
	Data                []byte
	ACL                 []znode.ACL
	Czxid, Mzxid, Pzxid znode.Zxid
	Ctime, Mtime        int64
	Version             int32
	Cversion            int32 // stored: successful child creations
	Aversion            int32
	Owner               int64 // raw ephemeralOwner
}

// Record returns the node's persisted fields. Data is a copy; ACL is
// shared and must not be modified.
func (n *Node) Record() NodeRecord {
	return NodeRecord{
		Path: n.path, Data: n.Data(), ACL: n.acl.entries,
		Czxid: n.czxid, Mzxid: n.mzxid, Pzxid: n.pzxid, Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: n.cversion, Aversion: n.aversion, Owner: n.owner,
	}
}

// Restore builds a writable tree at zxid from node records, such as a
// snapshot's. It takes ownership of records and may reorder them; records
// already in (parent, name) order, as Walk gives them, are not sorted again.
// Children counts and indexes are derived, not trusted, and the result must
// pass Check, so a damaged snapshot fails here instead of serving a broken
// tree. The root must be among the records; the built-in nodes are whatever
// the records say.
func Restore(zxid znode.Zxid, records []NodeRecord) (*Tree, error) {
	t := New()
	t.nodes.Clear()
	t.zxid = zxid
	children := make(map[string]int32, len(records)/4)
	for _, r := range records {
		if r.Path != "/" {
			if err := znode.ValidatePath(r.Path); err != nil {
				return nil, fmt.Errorf("tree: restore: %w", err)
			}
			parent, _ := znode.Split(r.Path)
			children[parent]++
		}
	}
	// Insert in (parent, name) order: the B-tree then fills its nodes.
	cmp := func(a, b NodeRecord) int { return ComparePaths(a.Path, b.Path) }
	if !slices.IsSortedFunc(records, cmp) {
		slices.SortFunc(records, cmp)
	}
	for i, r := range records {
		if i > 0 && records[i-1].Path == r.Path {
			return nil, fmt.Errorf("tree: restore: %s appears twice: %w", r.Path, znode.ErrDataInconsistency)
		}
		n := &Node{
			path: r.Path, split: max(lastSlash(r.Path), 0), data: string(r.Data), nullData: r.Data == nil,
			acl: t.internACL(r.ACL), czxid: r.Czxid, mzxid: r.Mzxid, pzxid: r.Pzxid, ctime: r.Ctime, mtime: r.Mtime,
			version: r.Version, cversion: r.Cversion, aversion: r.Aversion, owner: r.Owner, numChildren: children[r.Path],
		}
		t.nodes.Load(n)
		t.index(n, true)
	}
	if t.Get("/") == nil {
		return nil, fmt.Errorf("tree: restore: no root: %w", znode.ErrDataInconsistency)
	}
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("tree: restore: %w: %w", znode.ErrDataInconsistency, err)
	}
	return t, nil
}

// ComparePaths orders paths as the tree orders nodes, (parent, name), without
// building nodes. REQUIRES: a and b are not empty.
func ComparePaths(a, b string) int {
	sa, sb := max(lastSlash(a), 0), max(lastSlash(b), 0)
	if c := strings.Compare(a[:sa], b[:sb]); c != 0 {
		return c
	}
	return strings.Compare(a[sa+1:], b[sb+1:])
}

// RecordView is Record without copying the data: Data views the node's
// immutable bytes and MUST NOT be modified. For readers that only encode or
// hash a node (snapshots, digests), it saves a copy of every node's data.
func (n *Node) RecordView() NodeRecord {
	var data []byte
	switch {
	case n.nullData:
	case n.data == "":
		data = []byte{}
	default:
		data = unsafe.Slice(unsafe.StringData(n.data), len(n.data))
	}
	return NodeRecord{
		Path: n.path, Data: data, ACL: n.acl.entries,
		Czxid: n.czxid, Mzxid: n.mzxid, Pzxid: n.pzxid, Ctime: n.ctime, Mtime: n.mtime,
		Version: n.version, Cversion: n.cversion, Aversion: n.aversion, Owner: n.owner,
	}
}
