// Package sim is zkembed's deterministic simulator: from a seed it drives
// an engine through a mix of writes of every kind (creates in every mode,
// deletes, setData and setACL with right and wrong versions, multis of up
// to three operations), reads, one-shot watches, session opens, closes and
// expiries, jumps of the virtual clock, reaping passes (containers, and
// TTL nodes with TTLs that do and do not run out within a run), disk
// faults (EIO or ENOSPC on the log's writes or syncs, through pebble's
// errorfs), and crashes after which the engine restarts on what pebble's
// crash-simulating filesystem keeps, all in one goroutine.
//
// After every step the engine is checked against Model, an independent
// reference model of ZooKeeper's rules:
//
//   - every result, error code and created path is the model's, and a
//     reaping pass deletes exactly the nodes the model's does;
//   - every one-shot watch (getData, exists, getChildren, set at random)
//     gets exactly the event of the first change that fires it under
//     ZooKeeper's rules, and is then closed; every persistent watch
//     (recursive or not) one event per change that fires it, in zxid
//     order; each session's stream (Session.Events) one event per change
//     that fires any of its watches, in order; all before any later reply
//     of the session, and nothing else; when a session ends, its own
//     close's deletions fire its watches first, then its watches and
//     stream end with EventNone in state Closed or Expired;
//   - the engine's last zxid is the model's: zxids are strictly
//     increasing and contiguous, across restarts too (one per
//     transaction, sessions' creates and closes included);
//   - a write under a disk fault fails with ErrConnectionLoss (outcome
//     unknown), later writes with ErrFailed, reads go on at the state
//     before it; reopened, the engine holds that write wholly or not at
//     all, and everything before it;
//   - after every crash every write is there (each was acknowledged
//     before the crash), the previous process's sessions (in-process
//     ones: DB.NewSession) are closed with their ephemerals, and every
//     node, its Stat fields and data equal the model's; the same at the
//     end, with the engine's own Check.
//
// Determinism: a Config gives the same canonical history (Result.History,
// one line per step with its outcome and zxid, one per watch event with
// its type, state and zxid, then the engine's dump),
// byte for byte; Result.Hash is its SHA-256. A failing seed is reported
// with the command that replays it (Result.ReplayCommand), and failing
// seeds are kept as regression tests in sim_test.go.
//
// Reaping passes run as steps (DB.ReapNow), never on the engine's timer, so
// that they happen at the same step every run.
//
// Not simulated yet: removeWatches, ACLs
// beyond world:anyone (cdrwa or r), crashes in the middle of a write (see
// the root package's crash tests), concurrent sessions, and idle expiry by
// the clock (expiry is the explicit DB.ExpireSession).
package sim
