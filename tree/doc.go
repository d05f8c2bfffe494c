// Package tree is the znode tree: immutable nodes in a copy-on-write B-tree
// (tidwall/btree), with indexes of ephemeral nodes per session and of
// containers and TTL nodes. It does no I/O, takes no locks and starts no
// goroutines.
//
// Ordering: nodes are kept in (parent path, name) order, so the direct
// children of a node are one contiguous run and listing them never visits
// grandchildren. The path is stored once, with the position of its last
// slash; the order is that of the key parent+"\x00"+name without building it.
//
// Ownership: a *Tree is either writable (one goroutine uses it: it mutates
// it through Apply, and even its lookups update a memo of recent paths and
// the B-tree path hints of hints.go) or a
// snapshot (Snapshot's result, never mutated, safe for any number
// of concurrent readers). A Node is never modified after it is put in a tree;
// a change replaces it. Snapshot is O(1): the B-trees share all nodes and the
// writable tree clones a B-tree node only when it first writes to it.
// Writable is the way back, as cheap: a writable copy of a snapshot.
//
// Apply is the only way the tree changes, and it takes fully decided records
// (package txn), so applying the same records to equal trees gives equal
// trees. Check verifies every structural invariant of a tree.
package tree
