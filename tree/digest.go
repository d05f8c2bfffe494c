package tree

import (
	"encoding/binary"

	"github.com/zkembed/zkembed/internal/enc"
)

// The tree digest.
//
// A node's digest is the CRC-64 (ECMA) of its record encoding (AppendRecord:
// path, data with nil apart from empty, ACL, and every persisted stat field,
// raw), passed through the SplitMix64 finalizer so that sums of digests do
// not inherit the CRC's linearity. The tree digest is the sum, mod 2^64, of
// the digests of all its nodes, the built-in ones included (unlike
// ZooKeeper's digest, which skips /zookeeper's children).
//
// Being a sum, it can be kept up to date as the tree changes: a change
// subtracts the old node's digest and adds the new one's. A tree does so
// once TrackDigest is called; the engine turns it on when it has a log, so
// every logged record can carry the digest of the tree after it and replay
// can prove it rebuilt the same tree (as ZooKeeper's zookeeper.digest.enabled
// does). An in-memory tree pays nothing.

// AppendRecord appends r's canonical encoding to dst: the snapshot record
// format, and the input of the node's digest.
//
//	path      uvarint length, bytes
//	data      varint length (-1 for nil), bytes
//	acl       uvarint count, then per entry perms (varint), scheme, id
//	          (each a uvarint length and bytes)
//	stat      varints: czxid, mzxid, pzxid, ctime, mtime, version,
//	          cversion (stored), aversion, owner (raw)
func AppendRecord(dst []byte, r *NodeRecord) []byte {
	dst = enc.AppendString(dst, r.Path)
	dst = enc.AppendData(dst, r.Data)
	dst = enc.AppendACL(dst, r.ACL)
	for _, v := range [...]int64{int64(r.Czxid), int64(r.Mzxid), int64(r.Pzxid), r.Ctime, r.Mtime,
		int64(r.Version), int64(r.Cversion), int64(r.Aversion), r.Owner} {
		dst = binary.AppendVarint(dst, v)
	}
	return dst
}

// EncodedDigest is the digest of a node given its AppendRecord encoding.
func EncodedDigest(b []byte) uint64 {
	x := crc64ECMA(b)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// NodeDigest is the digest of the node r describes.
func NodeDigest(r *NodeRecord) uint64 {
	var buf [256]byte
	return EncodedDigest(AppendRecord(buf[:0], r))
}

// ComputeDigest returns the tree digest, computed from every node.
func (t *Tree) ComputeDigest() uint64 {
	var sum uint64
	var buf []byte
	t.Walk(func(n *Node) bool {
		r := n.RecordView()
		buf = AppendRecord(buf[:0], &r)
		sum += EncodedDigest(buf)
		return true
	})
	return sum
}

// TrackDigest makes t keep its digest up to date from now on, and returns
// it. It computes the digest once, from every node; after that each change
// costs a digest of each node it replaces or adds. Snapshots of t carry the
// digest of their moment; a Clone does not track (the engine prepares
// multis on clones and throws them away). REQUIRES: t is writable.
func (t *Tree) TrackDigest() uint64 {
	t.digest = t.ComputeDigest()
	t.w.digesting = true
	return t.digest
}

// Digest returns the tree digest and true if t tracks it (see TrackDigest),
// or 0 and false.
func (t *Tree) Digest() (uint64, bool) { return t.digest, t.digesting() }

func (t *Tree) digesting() bool {
	if t.w == nil {
		return t.hasDigest
	}
	return t.w.digesting
}

// nodeDigest is NodeDigest of a tree node, encoded in the writer's scratch
// buffer.
func (t *Tree) nodeDigest(n *Node) uint64 {
	r := n.RecordView()
	t.w.scratch = AppendRecord(t.w.scratch[:0], &r)
	return EncodedDigest(t.w.scratch)
}

// put stores n, replacing old (nil for a new node), and keeps the digest
// and the memo of recent lookups.
func (t *Tree) put(old, n *Node) {
	t.nodes.SetHint(n, t.w.hintFor(n.parentKey()))
	r := &t.w.recent
	if !t.w.digesting {
		r.remember(n.path, n)
		return
	}
	if old != nil {
		t.digest -= t.memoDigest(r.find(old.path), old)
	}
	e := r.remember(n.path, n)
	e.digest, e.hasDigest = t.nodeDigest(n), true
	t.digest += e.digest
}

// remove deletes n and keeps the digest and the memo.
func (t *Tree) remove(n *Node) {
	t.nodes.DeleteHint(n, t.w.hintFor(n.parentKey()))
	if t.w.digesting {
		t.digest -= t.memoDigest(t.w.recent.find(n.path), n)
	}
	t.w.recent.remember(n.path, nil)
}

// memoDigest is n's digest, taken from e when e remembers it for n.
func (t *Tree) memoDigest(e *recentEntry, n *Node) uint64 {
	if e != nil && e.node == n && e.hasDigest {
		return e.digest
	}
	return t.nodeDigest(n)
}
