package tree

import (
	"testing"

	"github.com/zkembed/zkembed/znode"
)

// The node digest is persisted (in every log record and every snapshot).
// These values, recorded when the digest went into the log format, pin it:
// a change to it, or to the record encoding it hashes, fails here instead
// of making existing data directories refuse to open.
func TestNodeDigestGolden(t *testing.T) {
	cases := []struct {
		r    NodeRecord
		want uint64
	}{
		{NodeRecord{Path: "/"}, 0x5eb19b404833b2cb},
		{NodeRecord{Path: "/a", Data: []byte("hi"), ACL: znode.OpenACL(), Czxid: 1, Mzxid: 2, Pzxid: 3,
			Ctime: 1700000000000, Mtime: 1700000000001, Version: 1, Cversion: 2, Aversion: 3, Owner: 0x100}, 0x52c67d1cc0d2f0c9},
		{NodeRecord{Path: "/a/b", Data: []byte{}, ACL: znode.ReadACL(), Owner: znode.ContainerOwner}, 0xfc30d32aab038b68},
	}
	for _, c := range cases {
		if got := NodeDigest(&c.r); got != c.want {
			t.Errorf("NodeDigest(%s) = %#016x, want %#016x", c.r.Path, got, c.want)
		}
	}
}
