// Package recipe holds ZooKeeper's coordination recipes — locks, leader
// election, barriers, queues, counters, a tree cache — written against a
// small Client interface, so the same code runs on an embedded zkembed
// session (zkembed.Session.RecipeClient) and on a go-zookeeper connection to
// a real ZooKeeper ensemble (Connect, WrapZK).
//
// Invariants every recipe keeps:
//   - A participant is a sequential node of its own session, ephemeral
//     unless the recipe says otherwise, so a session's end releases
//     everything it held.
//   - Waiting watches one node (a predecessor), never the whole directory,
//     so a release wakes one waiter, not the herd.
//   - A cancelled wait deletes the node it created; a create whose reply
//     was lost is found again by the unique prefix of its name
//     (Curator's protected mode) rather than left behind.
//   - Node names follow Curator's and go-zookeeper's ("_c_<id>-lock-<seq>"),
//     and order is by the ten-digit sequence suffix, so their holders and
//     ours exclude each other.
//
// The exceptions are the data recipes: a Queue's items are persistent
// "qn-<seq>" nodes (ZooKeeper's queue recipe and kazoo's naming), which
// outlive their producer's session and cannot be found again after a lost
// reply; a Counter is one persistent node; a TreeCache only reads.
package recipe
