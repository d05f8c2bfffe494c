// Package lincheck checks that concurrent histories of ZooKeeper
// operations are linearizable: against zkembed, or against any ZooKeeper
// a Client can reach.
//
// A History records operations of concurrent clients (Begin and End, or
// Do), with invocation and return ticks from one shared counter, the
// operation (create, delete, setData, getData, exists, getChildren, or a
// multi of creates, deletes, setDatas and checks) and its Result: the
// code, the data read, the Stat and the children. An operation whose
// outcome the client cannot know (a context deadline, a lost connection,
// any error code outside the model) is Unknown: a write is then possibly
// applied, at any time after its invocation, as etcd's robustness tests
// treat a failed request; a read tells nothing. Run drives a random
// workload (Config) through Clients and checks what it recorded with both
// checkers; Session is the Client of an embedded session.
//
// # The model
//
// Persistent nodes with an open ACL: existence, data and version per
// path, and a node's children for getChildren. A create fails with
// NoNode without its parent and NodeExists on an existing node; delete
// with NoNode, BadVersion or NotEmpty; setData with NoNode or BadVersion;
// a multi applies its sub-ops in order and either all or none, failing
// with its first failing sub-op's code. The history must be the only
// writer of its paths (the paths its ops name), and they must not exist
// when it starts. Paths it never names, such as the directory the
// workload runs in, are assumed to exist and not to change. Not modelled:
// ephemeral, sequential, container and TTL nodes, sessions and their
// expiry, ACLs, watches (see the engine's watch validator), cversion,
// numChildren, ctime and mtime.
//
// # Checker 1: zxid order (CheckZxidOrder), O(n log n)
//
// It uses the zxids ZooKeeper puts in results. A successful write's zxid
// is its create's czxid, its setData's mzxid, or a multi's (its sub-ops'
// Stats must agree). A delete reports no zxid. A read's floor is the
// largest of czxid, mzxid and pzxid in the Stat it returned: a write with
// that zxid was committed before the read's state, so the read saw a
// state at least that new. Writes' zxids are floors too. With A → B
// meaning A returned before B was invoked (closed intervals: equal ticks
// are concurrent), it checks:
//
//  1. No two writes report one zxid.
//  2. Real-time order: if A → B and B is a write with a zxid, floor(A) <
//     zxid(B). In a linearizable ZooKeeper zxid order is the
//     linearization of writes, and B is linearized after everything A
//     made or saw.
//  3. Replay: per path, the creates and setDatas in zxid order through the
//     model must give each write's returned Stat (version, czxid) and
//     respect its expected version. Each successful delete ends one life
//     of the path (creates and deletes alternate); as deletes carry no
//     zxid they are placed by counting: a create of the k-th life needs k
//     deletes invoked before it returned, and no more than k returned
//     before it was invoked.
//  4. Every read (getData, exists, getChildren, found or not) saw a state
//     of its path that held at some zxid Z with lo ≤ Z < hi, where lo is
//     the largest floor of the ops that returned before it was invoked
//     and hi the smallest zxid of the writes invoked after it returned. A
//     found node is identified by czxid and mzxid, and must match the
//     replayed data, version and dataLength; a state ends at the path's
//     next known write (a life's last state: at the next create). The
//     deletes' count bounds the life it may see as in 3.
//
// Each rule is implied by linearizability with zxid order as the order
// of writes (ZooKeeper's guarantee for a single server or for sync'ed
// reads), so a reported violation is real; the converse does not hold.
// The checker does not see getChildren's child list (porcupine does), a
// failed op's code, or a delete's exact place beyond what the counts and
// the next create show. Paths written by an op with an unknown outcome,
// or by a write whose Stat shows no zxid (a go-zookeeper multi create),
// are not replayed (ZxidResult.SkippedPaths); their ops still take part
// in rule 2.
//
// # Checker 2: porcupine (CheckPorcupine)
//
// github.com/anishathalye/porcupine's CheckOperationsVerbose on the model
// above, without zxids: it searches for a linearization that explains
// every result (code, data, version, exists, children), forking the state
// for each Unknown write. The history is partitioned into the connected
// components of its paths: an op joins the paths it names, a create or
// delete its path with its parent (when the parent is a path of the
// history), so a multi's sub-ops and a node's children share a partition.
// The result is Ok, Illegal or Unknown (timed out); for an Illegal
// history it can write porcupine's HTML visualization.
//
// # Proof that the checkers catch violations
//
// Stale and LostWrite wrap a Client into a deliberately broken one: a
// getData answered from an earlier read, a setData acknowledged without
// being applied. The package's tests require both checkers to reject
// their histories on every seed tried, and to accept the engine's.
package lincheck
