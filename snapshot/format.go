package snapshot

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// FormatVersion is the newest format version. Write writes the lowest
// that can hold its session table: version 2 only if a session has a
// known kind, so that a version 1 file loads and writes back to the same
// bytes. Load accepts both.
const FormatVersion = 2

// Limits on one node. Write refuses a tree with a larger node, and Load
// rejects a file that claims one.
const (
	MaxPathSize = 1 << 20  // bytes of a path
	MaxDataSize = 64 << 20 // bytes of a node's data
	// MaxRecordSize bounds one encoded session or node record, ACL
	// included.
	MaxRecordSize = MaxDataSize + MaxPathSize + 1<<20
)

const (
	magic      = "ZKE-SNAP"
	crcSize    = 4
	digestSize = 8
	// chunkTarget is the payload size at which a chunk is cut.
	chunkTarget = 64 << 10
	// maxChunk is the largest payload a valid file can have: one byte short
	// of the target, then the largest record.
	maxChunk = chunkTarget - 1 + MaxRecordSize
	// Smallest encodings, to bound counts by the bytes left.
	minSessionSize = 2  // id, timeout (and a kind in version 2)
	minNodeSize    = 13 // "/" (2), data, acl, 8 integers
	minACLSize     = 3  // perms, empty scheme, empty id
	minTrailerSize = 1 + 1 + digestSize + crcSize
	minHeaderSize  = len(magic) + 1 + 3 + crcSize
	// aclCacheMax bounds the ACL lists Load shares between records.
	aclCacheMax = 4096
	// maxPrealloc bounds slices grown from counts read in a chunk.
	maxPrealloc = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is the cause of every error Load returns for a file that Write
// could not have written. It wraps znode.ErrDataInconsistency.
var ErrCorrupt = fmt.Errorf("snapshot: corrupt: %w", znode.ErrDataInconsistency)

func crc32Update(c uint32, b []byte) uint32 { return crc32.Update(c, castagnoli, b) }

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Session is one entry of the engine's session table.
type Session struct {
	ID      int64
	Timeout int32 // ms
	// Kind says where the session's client is; SessionKindUnknown in a
	// version 1 file.
	Kind txn.SessionKind
}

// --- Encoding ---------------------------------------------------------------

// formatOf returns the lowest format version that can hold sessions.
func formatOf(sessions []Session) byte {
	for _, s := range sessions {
		if s.Kind != txn.SessionKindUnknown {
			return 2
		}
	}
	return 1
}

func appendSession(dst []byte, s Session, version byte) []byte {
	dst = binary.AppendVarint(dst, s.ID)
	dst = binary.AppendVarint(dst, int64(s.Timeout))
	if version >= 2 {
		dst = binary.AppendUvarint(dst, uint64(s.Kind))
	}
	return dst
}

// --- Digest -----------------------------------------------------------------

// Digest is the tree digest (see package tree): the sum, mod 2^64, of
// every node's digest. A snapshot stores the digest of its tree, and Load
// recomputes it.
func Digest(t *tree.Tree) uint64 { return t.ComputeDigest() }

// --- Decoding ---------------------------------------------------------------

// decoder reads records from one verified chunk payload. After the first
// error every read returns a zero value and the error sticks.
type decoder struct {
	b       []byte
	off     int
	base    int64 // file offset of b[0], for messages
	err     error
	acls    map[string][]znode.ACL // shared ACL lists, by encoding
	version byte                   // the file's format version
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corrupt(format, args...)
	}
}

func (d *decoder) at(off int) int64 { return d.base + int64(off) }

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail("truncated: %s at offset %d", what, d.at(d.off))
		return 0
	case n < 0:
		d.fail("%s at offset %d: varint overflows 64 bits", what, d.at(d.off))
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail("%s at offset %d: varint is not minimal", what, d.at(d.off))
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	u := d.uvarint(what)
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) int32(what string) int32 {
	off := d.off
	v := d.varint(what)
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("%s at offset %d: %d does not fit in 32 bits", what, d.at(off), v)
		return 0
	}
	return int32(v)
}

// bytes returns the next n bytes (aliasing the payload), n having been
// read at offset off.
func (d *decoder) bytes(what string, off int, n uint64, limit int) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(limit) {
		d.fail("%s at offset %d: length %d is over the limit of %d", what, d.at(off), n, limit)
		return nil
	}
	if n > uint64(d.remaining()) {
		d.fail("%s at offset %d: length %d is too large for the %d bytes left in the chunk", what, d.at(off), n, d.remaining())
		return nil
	}
	b := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

func (d *decoder) string(what string, limit int) string {
	off := d.off
	n := d.uvarint(what)
	return string(d.bytes(what, off, n, limit))
}

func (d *decoder) skipString(what string) {
	off := d.off
	n := d.uvarint(what)
	d.bytes(what, off, n, len(d.b))
}

func (d *decoder) session() Session {
	s := Session{ID: d.varint("session id"), Timeout: d.int32("session timeout")}
	if d.version >= 2 {
		off := d.off
		if k := d.uvarint("session kind"); k > uint64(txn.SessionRemote) {
			d.fail("session kind at offset %d: unknown kind %d", d.at(off), k)
		} else {
			s.Kind = txn.SessionKind(k)
		}
	}
	return s
}

// acl reads an ACL list. Equal lists share one slice, so a million nodes
// with the same ACL decode it once.
func (d *decoder) acl() []znode.ACL {
	start := d.off
	n := d.uvarint("acl count")
	if d.err == nil && n > uint64(d.remaining()/minACLSize) {
		d.fail("acl count at offset %d: %d is too large for the %d bytes left", d.at(start), n, d.remaining())
	}
	if d.err != nil || n == 0 {
		return nil
	}
	// Find the end without allocating, then look the encoding up.
	body := d.off
	for i := uint64(0); i < n && d.err == nil; i++ {
		d.int32("acl perms")
		d.skipString("acl scheme")
		d.skipString("acl id")
	}
	if d.err != nil {
		return nil
	}
	if acl, ok := d.acls[string(d.b[start:d.off])]; ok {
		return acl
	}
	end := d.off
	d.off = body
	acl := make([]znode.ACL, 0, min(n, maxPrealloc))
	for i := uint64(0); i < n; i++ {
		var a znode.ACL
		a.Perms = znode.Perm(d.int32("acl perms"))
		a.Scheme = d.string("acl scheme", len(d.b))
		a.ID.ID = d.string("acl id", len(d.b))
		acl = append(acl, a)
	}
	if d.off != end || d.err != nil { // cannot happen: the same bytes parsed twice
		d.fail("acl at offset %d: inconsistent parse", d.at(start))
		return nil
	}
	if len(d.acls) < aclCacheMax {
		d.acls[string(d.b[start:end])] = acl
	}
	return acl
}

// node decodes a node record into *r, which must be zero.
func (d *decoder) node(r *tree.NodeRecord) {
	off := d.off
	r.Path = d.string("path", MaxPathSize)
	if d.err == nil && (r.Path == "" || r.Path[0] != '/') {
		d.fail("node at offset %d: path %q is not absolute", d.at(off), r.Path)
	}
	doff := d.off
	switch n := d.varint("data length"); {
	case d.err != nil:
	case n == -1:
	case n < 0:
		d.fail("data length at offset %d: negative length %d", d.at(doff), n)
	default:
		// Aliases the chunk, which is never reused: Restore copies it.
		r.Data = d.bytes("data", doff, uint64(n), MaxDataSize)
	}
	r.ACL = d.acl()
	r.Czxid = znode.Zxid(d.varint("czxid"))
	r.Mzxid = znode.Zxid(d.varint("mzxid"))
	r.Pzxid = znode.Zxid(d.varint("pzxid"))
	r.Ctime = d.varint("ctime")
	r.Mtime = d.varint("mtime")
	r.Version = d.int32("version")
	r.Cversion = d.int32("cversion")
	r.Aversion = d.int32("aversion")
	r.Owner = d.varint("owner")
}

// nodeLess reports whether the node at a sorts before the node at b.
func nodeLess(a, b string) bool { return tree.ComparePaths(a, b) < 0 }
