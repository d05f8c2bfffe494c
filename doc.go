// Package zkembed is Apache ZooKeeper as an embeddable Go library: the znode
// tree, zxid-ordered transactions, sessions, ephemeral, sequential,
// container and TTL nodes, watches and ACLs, inside the caller's process,
// with ZooKeeper 3.8's semantics.
//
// Open an engine, open a session, and call ZooKeeper's operations on it:
//
//	db, err := zkembed.Open("./data", nil) // durable; "" keeps everything in memory
//	...
//	s, err := db.NewSession(ctx, nil)
//	path, err := s.Create(ctx, "/app", []byte("config"), zkembed.ModePersistent, zkembed.OpenACL())
//
// # Semantics
//
// Results, Stat fields, sequential names and error precedence are
// ZooKeeper's, including its quirks (the visible cversion is 2 × child
// creations − numChildren; sequence numbers come from the parent's stored
// cversion; reads do not validate paths). Every error is an *OpError
// wrapping a sentinel (ErrNoNode, ErrNodeExists, ...) that errors.Is
// matches; znode.CodeOf gives ZooKeeper's numeric code. Deliberate
// differences, each documented where it is made:
//   - failed writes consume no zxid and write no record;
//   - when the zxid counter runs out the engine starts the next epoch and
//     carries on (ZooKeeper's leader forces an election);
//   - a sequential create whose parent's counter reached int32 max fails
//     with an error matching ErrNodeExists that says why;
//   - Create and CreateTTL accept only the modes that match them, so the
//     opcode/flags mismatches ZooKeeper tolerates cannot happen in the Go
//     API (the wire server copies ZooKeeper: the opcode decides the kind);
//   - data above Options.MaxDataSize fails with ErrBadArguments.
//
// # Concurrency and ordering
//
// A DB and its Sessions are safe for concurrent use. Writes are serialized
// in one commit pipeline that assigns zxids in order, logs each record,
// applies it and then publishes a copy-on-write snapshot of the tree; reads
// load the latest snapshot without taking a lock. A write is visible to
// every reader once it returns.
//
// # Durability
//
// With a data directory, every change is a record in a pebble transaction
// log, fsynced before the write returns and before any reader can see it;
// concurrent writers share syncs. Snapshots are written in the background
// and the log behind them is truncated. Open restores the newest valid
// snapshot plus the log after it, and refuses a log with a gap. A storage
// failure, or a write stalled past Options.WriteTimeout, stops writes
// (ErrFailed) while reads go on. See commit.go and snapshots.go.
//
// # Watches
//
// GetW, ExistsW and ChildrenW set one-shot watches and return a channel
// that receives one event; AddWatch sets a persistent or recursive watch
// (a *Watch with Events and Close); RemoveWatches removes them; a
// Session's Events is the stream of every notification it receives, once
// per change. The events and the watches they fire are ZooKeeper's (with
// the 3.9 fixes: modes coexist, removal by mode), each carries its change's
// zxid, and a session has an event before any reply that shows the change,
// its own included, in zxid order and within a multi in op order.
// Registration is atomic with the read. Writers never wait for consumers;
// Options.WatchBacklog bounds what a slow consumer of a persistent watch
// or stream may hold, and passing it ends the stream with
// ErrWatchOverflow instead of dropping an event. When a session ends its
// watches and stream get an EventNone event (StateClosed or StateExpired)
// and close. See watches.go and package watch.
//
// # Time and determinism
//
// Time and randomness are injected (Options.Clock, Options.Seed): with a
// clock.Virtual and a seed, the same calls produce the same zxids, times,
// session ids and results, and session expiry and reaping happen exactly
// when the virtual clock passes their deadlines.
package zkembed
