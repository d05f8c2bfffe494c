package tree

import (
	"fmt"
	"slices"

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

// Restore builds a writable tree at zxid from node records given in any
// order, such as a snapshot's. Children counts and indexes are derived, not
// trusted, and the result must pass Check, so a damaged snapshot fails here
// instead of serving a broken tree. The root must be among the records; the
// built-in nodes are whatever the records say.
func Restore(zxid znode.Zxid, records []NodeRecord) (*Tree, error) {
	t := New()
	t.nodes.Clear()
	t.zxid = zxid
	children := map[string]int32{}
	for _, r := range records {
		if r.Path != "/" {
			parent, _ := znode.Split(r.Path)
			children[parent]++
		}
	}
	// Insert in (parent, name) order: the B-tree then fills its nodes.
	sorted := slices.Clone(records)
	slices.SortFunc(sorted, func(a, b NodeRecord) int {
		x, y := &Node{path: a.Path, split: max(lastSlash(a.Path), 0)}, &Node{path: b.Path, split: max(lastSlash(b.Path), 0)}
		switch {
		case less(x, y):
			return -1
		case less(y, x):
			return 1
		}
		return 0
	})
	for i, r := range sorted {
		if i > 0 && sorted[i-1].Path == r.Path {
			return nil, fmt.Errorf("tree: restore: %s appears twice: %w", r.Path, znode.ErrDataInconsistency)
		}
		if r.Path != "/" {
			if err := znode.ValidatePath(r.Path); err != nil {
				return nil, fmt.Errorf("tree: restore: %w", err)
			}
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
