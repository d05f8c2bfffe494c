// Package enc holds the encodings the txn records, snapshot records and
// the tree digest share: length-prefixed strings, nil-aware data and ACL
// lists, over encoding/binary varints.
package enc

import (
	"encoding/binary"

	"github.com/zkembed/zkembed/znode"
)

// AppendString appends s as a uvarint length and the bytes.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendData appends b as a varint length (-1 for nil) and the bytes.
func AppendData(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// AppendACL appends a uvarint count, then per entry perms (varint), scheme
// and id (strings).
func AppendACL(dst []byte, acl []znode.ACL) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(acl)))
	for _, a := range acl {
		dst = binary.AppendVarint(dst, int64(a.Perms))
		dst = AppendString(dst, a.Scheme)
		dst = AppendString(dst, a.ID.ID)
	}
	return dst
}
