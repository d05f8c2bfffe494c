package tree

import (
	"strings"

	"github.com/zkembed/zkembed/znode"
)

// Node is one znode. It is immutable once in a tree; accessors return copies
// where the caller could otherwise modify shared state.
//
// Field order keeps the struct at 112 bytes (a Go size class) on 64-bit
// platforms; see BenchmarkMemory in bench/.
type Node struct {
	path  string
	data  string // a string, not []byte: immutable, and 8 bytes smaller
	acl   *aclList
	czxid znode.Zxid
	mzxid znode.Zxid
	pzxid znode.Zxid
	ctime int64
	mtime int64
	owner int64 // raw ephemeralOwner (session id, container or TTL encoding)

	split       int32 // index of the last '/' in path; 0 for the root
	version     int32
	cversion    int32 // stored cversion: successful child creations
	aversion    int32
	numChildren int32
	nullData    bool // data is ZooKeeper's null buffer, not an empty one
}

// aclList is an interned ACL list shared by every node that has it.
type aclList struct{ entries []znode.ACL }

// Path returns the node's absolute path.
func (n *Node) Path() string { return n.path }

// Name returns the last element of the path ("" for the root).
func (n *Node) Name() string { return n.path[n.split+1:] }

// parentKey is the parent part of the ordering key: the parent path, or ""
// for the root and its children.
func (n *Node) parentKey() string { return n.path[:n.split] }

// Data returns a copy of the node's data; nil for a null buffer.
func (n *Node) Data() []byte {
	if n.nullData {
		return nil
	}
	return []byte(n.data)
}

// DataString returns the data without copying.
func (n *Node) DataString() string { return n.data }

// IsNullData reports whether the data is a null buffer (length -1 on the wire).
func (n *Node) IsNullData() bool { return n.nullData }

// ACL returns the node's ACL list. It is shared: callers must not modify it.
func (n *Node) ACL() []znode.ACL { return n.acl.entries }

// Owner returns the raw ephemeralOwner: a session id, znode.ContainerOwner, a
// TTL encoding, or 0.
func (n *Node) Owner() int64 { return n.owner }

// Kind returns what kind of node this is.
func (n *Node) Kind() znode.OwnerKind { return znode.KindOf(n.owner) }

// StoredCversion returns the number of successful child creations, the
// counter that sequential names and the container rule use.
func (n *Node) StoredCversion() int32 { return n.cversion }

// Version returns the data version.
func (n *Node) Version() int32 { return n.version }

// Aversion returns the ACL version.
func (n *Node) Aversion() int32 { return n.aversion }

// NumChildren returns the number of direct children.
func (n *Node) NumChildren() int32 { return n.numChildren }

// Mtime returns the last modification time in ms.
func (n *Node) Mtime() int64 { return n.mtime }

// Stat returns the node's Stat as a client sees it: the visible cversion is
// 2×stored − numChildren (int32 arithmetic, so it can overflow as in
// ZooKeeper) and container/TTL owners read as 0.
func (n *Node) Stat() znode.Stat {
	dataLen := int32(len(n.data))
	if n.nullData {
		dataLen = 0 // ZooKeeper's Stat reports 0 for a null buffer
	}
	return znode.Stat{
		Czxid:          n.czxid,
		Mzxid:          n.mzxid,
		Ctime:          n.ctime,
		Mtime:          n.mtime,
		Version:        n.version,
		Cversion:       2*n.cversion - n.numChildren,
		Aversion:       n.aversion,
		EphemeralOwner: znode.VisibleOwner(n.owner),
		DataLength:     dataLen,
		NumChildren:    n.numChildren,
		Pzxid:          n.pzxid,
	}
}

// lastSlash returns the split position of path: the index of its last '/',
// or -1 if it has none.
func lastSlash(path string) int32 {
	return int32(strings.LastIndexByte(path, '/'))
}

// less orders nodes by (parent, name). The root "/" has parent "" and name
// "", so it sorts before its children, which also have parent "".
func less(a, b *Node) bool {
	// One three-way compare of the parents: siblings share long parent
	// paths, and != followed by < would scan them twice.
	if c := strings.Compare(a.path[:a.split], b.path[:b.split]); c != 0 {
		return c < 0
	}
	return a.path[a.split+1:] < b.path[b.split+1:]
}
