// Package inspect reads a zkembed data directory without an engine, as
// ZooKeeper's TxnLogToolkit and SnapshotFormatter read a ZooKeeper data
// directory, and rolls one back to an earlier zxid on request. It is what
// `zkembed log` and `zkembed snapshot` run.
//
// A data directory, as zkembed.Open makes it, holds
//
//	FORMAT        the zxid layout (counter width), fixed at creation
//	txnlog/       the log: a pebble database, one key per record (the
//	              zxid, 8 bytes big-endian) holding txn.Encode of it, and
//	              zkembed.lock, the engine's flock
//	snapshots/    snapshot.<zxid as 16 hex digits>: a tree and session
//	              table exact at that zxid (package snapshot)
//
// and the engine opens it at the newest valid snapshot plus the log after
// it. The log is kept from the oldest retained snapshot on, so that an
// older snapshot can stand in for a corrupt newer one.
//
// # Invariants
//
// Read-only unless asked. Every function but Truncate (LogTruncate with
// apply) reads only: the log is opened with pebble's ReadOnly option, which
// replays the write-ahead log into memory and never flushes, compacts,
// creates or deletes a file, and snapshot files are only read. The tests
// compare every byte of a store before and after each read-only command.
//
// Locks. Commands that read the log take the engine's flock on
// txnlog/zkembed.lock (shared; exclusive to truncate) and then pebble's
// LOCK, as the engine does, so a store held by a running engine is refused
// with ErrLocked naming it, and the engine is never disturbed; a running
// engine's Open is refused while an inspection holds them. Snapshot
// commands take no lock: a snapshot file is written under a temporary name,
// renamed when complete and never modified, so it can be read beside a
// running engine (one the engine prunes meanwhile is reported as missing).
//
// What verification proves. VerifyLog decodes every record (format and
// CRC-32C, under its own zxid), checks that zxids are contiguous (the one
// before plus one, or an epoch record at counter 0 of the next epoch once
// the counter is spent, as the engine writes it), checks that the engine
// can open the store, and replays the log through tree.Apply, as the
// engine's recovery does, from the oldest possible start (an empty tree, or a snapshot),
// checking the tree digest every record carries and every later snapshot's
// digest. It is stricter than the engine's Open, which reads only the log
// after the newest snapshot. SnapshotVerify fully loads each snapshot
// file (snapshot.Load: checksums, canonical encoding, tree invariants,
// digest). The first problem is returned as an *Error naming the zxid or
// file and matching ErrCorrupt.
//
// What truncation guarantees. Truncate rolls a store back to zxid z: it
// deletes every log record after z and every snapshot newer than z. The
// plan (PlanTruncate) is refused (ErrRefused), and nothing changed, unless
// z is a state the store had and the engine will open the truncated store
// at exactly that state: the newest valid snapshot at or before z (or an
// empty tree, if none is kept) must be followed in the log by every record
// up to z, and their replay must reproduce every recorded digest. A log
// truncated before a snapshot therefore cannot go back past that snapshot.
// Snapshots go first, then the log records, in one synced pebble batch; a
// crash in between leaves a store that opens at its old last zxid, and the
// same truncation run again finishes the job. Clients that saw zxids after
// z see time go back, as after ZooKeeper's TRUNC of a follower; ids of
// sessions created after z may be handed out again.
//
// There is no snapshot truncation: the engine opens at the end of its log
// whatever snapshots exist, so removing snapshots alone changes no state;
// rolling back is a log operation, and LogTruncate also removes the
// snapshots newer than its zxid.
//
// # Output
//
// Text output is for people: zxids and session ids in hex as ZooKeeper
// prints them (0x...), times in UTC to the millisecond, data quoted and cut
// at DataLimit bytes (FormatRecord, FormatNode). JSON output (-json) is for
// programs: one object per line, field names fixed by JSONRecord, JSONOp,
// JSONSnapshot, JSONNode and JSONSession, zxids, session ids and digests as
// "0x..." strings (JSON readers round larger integers), data as base64 with
// null for ZooKeeper's null buffer.
package inspect
