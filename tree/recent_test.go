package tree

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// The memo of recent lookups must never answer differently from the B-tree,
// and the digests it keeps must be those of the nodes it holds: a random
// run of creates, deletes, setData and failed applies, over few enough
// paths that entries are hit, replaced and evicted all the time, compares
// every lookup with a fresh snapshot and the tracked digest with one
// computed from scratch.
func TestRecentMemoAgreesWithTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tr := New()
	tr.TrackDigest()
	var paths []string
	for i := range 4 {
		paths = append(paths, fmt.Sprintf("/p%d", i))
		for j := range 6 {
			paths = append(paths, fmt.Sprintf("/p%d/c%d", i, j))
		}
	}
	for step := range 20_000 {
		p := paths[rng.IntN(len(paths))]
		parent, _ := znode.Split(p)
		op := randomOp(rng, tr, p, parent, step)
		// Records that do not fit (a create of an existing node, a delete
		// of a missing one or of a parent) fail; the tree must be unchanged
		// and the memo must still be right.
		_ = tr.Apply(&txn.Txn{Zxid: tr.Zxid() + 1, Time: int64(step), Ops: []txn.Op{op}}, nil)
		snap := tr.Snapshot()
		for _, q := range []string{p, parent, paths[rng.IntN(len(paths))]} {
			require.Equal(t, snap.Get(q), tr.Get(q), "step %d: lookup of %s", step, q)
		}
		if step%97 == 0 {
			d, _ := tr.Digest()
			require.Equal(t, tr.ComputeDigest(), d, "step %d: tracked digest", step)
			require.NoError(t, tr.Check())
		}
	}
}

// randomOp is a create, delete or setData of p (whose parent is parent),
// with the parent cversion a create needs when the parent exists. It may
// not fit the tree: a create of an existing node, a delete of a missing one.
func randomOp(rng *rand.Rand, tr *Tree, p, parent string, step int) txn.Op {
	switch rng.IntN(3) {
	case 0:
		cv := int32(1)
		if n := tr.Get(parent); n != nil {
			cv = n.StoredCversion() + 1
		}
		return create(p, cv)
	case 1:
		return txn.Op{Type: txn.TypeDelete, Path: p}
	default:
		return txn.Op{Type: txn.TypeSetData, Path: p, Data: []byte{byte(step)}, Version: int32(step)}
	}
}
