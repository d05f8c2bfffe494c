package tree

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/btree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// scrambleHint fills h with random indexes, each level marked used or not
// at random: a hint as wrong as one left by another parent's lookups, or
// by a B-tree that has since split and merged nodes. It writes through
// unsafe because PathHint's fields are unexported; the size check keeps
// it honest if tidwall/btree changes the type.
func scrambleHint(t *testing.T, h *btree.PathHint, rng *rand.Rand) {
	require.Equal(t, uintptr(16), unsafe.Sizeof(*h), "btree.PathHint is no longer [8]bool + [8]uint8")
	raw := (*[16]byte)(unsafe.Pointer(h))
	for i := range 8 {
		raw[i] = byte(rng.IntN(2)) // a bool must be 0 or 1
		raw[8+i] = byte(rng.IntN(256))
	}
}

// A hint is tried, never trusted: with the hints a lookup, insert or delete
// will use scrambled before every step, a random run of creates, deletes
// and setData over a tree deep enough for several B-tree levels answers
// every lookup as a snapshot (which descends without hints) does, and the
// tree keeps its invariants and its digest.
func TestHintsNeverChangeAnswers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tr := New()
	tr.TrackDigest()
	const parents, children = 6, 800
	var paths []string
	for i := range parents {
		p := fmt.Sprintf("/p%d", i)
		paths = append(paths, p)
		apply(t, tr, create(p, tr.Get("/").StoredCversion()+1))
		for j := range children {
			c := fmt.Sprintf("%s/c%d", p, j)
			paths = append(paths, c)
			if j%2 == 0 {
				apply(t, tr, create(c, tr.Get(p).StoredCversion()+1))
			}
		}
	}
	for step := range 20_000 {
		p := paths[rng.IntN(len(paths))]
		parent, _ := znode.Split(p)
		grand, _ := znode.Split(parent)
		for _, k := range []string{parent, grand} {
			if k == "/" {
				k = "" // the key part of the root's children (see parentKey)
			}
			scrambleHint(t, tr.w.hintFor(k), rng)
		}
		op := randomOp(rng, tr, p, parent, step)
		// Records that do not fit fail and leave the tree unchanged.
		z := tr.Zxid() + 1
		_ = tr.Apply(&txn.Txn{Zxid: z, Time: int64(z), Ops: []txn.Op{op}}, nil)
		snap := tr.Snapshot()
		for _, q := range []string{p, parent, paths[rng.IntN(len(paths))]} {
			scrambleHint(t, tr.w.hintFor(parentKeyOf(q)), rng)
			require.Equal(t, snap.Get(q), tr.Get(q), "step %d: lookup of %s", step, q)
		}
		if step%499 == 0 {
			d, _ := tr.Digest()
			require.Equal(t, tr.ComputeDigest(), d, "step %d: tracked digest", step)
			require.NoError(t, tr.Check())
		}
	}
	n := 0
	tr.Walk(func(*Node) bool { n++; return true })
	require.Equal(t, tr.Len(), n)
}

// parentKeyOf is the parent part of path's key, as Node.parentKey.
func parentKeyOf(path string) string { return path[:max(lastSlash(path), 0)] }
