// Package txn defines the transaction record: the unit of change that the
// engine logs and that the tree applies.
//
// A record is fully decided before it is applied: sequential names are
// final, the parent's new cversion and every new version are in the record,
// and times come from the record, not from a clock. Applying the same records
// in the same order to the same tree therefore gives the same tree, which is
// what recovery and deterministic simulation rely on.
//
// Records follow ZooKeeper's txn types (SEMANTICS.md §13.2) with three
// differences: failed writes are never records, an Epoch record marks a
// zxid epoch change (zkembed's answer to counter rollover), and a
// createSession says whether the session is in-process or remote
// (SessionKind), which decides whether a restarted engine closes it or
// waits for its client.
package txn
