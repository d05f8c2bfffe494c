// Package watch is ZooKeeper's watch registry: one-shot data, exists and
// child watches, persistent and persistent-recursive watches, and a
// per-session stream of every notification a session receives.
//
// Semantics (ZooKeeper 3.8 with the 3.9 fixes; see SEMANTICS.md §8):
//
//   - A one-shot watch fires once and is gone. Data and exists watches
//     (ZooKeeper's data table) fire on NodeCreated, NodeDataChanged and
//     NodeDeleted of their path; child watches (the child table) on
//     NodeChildrenChanged and NodeDeleted.
//   - A persistent watch gets every event of its path, NodeChildrenChanged
//     included, and a recursive one every event of its path and all paths
//     below except NodeChildrenChanged. Neither is removed by triggers, so
//     both outlive the deletion of their node. Modes coexist: a one-shot
//     watch never replaces a persistent one (ZOOKEEPER-4466, fixed in 3.9).
//   - A session's stream gets one notification per triggering event if any
//     of the session's watches matched, however many did: what a ZooKeeper
//     client connection receives.
//
// Delivery never blocks the caller of Trigger. A one-shot watch's channel
// has room for its single event. Persistent watches and session streams
// go through a Queue: a small channel, then a backlog drained by a
// goroutine that exists only while the consumer is behind. The backlog is
// bounded; a consumer past the bound gets, after the events it has not read,
// a final event whose Err is ErrOverflow, and the stream ends — an event is
// never silently dropped.
//
// Invariants: a Registry is not safe for concurrent use (the engine calls
// it under one mutex, the one that also orders publication of its read
// root, so that registering a watch is atomic with the read it guards).
// Every channel a Registry hands out is closed exactly once: after its
// event (one-shot), or after the event that ends it. Nothing is delivered
// after a watch's removal event.
package watch
