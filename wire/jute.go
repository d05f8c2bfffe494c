package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/zkembed/zkembed/znode"
)

// ErrMalformed is the error of every decode failure: a record shorter
// than its fields, a negative or oversized length, trailing bytes where
// none may be. It matches znode.ErrMarshallingError.
var ErrMalformed = fmt.Errorf("wire: malformed record: %w", znode.ErrMarshallingError)

// Encoder appends jute's binary encoding: big-endian int (4 bytes) and long
// (8 bytes), bool as one byte, buffer and ustring as an int length (-1 for
// null) and the bytes, vector as an int count (-1 for null) and the
// elements.
type Encoder struct{ B []byte }

// Int appends a jute int.
func (e *Encoder) Int(v int32) { e.B = binary.BigEndian.AppendUint32(e.B, uint32(v)) }

// Long appends a jute long.
func (e *Encoder) Long(v int64) { e.B = binary.BigEndian.AppendUint64(e.B, uint64(v)) }

// Bool appends a jute boolean.
func (e *Encoder) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Buffer appends a jute buffer; nil is the null buffer (length -1).
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.B = append(e.B, b...)
}

// String appends a jute ustring (never null).
func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.B = append(e.B, s...)
}

// Strings appends a vector of ustrings; nil is the null vector.
func (e *Encoder) Strings(v []string) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Stat appends a Stat record.
func (e *Encoder) Stat(s *znode.Stat) {
	e.Long(int64(s.Czxid))
	e.Long(int64(s.Mzxid))
	e.Long(s.Ctime)
	e.Long(s.Mtime)
	e.Int(s.Version)
	e.Int(s.Cversion)
	e.Int(s.Aversion)
	e.Long(s.EphemeralOwner)
	e.Int(s.DataLength)
	e.Int(s.NumChildren)
	e.Long(int64(s.Pzxid))
}

// ACLs appends a vector of ACL records.
func (e *Encoder) ACLs(list []znode.ACL) {
	if list == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(list)))
	for _, a := range list {
		e.Int(int32(a.Perms))
		e.String(a.ID.Scheme)
		e.String(a.ID.ID)
	}
}

// MultiHeader appends the header of a multi's sub-request or sub-result.
func (e *Encoder) MultiHeader(typ int32, done bool, err int32) {
	e.Int(typ)
	e.Bool(done)
	e.Int(err)
}

// MultiError appends a failed sub-result: its header and ErrorResponse,
// both carrying code.
func (e *Encoder) MultiError(code int32) {
	e.MultiHeader(OpError, false, code)
	e.Int(code)
}

// MultiEnd appends the marker that ends a multi's requests or results.
func (e *Encoder) MultiEnd() { e.MultiHeader(-1, true, -1) }

// Decoder reads jute's binary encoding from a byte slice. The first error
// sticks: later reads return zero values, and Err reports it. It never
// panics and never allocates more than the input can back.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a Decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error, or nil.
func (d *Decoder) Err() error { return d.err }

// Len returns the bytes not read yet.
func (d *Decoder) Len() int { return len(d.b) }

// Rest returns the bytes not read yet and consumes them.
func (d *Decoder) Rest() []byte {
	b := d.b
	d.b = nil
	return b
}

func (d *Decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	d.b = nil
}

func (d *Decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail(what + " past the end")
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

// Int reads a jute int.
func (d *Decoder) Int() int32 {
	b := d.take(4, "int")
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Long reads a jute long.
func (d *Decoder) Long() int64 {
	b := d.take(8, "long")
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// Bool reads a jute boolean: any non-zero byte is true, as in Java's
// DataInput.readBoolean.
func (d *Decoder) Bool() bool {
	b := d.take(1, "bool")
	return b != nil && b[0] != 0
}

// Buffer reads a jute buffer; the null buffer (length -1) is nil, and a
// length below -1 fails, as jute's checkLength refuses it. The result
// aliases the input.
func (d *Decoder) Buffer() []byte {
	n := d.Int()
	if d.err != nil || n == -1 {
		return nil
	}
	if n < 0 {
		d.fail(fmt.Sprintf("buffer length %d", n))
		return nil
	}
	b := d.take(int(n), "buffer")
	if b == nil {
		return nil
	}
	return b
}

// String reads a jute ustring. A null string (length -1) reads as "";
// callers that cannot take a null use NullableString.
func (d *Decoder) String() string {
	s, _ := d.NullableString()
	return s
}

// NullableString reads a jute ustring and reports whether it was null.
func (d *Decoder) NullableString() (s string, null bool) {
	n := d.Int()
	if d.err != nil {
		return "", false
	}
	if n == -1 {
		return "", true
	}
	if n < 0 {
		d.fail(fmt.Sprintf("string length %d", n))
		return "", false
	}
	b := d.take(int(n), "string")
	return string(b), false
}

// count reads a vector's element count; a null vector is -1, and a count
// below -1 is an empty vector, as jute's BinaryIndex reads it. Each
// element takes at least min bytes, which bounds the count by the input.
func (d *Decoder) count(min int) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n == -1 {
		return -1
	}
	if n < 0 {
		return 0
	}
	if int(n) > len(d.b)/min {
		d.fail("vector longer than its bytes")
		return 0
	}
	return int(n)
}

// Strings reads a vector of ustrings; the null vector is nil.
func (d *Decoder) Strings() []string {
	n := d.count(4)
	if n < 0 || d.err != nil {
		return nil
	}
	v := make([]string, 0, n)
	for range n {
		v = append(v, d.String())
	}
	if d.err != nil {
		return nil
	}
	return v
}

// Stat reads a Stat record.
func (d *Decoder) Stat() znode.Stat {
	return znode.Stat{
		Czxid:          znode.Zxid(d.Long()),
		Mzxid:          znode.Zxid(d.Long()),
		Ctime:          d.Long(),
		Mtime:          d.Long(),
		Version:        d.Int(),
		Cversion:       d.Int(),
		Aversion:       d.Int(),
		EphemeralOwner: d.Long(),
		DataLength:     d.Int(),
		NumChildren:    d.Int(),
		Pzxid:          znode.Zxid(d.Long()),
	}
}

// ACLs reads a vector of ACL records; the null vector is nil.
func (d *Decoder) ACLs() []znode.ACL {
	n := d.count(12)
	if n < 0 || d.err != nil {
		return nil
	}
	list := make([]znode.ACL, 0, n)
	for range n {
		perms := znode.Perm(d.Int())
		scheme := d.String()
		id := d.String()
		list = append(list, znode.ACL{Perms: perms, ID: znode.ID{Scheme: scheme, ID: id}})
	}
	if d.err != nil {
		return nil
	}
	return list
}

// errTrailing is returned by Done for bytes left after a record.
var errTrailing = errors.New("trailing bytes")

// Done reports the first error, or, with strict set, an error if bytes are
// left over.
func (d *Decoder) Done(strict bool) error {
	if d.err == nil && strict && len(d.b) > 0 {
		d.err = fmt.Errorf("%w: %w (%d)", ErrMalformed, errTrailing, len(d.b))
	}
	return d.err
}
