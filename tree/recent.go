package tree

// The writer's memo of recent lookups.
//
// A write looks up the same few paths several times under the engine's
// lock: validation reads the parent and checks the target is absent, Apply
// reads both again, and the engine reads the result back for its Stat. With
// a large tree each lookup is a B-tree descent of a few dozen string
// comparisons, and the parent's digest is re-encoded when it is replaced.
// A writable tree therefore remembers its last few lookups, absences
// included, and the digest of each node it stored.
//
// The memo is exact, not a heuristic: every change to t.nodes goes through
// put or remove, which update the entry for that path (or insert one), so
// an entry always tells the truth about its path. It is small and searched
// linearly by path length and content; a miss costs a few length
// comparisons.

// recentSize is the number of remembered paths: enough for a create's
// parent and child, and a setData's node, of the writes of one moment.
const recentSize = 8

// recentEntry remembers what t.nodes holds at path: node, or nil for "no
// node". digest is node's digest when hasDigest is set.
type recentEntry struct {
	path      string
	node      *Node
	digest    uint64
	hasDigest bool
}

// recent is a small round-robin memo of lookups.
type recent struct {
	entries [recentSize]recentEntry
	used    int // entries in use, until the memo is full
	next    int // the entry to overwrite next, once full
}

// find returns the entry for path, or nil.
func (r *recent) find(path string) *recentEntry {
	for i := 0; i < r.used; i++ {
		e := &r.entries[i]
		if len(e.path) == len(path) && e.path == path {
			return e
		}
	}
	return nil
}

// remember records that path holds node (nil: no node), returning the entry.
func (r *recent) remember(path string, node *Node) *recentEntry {
	e := r.find(path)
	if e == nil {
		if r.used < recentSize {
			e = &r.entries[r.used]
			r.used++
		} else {
			e = &r.entries[r.next]
			r.next = (r.next + 1) % recentSize
		}
		e.path = path
	}
	e.node, e.hasDigest = node, false
	return e
}
