package txn

import (
	"fmt"
	"strings"

	"github.com/zkembed/zkembed/znode"
)

// Type is the kind of an Op. The values are ZooKeeper's opcodes where one
// exists, so a log dump reads like ZooKeeper's TxnLogToolkit.
type Type int32

// The op types.
const (
	TypeCreate          Type = 1   // CreateTxn: path, data, acl, owner, parent cversion
	TypeDelete          Type = 2   // DeleteTxn: path
	TypeSetData         Type = 5   // SetDataTxn: path, data, new version
	TypeSetACL          Type = 7   // SetACLTxn: path, acl, new aversion
	TypeCheck           Type = 13  // CheckVersionTxn: path, version (multi only; no effect)
	TypeDeleteContainer Type = 20  // a reaped container or expired TTL node: path
	TypeCreateSession   Type = -10 // CreateSessionTxn: session, timeout
	TypeCloseSession    Type = -11 // CloseSessionTxn: session, ephemeral paths to delete
	TypeEpoch           Type = -20 // zkembed only: the zxid epoch advanced
)

// String returns the type's name, as a log dump shows it.
func (t Type) String() string {
	switch t {
	case TypeCreate:
		return "create"
	case TypeDelete:
		return "delete"
	case TypeSetData:
		return "setData"
	case TypeSetACL:
		return "setACL"
	case TypeCheck:
		return "check"
	case TypeDeleteContainer:
		return "deleteContainer"
	case TypeCreateSession:
		return "createSession"
	case TypeCloseSession:
		return "closeSession"
	case TypeEpoch:
		return "epoch"
	}
	return fmt.Sprintf("Type(%d)", int32(t))
}

// Op is one change. Which fields matter depends on Type; the others are zero.
type Op struct {
	Type Type
	Path string

	// Data is the node's new data (create, setData). Nil and empty differ:
	// nil is ZooKeeper's null buffer.
	Data []byte
	// ACL is the node's ACL after fix-up (create, setACL).
	ACL []znode.ACL
	// Owner is the raw ephemeralOwner of a created node: 0, a session id,
	// znode.ContainerOwner, or a znode.TTLOwner value.
	Owner int64
	// ParentCversion is the parent's stored cversion after a create.
	ParentCversion int32
	// Version is the new version (setData), the new aversion (setACL), or the
	// expected version (check).
	Version int32

	// Session is the session created or closed (createSession, closeSession).
	Session int64
	// Timeout is the negotiated session timeout in ms (createSession).
	Timeout int32
	// Kind says where the created session's client is (createSession);
	// records of format version 1 do not say (SessionKindUnknown).
	Kind SessionKind
	// Paths are the ephemerals a closeSession deletes, in deletion order.
	// Nil means every ephemeral the session owns, in reverse path order:
	// the engine writes that when listing them would make the record too
	// large.
	Paths []string
	// Epoch is the new epoch (epoch).
	Epoch int64
}

// SessionKind says where a session's client is, which decides what an
// engine reopened after a restart does with the session: a client in
// another process may reconnect, one in the previous process never will.
type SessionKind uint8

// The session kinds.
const (
	// SessionKindUnknown is the kind of a session whose createSession
	// record predates kinds (format version 1).
	SessionKindUnknown SessionKind = 0
	// SessionInProcess is a session opened in the engine's process
	// (DB.NewSession): it cannot outlive that process.
	SessionInProcess SessionKind = 1
	// SessionRemote is a session opened by a client of the wire protocol,
	// which may reconnect to it after a restart.
	SessionRemote SessionKind = 2
)

// String returns the kind's name, as a log dump shows it.
func (k SessionKind) String() string {
	switch k {
	case SessionKindUnknown:
		return "unknown"
	case SessionInProcess:
		return "in-process"
	case SessionRemote:
		return "remote"
	}
	return fmt.Sprintf("SessionKind(%d)", uint8(k))
}

// Txn is one logged transaction: one zxid, one time, and one or more ops.
// A multi is a Txn with Multi set; its ops apply all or nothing.
type Txn struct {
	Zxid    znode.Zxid
	Time    int64 // wall-clock ms, from the engine's clock when prepared
	Session int64 // the session that issued it; 0 for the engine itself
	Multi   bool
	Ops     []Op

	// Digest is the digest of the whole tree after the transaction (see
	// package tree), if HasDigest. The engine records it in every logged
	// transaction so that replay can prove it rebuilt the same tree.
	Digest    uint64
	HasDigest bool
}

// String renders the transaction on one line for logs and test failures.
func (t *Txn) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v t=%d s=0x%x", t.Zxid, t.Time, t.Session)
	if t.Multi {
		b.WriteString(" multi")
	}
	if t.HasDigest {
		fmt.Fprintf(&b, " digest=%016x", t.Digest)
	}
	for _, op := range t.Ops {
		fmt.Fprintf(&b, " [%v %s", op.Type, op.Path)
		switch op.Type {
		case TypeCreate:
			fmt.Fprintf(&b, " data=%q owner=0x%x pcv=%d acl=%v", op.Data, op.Owner, op.ParentCversion, op.ACL)
		case TypeSetData:
			fmt.Fprintf(&b, " data=%q v=%d", op.Data, op.Version)
		case TypeSetACL:
			fmt.Fprintf(&b, " acl=%v v=%d", op.ACL, op.Version)
		case TypeCheck:
			fmt.Fprintf(&b, " v=%d", op.Version)
		case TypeCreateSession:
			fmt.Fprintf(&b, "session=0x%x timeout=%d kind=%v", op.Session, op.Timeout, op.Kind)
		case TypeCloseSession:
			fmt.Fprintf(&b, "session=0x%x paths=%v", op.Session, op.Paths)
		case TypeEpoch:
			fmt.Fprintf(&b, "epoch=%d", op.Epoch)
		}
		b.WriteString("]")
	}
	return b.String()
}
