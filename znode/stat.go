package znode

// Stat is a znode's metadata, as a ZooKeeper client sees it: the 11 fields of
// the wire Stat, in wire order.
//
// Cversion is the visible value (2 × child creations − NumChildren, in int32
// arithmetic) and EphemeralOwner is 0 for containers and TTL nodes; see
// SEMANTICS.md §2.2 and §6.2.
type Stat struct {
	Czxid          Zxid  // zxid of the create
	Mzxid          Zxid  // zxid of the last setData (or the create)
	Ctime          int64 // create time, ms since the Unix epoch
	Mtime          int64 // last setData time, ms since the Unix epoch
	Version        int32 // number of setData calls
	Cversion       int32 // child changes (creates + deletes), as ZooKeeper shows it
	Aversion       int32 // number of setACL calls
	EphemeralOwner int64 // owning session of an ephemeral node, else 0
	DataLength     int32 // length of the data
	NumChildren    int32 // number of direct children
	Pzxid          Zxid  // zxid of the last child create or delete
}
