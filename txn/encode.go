package txn

// The durable encoding of a Txn, as the transaction log stores it.
//
// A record is, in order:
//
//	version   1 byte            format version, 1 or 2 (see Versions)
//	zxid      varint            Txn.Zxid
//	time      varint            Txn.Time
//	session   varint            Txn.Session
//	flags     1 byte            bit 0: Txn.Multi; bit 1: Txn.HasDigest;
//	                            the other bits are 0
//	count     uvarint           len(Txn.Ops)
//	ops       count × op
//	digest    8 bytes           Txn.Digest, little-endian; only if bit 1
//	crc       4 bytes           CRC-32C (Castagnoli), little-endian, of every
//	                            byte before it, version byte included
//
// and an op is its type (varint) followed by the fields that type uses:
//
//	create              path, data, acl, owner, parentCversion
//	delete              path
//	deleteContainer     path
//	setData             path, data, version
//	setACL              path, acl, version
//	check               path, version
//	createSession       session, timeout, and in version 2 kind
//	closeSession        session, paths
//	epoch               epoch
//
// where
//
//	varint    zigzag varint (encoding/binary), minimal length; int32 fields
//	          must fit in an int32
//	uvarint   unsigned varint (encoding/binary), minimal length
//	string    uvarint length, then the bytes (path, scheme, id)
//	data      varint length, then the bytes; length -1 is nil data, which
//	          differs from empty data as ZooKeeper's null buffer does
//	acl       uvarint count, then per entry: perms (varint), scheme
//	          (string), id (string)
//	paths     uvarint count, then the strings
//	kind      uvarint, a SessionKind: 0 unknown, 1 in-process, 2 remote
//
// Versions. Version 2 added the kind of a created session; nothing else
// differs. Encode writes the lowest version that can hold the record:
// version 2 only when a createSession op has a known kind. Every other
// record, including every record of a log written before kinds, keeps
// its version 1 bytes. Decode reads both versions, a version 1
// createSession with SessionKindUnknown, and rejects a version 2 record
// without a known kind (Encode writes it as version 1).
//
// Every integer has exactly one accepted encoding and unused fields are not
// stored, so Decode accepts only bytes that Encode produces: re-encoding a
// decoded record gives back the same bytes. The record carries no length of
// its own; the log frames it.

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/zkembed/zkembed/internal/enc"
	"github.com/zkembed/zkembed/znode"
)

// FormatVersion is the newest format version, the first byte of a record
// that needs it (see Versions above). Decode accepts it and version 1.
const FormatVersion = 2

// MaxRecordSize is the largest encoded record, in bytes, that Decode
// accepts. Encode does not check it: a writer must refuse, rather than
// store, a record whose encoding is larger.
const MaxRecordSize = 64 << 20

// ErrCorrupt is the cause of every Decode error: the bytes are not a record
// that Encode could have written. It wraps znode.ErrDataInconsistency.
var ErrCorrupt = fmt.Errorf("txn: corrupt record: %w", znode.ErrDataInconsistency)

const (
	crcSize    = 4
	digestSize = 8
	flagMulti  = 1 << 0
	flagDigest = 1 << 1
	// Minimum encoded sizes, used to bound counts by the remaining input.
	minOpSize  = 2 // type + the smallest op body (delete of "", epoch 0)
	minACLSize = 3 // perms + empty scheme + empty id
	minStrSize = 1 // empty string
	// Decode grows slices by appending past this capacity, so a count near
	// its bound allocates no more than the ops actually read need.
	maxPrealloc = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the encoding of t. It reads only the Op fields each op's
// Type uses (see the format above) and ignores the rest. It panics if an op
// has an unknown Type or session Kind, which no valid record has.
func Encode(t *Txn) []byte {
	return AppendEncode(make([]byte, 0, encodedSizeHint(t)), t)
}

// AppendEncode appends the encoding of t to dst and returns the extended
// slice. The checksum covers only the bytes this call appends. It panics,
// as Encode does, on an unknown op Type or session Kind.
func AppendEncode(dst []byte, t *Txn) []byte {
	start := len(dst)
	version := formatOf(t)
	dst = append(dst, version)
	dst = binary.AppendVarint(dst, int64(t.Zxid))
	dst = binary.AppendVarint(dst, t.Time)
	dst = binary.AppendVarint(dst, t.Session)
	var flags byte
	if t.Multi {
		flags |= flagMulti
	}
	if t.HasDigest {
		flags |= flagDigest
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(t.Ops)))
	for i := range t.Ops {
		dst = appendOp(dst, &t.Ops[i], version)
	}
	if t.HasDigest {
		dst = binary.LittleEndian.AppendUint64(dst, t.Digest)
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// formatOf returns the lowest format version that can hold t.
func formatOf(t *Txn) byte {
	for i := range t.Ops {
		if t.Ops[i].Type == TypeCreateSession && t.Ops[i].Kind != SessionKindUnknown {
			return 2
		}
	}
	return 1
}

func appendOp(dst []byte, op *Op, version byte) []byte {
	dst = binary.AppendVarint(dst, int64(op.Type))
	switch op.Type {
	case TypeCreate:
		dst = enc.AppendString(dst, op.Path)
		dst = enc.AppendData(dst, op.Data)
		dst = enc.AppendACL(dst, op.ACL)
		dst = binary.AppendVarint(dst, op.Owner)
		dst = binary.AppendVarint(dst, int64(op.ParentCversion))
	case TypeDelete, TypeDeleteContainer:
		dst = enc.AppendString(dst, op.Path)
	case TypeSetData:
		dst = enc.AppendString(dst, op.Path)
		dst = enc.AppendData(dst, op.Data)
		dst = binary.AppendVarint(dst, int64(op.Version))
	case TypeSetACL:
		dst = enc.AppendString(dst, op.Path)
		dst = enc.AppendACL(dst, op.ACL)
		dst = binary.AppendVarint(dst, int64(op.Version))
	case TypeCheck:
		dst = enc.AppendString(dst, op.Path)
		dst = binary.AppendVarint(dst, int64(op.Version))
	case TypeCreateSession:
		dst = binary.AppendVarint(dst, op.Session)
		dst = binary.AppendVarint(dst, int64(op.Timeout))
		if op.Kind > SessionRemote {
			panic(fmt.Sprintf("txn: encode: unknown session kind %v", op.Kind))
		}
		if version >= 2 {
			dst = binary.AppendUvarint(dst, uint64(op.Kind))
		}
	case TypeCloseSession:
		dst = binary.AppendVarint(dst, op.Session)
		dst = binary.AppendUvarint(dst, uint64(len(op.Paths)))
		for _, p := range op.Paths {
			dst = enc.AppendString(dst, p)
		}
	case TypeEpoch:
		dst = binary.AppendVarint(dst, op.Epoch)
	default:
		panic(fmt.Sprintf("txn: encode: unknown op type %v", op.Type))
	}
	return dst
}

// encodedSizeHint is a close upper estimate of t's encoded size, so Encode
// usually allocates once.
func encodedSizeHint(t *Txn) int {
	n := 1 + 3*binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64 + crcSize
	for i := range t.Ops {
		op := &t.Ops[i]
		n += 6*binary.MaxVarintLen64 + len(op.Path) + len(op.Data)
		for _, a := range op.ACL {
			n += 3*binary.MaxVarintLen64 + len(a.Scheme) + len(a.ID.ID)
		}
		for _, p := range op.Paths {
			n += binary.MaxVarintLen64 + len(p)
		}
	}
	return n
}

// Decode decodes a record that Encode wrote. Any other input, including a
// record with trailing bytes, fails with an error wrapping ErrCorrupt that
// says what is wrong; Decode never panics, and it allocates in proportion
// to the input it has read, whatever the lengths in it claim.
//
// The result shares no memory with b. Fields an op's Type does not use are
// zero, and empty lists decode as nil: Ops, ACL and Paths are nil when
// empty, while Data keeps nil and empty apart.
func Decode(b []byte) (*Txn, error) {
	switch {
	case len(b) > MaxRecordSize:
		return nil, corrupt("record is %d bytes, more than the limit of %d", len(b), MaxRecordSize)
	case len(b) < 1+crcSize:
		return nil, corrupt("truncated: record is %d bytes", len(b))
	case b[0] != 1 && b[0] != FormatVersion:
		return nil, corrupt("unknown format version %d", b[0])
	}
	body := b[:len(b)-crcSize]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(b[len(body):]); got != want {
		return nil, corrupt("bad checksum: computed %#08x, stored %#08x", got, want)
	}
	d := decoder{b: body, off: 1, version: b[0]}
	t := new(Txn)
	t.Zxid = znode.Zxid(d.varint("zxid"))
	t.Time = d.varint("time")
	t.Session = d.varint("session")
	if flags := d.byte("flags"); flags&^(flagMulti|flagDigest) != 0 {
		d.fail("unknown flags %#x", flags)
	} else {
		t.Multi = flags&flagMulti != 0
		t.HasDigest = flags&flagDigest != 0
	}
	if n := d.count("op count", minOpSize); n > 0 {
		t.Ops = make([]Op, 0, min(n, maxPrealloc))
		for i := 0; i < n && d.err == nil; i++ {
			t.Ops = append(t.Ops, d.op(i))
		}
	}
	if t.HasDigest {
		t.Digest = d.uint64("digest")
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	if d.err == nil && d.version != formatOf(t) {
		d.fail("format version %d for a record of version %d: no createSession op has a session kind", d.version, formatOf(t))
	}
	if d.err != nil {
		return nil, d.err
	}
	return t, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// decoder reads a record body. After the first error every read returns a
// zero value and the error sticks, so callers check d.err once at the end.
type decoder struct {
	b       []byte
	off     int
	err     error
	version byte // the record's format version

	inOp   bool // reading op number opNum, of type opType
	opNum  int
	opType Type
}

func (d *decoder) fail(format string, args ...any) {
	if d.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if d.inOp {
		msg = fmt.Sprintf("op %d (%v): %s", d.opNum, d.opType, msg)
	}
	d.err = corrupt("%s", msg)
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 1 {
		d.fail("truncated: %s at offset %d", what, d.off)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uint64(what string) uint64 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < digestSize {
		d.fail("truncated: %s at offset %d", what, d.off)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += digestSize
	return v
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail("truncated: %s at offset %d", what, d.off)
		return 0
	case n < 0:
		d.fail("%s at offset %d: varint overflows 64 bits", what, d.off)
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail("%s at offset %d: varint is not minimal", what, d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	u := d.uvarint(what)
	return int64(u>>1) ^ -int64(u&1) // zigzag, as binary.Varint
}

func (d *decoder) int32(what string) int32 {
	off := d.off
	v := d.varint(what)
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("%s at offset %d: %d does not fit in 32 bits", what, off, v)
		return 0
	}
	return int32(v)
}

// count reads a list length and checks that the rest of the body could hold
// that many entries of at least minSize bytes each.
func (d *decoder) count(what string, minSize int) int {
	off := d.off
	n := d.uvarint(what)
	if d.err == nil && n > uint64(d.remaining()/minSize) {
		d.fail("%s at offset %d: %d is too large for the %d bytes left", what, off, n, d.remaining())
		return 0
	}
	return int(n)
}

// bytes returns the next n bytes, n having been read at offset off.
func (d *decoder) bytes(what string, off int, n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(d.remaining()) {
		d.fail("%s at offset %d: length %d is too large for the %d bytes left", what, off, n, d.remaining())
		return nil
	}
	b := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return b
}

func (d *decoder) string(what string) string {
	off := d.off
	n := d.uvarint(what)
	return string(d.bytes(what, off, n))
}

func (d *decoder) data(what string) []byte {
	off := d.off
	n := d.varint(what)
	switch {
	case d.err != nil:
		return nil
	case n == -1:
		return nil
	case n < 0:
		d.fail("%s at offset %d: negative length %d", what, off, n)
		return nil
	}
	b := d.bytes(what, off, uint64(n))
	if d.err != nil {
		return nil
	}
	return append([]byte{}, b...)
}

func (d *decoder) acl() []znode.ACL {
	n := d.count("acl count", minACLSize)
	if n == 0 {
		return nil
	}
	acl := make([]znode.ACL, 0, min(n, maxPrealloc))
	for i := 0; i < n && d.err == nil; i++ {
		var a znode.ACL
		a.Perms = znode.Perm(d.int32("acl perms"))
		a.Scheme = d.string("acl scheme")
		a.ID.ID = d.string("acl id")
		acl = append(acl, a)
	}
	return acl
}

func (d *decoder) paths() []string {
	n := d.count("path count", minStrSize)
	if n == 0 {
		return nil
	}
	paths := make([]string, 0, min(n, maxPrealloc))
	for i := 0; i < n && d.err == nil; i++ {
		paths = append(paths, d.string("path"))
	}
	return paths
}

func (d *decoder) op(i int) Op {
	off := d.off
	var op Op
	op.Type = Type(d.int32("op type"))
	if d.err != nil {
		return op
	}
	d.inOp, d.opNum, d.opType = true, i, op.Type
	defer func() { d.inOp = false }()
	switch op.Type {
	case TypeCreate:
		op.Path = d.string("path")
		op.Data = d.data("data")
		op.ACL = d.acl()
		op.Owner = d.varint("owner")
		op.ParentCversion = d.int32("parent cversion")
	case TypeDelete, TypeDeleteContainer:
		op.Path = d.string("path")
	case TypeSetData:
		op.Path = d.string("path")
		op.Data = d.data("data")
		op.Version = d.int32("version")
	case TypeSetACL:
		op.Path = d.string("path")
		op.ACL = d.acl()
		op.Version = d.int32("version")
	case TypeCheck:
		op.Path = d.string("path")
		op.Version = d.int32("version")
	case TypeCreateSession:
		op.Session = d.varint("session")
		op.Timeout = d.int32("timeout")
		if d.version >= 2 {
			kindOff := d.off
			if k := d.uvarint("session kind"); k > uint64(SessionRemote) {
				d.fail("session kind at offset %d: unknown kind %d", kindOff, k)
			} else {
				op.Kind = SessionKind(k)
			}
		}
	case TypeCloseSession:
		op.Session = d.varint("session")
		op.Paths = d.paths()
	case TypeEpoch:
		op.Epoch = d.varint("epoch")
	default:
		d.inOp = false
		d.fail("op %d at offset %d: unknown op type %d", i, off, int32(op.Type))
	}
	return op
}
