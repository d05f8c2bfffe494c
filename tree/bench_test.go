package tree

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// BenchmarkCreateInterleaved is the tree's share of a durable engine's
// create with 64 concurrent writers: writes to 64 subtrees interleave, each
// looked up as the engine does (parent, absent child, apply, the child's
// Stat), with the digest tracked and a snapshot after every 30 records
// (one group-commit batch), so that writes copy the B-tree nodes the
// snapshot shares.
func BenchmarkCreateInterleaved(b *testing.B) {
	const writers, batch, prefill = 64, 30, 100_000
	tr := New()
	tr.TrackDigest()
	data := make([]byte, 100)
	parents := make([]string, writers)
	next := make([]int, writers)
	z := znode.Zxid(0)
	create := func(w int) {
		parent := parents[w]
		path := parent + "/n" + strconv.Itoa(next[w])
		next[w]++
		p := tr.Get(parent)
		if tr.Get(path) != nil {
			b.Fatalf("%s exists", path)
		}
		z++
		op := txn.Op{Type: txn.TypeCreate, Path: path, Data: data, ACL: znode.OpenACL(), ParentCversion: p.StoredCversion() + 1}
		if err := tr.Apply(&txn.Txn{Zxid: z, Time: int64(z), Ops: []txn.Op{op}}, nil); err != nil {
			b.Fatal(err)
		}
		_ = tr.Get(path).Stat()
	}
	for w := range parents {
		parents[w] = "/w" + strconv.Itoa(w)
		z++
		op := txn.Op{Type: txn.TypeCreate, Path: parents[w], ACL: znode.OpenACL(), ParentCversion: tr.Get("/").StoredCversion() + 1}
		if err := tr.Apply(&txn.Txn{Zxid: z, Time: int64(z), Ops: []txn.Op{op}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	for i := range prefill {
		create(i % writers)
	}
	tr.Snapshot()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		create(i % writers)
		if i%batch == batch-1 {
			tr.Snapshot()
		}
	}
}

// BenchmarkCatchUp is what a reader pays to bring a read root up to date
// when sync leaders published none (the engine's showLocked): a writable
// copy of a snapshot of a 100k-node tree, and 512 interleaved creates (the
// engine's defaultMaxUnshown) applied to it. ns/record is the cost of one.
func BenchmarkCatchUp(b *testing.B) {
	const writers, records, prefill = 64, 512, 100_000
	tr := New()
	data := make([]byte, 100)
	var since []*txn.Txn
	var start *Tree
	for i := range writers + prefill + records {
		path, parent := "/w"+strconv.Itoa(i), "/"
		if i >= writers {
			i -= writers
			parent = "/w" + strconv.Itoa(i%writers)
			path = parent + "/n" + strconv.Itoa(i/writers)
			if i == prefill {
				start = tr.Snapshot()
			}
		}
		x := apply(b, tr, txn.Op{Type: txn.TypeCreate, Path: path, Data: data, ACL: znode.OpenACL(), ParentCversion: tr.Get(parent).StoredCversion() + 1})
		if start != nil {
			since = append(since, x...)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		cp := start.Writable()
		for _, x := range since {
			if err := cp.Apply(x, nil); err != nil {
				b.Fatal(err)
			}
		}
		cp.Snapshot()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}

// BenchmarkComputeDigest is the per-node work of a snapshot (walk, record
// encoding, node digest) on a tree of 200k nodes of 100 bytes as created,
// then after 120k setData of 1 byte have scattered the nodes they replaced
// over the heap, as an engine's tree is after a while of writes.
func BenchmarkComputeDigest(b *testing.B) {
	tr := New()
	// Times in ms since the Unix epoch, as a real engine's, so that the
	// records hashed have their real length.
	apply := func(op txn.Op) { applyAt(b, tr, 1700000000000, op) }
	data := make([]byte, 100)
	const n = 200_000
	for i := range n {
		if i%1000 == 0 {
			apply(txn.Op{Type: txn.TypeCreate, Path: fmt.Sprintf("/b%03d", i/1000), ACL: znode.OpenACL(), ParentCversion: tr.Get("/").StoredCversion() + 1})
		}
		p := fmt.Sprintf("/b%03d", i/1000)
		apply(txn.Op{Type: txn.TypeCreate, Path: fmt.Sprintf("%s/%07d", p, i), Data: data, ACL: znode.OpenACL(), ParentCversion: tr.Get(p).StoredCversion() + 1})
	}
	for _, churn := range []bool{false, true} {
		if churn {
			for i := range 3 * n / 5 {
				j := (i * 104729) % n
				apply(txn.Op{Type: txn.TypeSetData, Path: fmt.Sprintf("/b%03d/%07d", j/1000, j), Data: []byte("x"), Version: -1})
			}
		}
		b.Run(map[bool]string{false: "fresh", true: "churned"}[churn], func(b *testing.B) {
			for b.Loop() {
				tr.ComputeDigest()
			}
		})
	}
}
