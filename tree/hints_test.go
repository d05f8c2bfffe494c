package tree

import (
	"fmt"
	"math/rand/v2"
	"reflect"
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
// unsafe because PathHint's fields are unexported; the layout check keeps
// it honest if tidwall/btree changes the type.
func scrambleHint(t *testing.T, h *btree.PathHint, rng *rand.Rand) {
	ht := reflect.TypeOf(*h)
	require.Equal(t, uintptr(16), ht.Size())
	require.Equal(t, 2, ht.NumField(), "btree.PathHint is no longer {used [8]bool; path [8]uint8}")
	for i, want := range []struct {
		name string
		typ  reflect.Type
	}{{"used", reflect.TypeOf([8]bool{})}, {"path", reflect.TypeOf([8]uint8{})}} {
		f := ht.Field(i)
		require.True(t, f.Name == want.name && f.Type == want.typ && f.Offset == uintptr(8*i),
			"btree.PathHint is no longer {used [8]bool; path [8]uint8}: field %d is %s %v at %d", i, f.Name, f.Type, f.Offset)
	}
	raw := (*[16]byte)(unsafe.Pointer(h))
	for i := range 8 {
		raw[i] = byte(rng.IntN(2)) // a bool must be 0 or 1
		raw[8+i] = byte(rng.IntN(256))
	}
}

// A hint is tried, never trusted: with the hints of the parent and
// grandparent scrambled before every step's apply, and the hint of each
// checked lookup scrambled before it, a random run of creates, deletes and
// setData over a tree deep enough for several B-tree levels answers every
// lookup as a snapshot (which descends without hints) does, and the tree
// keeps its invariants and its digest. (An apply's own lookups repair a
// hint before its insert or delete uses it, so those mostly see good ones.)
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

// A Clone, a multi's scratch tree, keeps no hint table: it would cost 4 KB
// for a handful of lookups. Its lookups and applies still work.
func TestCloneKeepsNoHints(t *testing.T) {
	tr := New()
	apply(t, tr, create("/a", 1))
	require.Nil(t, tr.Get("/a/b"))
	require.NotNil(t, tr.w.hints, "the working tree keeps hints")
	c := tr.Clone()
	require.NotNil(t, c.Get("/a"))
	apply(t, c, create("/a/b", 1))
	require.NotNil(t, c.Get("/a/b"))
	require.Nil(t, c.w.hints, "a clone allocated a hint table")
	require.Nil(t, tr.Get("/a/b"), "the clone's create leaked into its tree")
	w := tr.Snapshot().Writable()
	require.NotNil(t, w.Get("/a"))
	require.NotNil(t, w.w.hints, "a writable copy (catch-up) keeps hints")
}
