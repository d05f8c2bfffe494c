package tree

import (
	"hash/maphash"

	"github.com/tidwall/btree"
)

// A writable tree's B-tree path hints.
//
// A lookup in a large tree is a descent of a few dozen comparisons, and in
// a tree of a million nodes most of them miss the CPU cache: each one
// reads a node and then its path. A tidwall/btree PathHint remembers the
// index taken at each level of the last descent, and the next descent
// tries that index first, so a lookup near the last one compares two or
// three items per level instead of a binary search's six.
//
// Nodes sort by (parent, name), so all children of a parent are one run of
// the B-tree: a hint kept per parent finds any of them near where the last
// one was. Writers interleave (sixty-four sessions creating under their own
// parents), so one hint would be useless. A writable tree keeps hintSlots
// of them, chosen by a hash of the parent. Two parents that share a slot
// only spoil each other's hint: a hint is never trusted, only tried, so
// the result of a lookup does not depend on it.
//
// Hints are mutable, so only a writable tree has them; a snapshot is read
// by many goroutines at once and descends without. A Clone (a multi's
// scratch tree) does without them too: the table is 4 KB, and a clone
// makes a handful of lookups.

// hintSlots is the number of path hints a writable tree keeps: enough that
// the parents written under at one moment seldom share one.
const hintSlots = 256

// hints are a writable tree's path hints.
type hints struct {
	seed  maphash.Seed
	slots [hintSlots]btree.PathHint
}

func newHints() *hints { return &hints{seed: maphash.MakeSeed()} }

// hintFor returns the path hint for lookups of children of parent, the
// parent part of a node's key (see Node.parentKey), or nil (no hint) in a
// tree without hints, a Clone.
func (w *writer) hintFor(parent string) *btree.PathHint {
	if w.hints == nil {
		return nil
	}
	return &w.hints.slots[maphash.String(w.hints.seed, parent)%hintSlots]
}
