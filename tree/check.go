package tree

import (
	"errors"
	"fmt"
	"math"

	"github.com/zkembed/zkembed/znode"
)

// Check verifies every structural invariant of t and returns all violations
// joined, or nil:
//   - every node but the root has a parent, and no ephemeral has children;
//   - numChildren equals the number of direct children;
//   - the stored cversion of a node made by create is at least its number of
//     children (each was a successful create), unless it stuck at int32 max;
//   - czxid ≤ mzxid ≤ tree zxid, czxid ≤ pzxid ≤ tree zxid (times are not
//     checked: they are the wall clock's, which may step back between a
//     create and a setData, as it may under ZooKeeper);
//   - the ephemeral index holds exactly the ephemeral nodes, and the timed
//     index exactly the containers and TTL nodes;
//   - every path is valid;
//   - a tracked digest (TrackDigest) equals the digest of the nodes.
//
// Tests call it at cleanup; it is O(n).
func (t *Tree) Check() error {
	var errs []error
	bad := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	children := map[string]int32{}
	ephs, timed := 0, 0
	t.Walk(func(n *Node) bool {
		if n.path != "/" {
			parent, _ := znode.Split(n.path)
			children[parent]++
			if p := t.Get(parent); p == nil {
				bad("%s: no parent", n.path)
			} else if p.Kind() == znode.KindEphemeral {
				bad("%s: child of ephemeral %s", n.path, parent)
			}
		}
		if err := znode.ValidatePath(n.path); err != nil {
			bad("%s: %v", n.path, err)
		}
		if n.split != lastSlash(n.path) && n.path != "/" {
			bad("%s: split %d", n.path, n.split)
		}
		if n.czxid > n.mzxid || n.mzxid > t.zxid || n.czxid > n.pzxid || n.pzxid > t.zxid {
			bad("%s: zxids c=%v m=%v p=%v tree=%v", n.path, n.czxid, n.mzxid, n.pzxid, t.zxid)
		}
		switch n.Kind() {
		case znode.KindEphemeral:
			ephs++
			if _, ok := t.ephs.Get(ephKey{owner: n.owner, path: n.path}); !ok {
				bad("%s: ephemeral of 0x%x not indexed", n.path, n.owner)
			}
		case znode.KindContainer, znode.KindTTL:
			timed++
			if _, ok := t.timed.Get(n.path); !ok {
				bad("%s: container/TTL not indexed", n.path)
			}
		}
		return true
	})
	t.Walk(func(n *Node) bool {
		if got := children[n.path]; got != n.numChildren {
			bad("%s: numChildren %d, has %d", n.path, n.numChildren, got)
		}
		builtin := n.czxid == 0
		if !builtin && n.cversion < n.numChildren && n.cversion != math.MaxInt32 {
			bad("%s: stored cversion %d < numChildren %d", n.path, n.cversion, n.numChildren)
		}
		return true
	})
	if t.ephs.Len() != ephs {
		bad("ephemeral index has %d entries, tree has %d ephemerals", t.ephs.Len(), ephs)
	}
	if t.timed.Len() != timed {
		bad("timed index has %d entries, tree has %d containers/TTL nodes", t.timed.Len(), timed)
	}
	if d, ok := t.Digest(); ok {
		if got := t.ComputeDigest(); got != d {
			bad("tracked digest %#016x, nodes digest to %#016x", d, got)
		}
	}
	return errors.Join(errs...)
}
