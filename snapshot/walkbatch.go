package snapshot

import "github.com/zkembed/zkembed/tree"

// walkBatchSize is how many nodes walkBatch reads at a time.
const walkBatchSize = 64

// walkBatch gathers the nodes of a tree walk and reads them a batch at a
// time before encoding them. In a tree that has been written to for a
// while, nodes, paths and data lie all over the heap, and reading one
// node right before encoding it costs a cache miss or three that the CPU
// waits out one by one. Read in loops whose iterations do not depend on
// each other, a batch's misses overlap: on a 1M-znode tree after 600k
// setData, encoding took a third less CPU (1.47 s → 0.98 s for three
// snapshots, unpaced); on a freshly built tree it made no difference.
// Less CPU per snapshot is less CPU taken from the log's threads.
type walkBatch struct {
	nodes [walkBatchSize]*tree.Node
	recs  [walkBatchSize]tree.NodeRecord
	n     int
	sink  byte // keeps the touching loop from being optimized away
}

// add queues n, and encodes the batch once it is full. It returns what
// encode last returned: false stops the walk.
func (b *walkBatch) add(n *tree.Node, encode func(*tree.NodeRecord) bool) bool {
	b.nodes[b.n] = n
	b.n++
	if b.n < walkBatchSize {
		return true
	}
	return b.flush(encode)
}

// flush reads and encodes the queued nodes, in order, until encode returns
// false.
func (b *walkBatch) flush(encode func(*tree.NodeRecord) bool) bool {
	recs := b.recs[:b.n]
	for i, n := range b.nodes[:b.n] {
		recs[i] = n.RecordView()
	}
	var s byte
	for i := range recs { // the first byte of each path and data
		if p := recs[i].Path; len(p) > 0 {
			s += p[0]
		}
		if d := recs[i].Data; len(d) > 0 {
			s += d[0]
		}
	}
	b.sink += s
	b.n = 0
	for i := range recs {
		if !encode(&recs[i]) {
			return false
		}
	}
	return true
}
