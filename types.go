package zkembed

import (
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// The data model's types, defined in package znode and re-exported here so
// that users need only this package.
type (
	// Stat is a znode's metadata; see znode.Stat.
	Stat = znode.Stat
	// CreateMode is the kind of node a create makes; see znode.CreateMode.
	CreateMode = znode.CreateMode
	// ACL grants permissions to an identity; see znode.ACL.
	ACL = znode.ACL
	// ID is an authentication identity; see znode.ID.
	ID = znode.ID
	// Perm is a set of permission bits; see znode.Perm.
	Perm = znode.Perm
	// Zxid is a transaction id; see znode.Zxid.
	Zxid = znode.Zxid
	// Code is a ZooKeeper error code; see znode.Code.
	Code = znode.Code
	// OpError is the error operations return; see znode.OpError.
	OpError = znode.OpError
	// EventType is a watch event type; see znode.EventType.
	EventType = znode.EventType
)

// Create modes, with ZooKeeper's flag values.
const (
	ModePersistent                  = znode.ModePersistent
	ModeEphemeral                   = znode.ModeEphemeral
	ModePersistentSequential        = znode.ModePersistentSequential
	ModeEphemeralSequential         = znode.ModeEphemeralSequential
	ModeContainer                   = znode.ModeContainer
	ModePersistentWithTTL           = znode.ModePersistentWithTTL
	ModePersistentSequentialWithTTL = znode.ModePersistentSequentialWithTTL
)

// Permission bits.
const (
	PermRead   = znode.PermRead
	PermWrite  = znode.PermWrite
	PermCreate = znode.PermCreate
	PermDelete = znode.PermDelete
	PermAdmin  = znode.PermAdmin
	PermAll    = znode.PermAll
)

// OpenACL gives everyone every permission (ZooKeeper's OPEN_ACL_UNSAFE).
func OpenACL() []ACL { return znode.OpenACL() }

// CreatorAllACL gives the creator's authenticated ids every permission.
func CreatorAllACL() []ACL { return znode.CreatorAllACL() }

// ReadACL gives everyone read permission.
func ReadACL() []ACL { return znode.ReadACL() }

// The sentinel errors. Every error an operation returns is an *OpError
// wrapping one of them; test with errors.Is, and map to ZooKeeper's numeric
// code with znode.CodeOf.
var (
	ErrNoNode                  = znode.ErrNoNode
	ErrNodeExists              = znode.ErrNodeExists
	ErrNotEmpty                = znode.ErrNotEmpty
	ErrBadVersion              = znode.ErrBadVersion
	ErrNoChildrenForEphemerals = znode.ErrNoChildrenForEphemerals
	ErrInvalidACL              = znode.ErrInvalidACL
	ErrNoAuth                  = znode.ErrNoAuth
	ErrBadArguments            = znode.ErrBadArguments
	ErrSessionExpired          = znode.ErrSessionExpired
	ErrUnimplemented           = znode.ErrUnimplemented
	ErrRuntimeInconsistency    = znode.ErrRuntimeInconsistency
	ErrDataInconsistency       = znode.ErrDataInconsistency
	ErrMarshallingError        = znode.ErrMarshallingError
	ErrSystemError             = znode.ErrSystemError
	ErrConnectionLoss          = znode.ErrConnectionLoss
	ErrAuthFailed              = znode.ErrAuthFailed
	ErrNoWatcher               = znode.ErrNoWatcher
	ErrQuotaExceeded           = znode.ErrQuotaExceeded
	ErrOperationTimeout        = znode.ErrOperationTimeout
)

// ErrClosed is returned by operations on a closed engine. It wraps
// ErrConnectionLoss, what a ZooKeeper client sees when its server goes away.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string { return "engine closed" }
func (closedError) Unwrap() error { return znode.ErrConnectionLoss }

// WorldACL gives everyone perms (go-zookeeper's zk.WorldACL).
func WorldACL(perms Perm) []ACL { return []ACL{{Perms: perms, ID: znode.AnyoneID}} }

// DigestACL gives the digest user with password perms (go-zookeeper's
// zk.DigestACL). Only the digest is kept, never the password.
func DigestACL(perms Perm, user, password string) []ACL {
	return []ACL{{Perms: perms, ID: ID{Scheme: "digest", ID: acl.Digest(user, password)}}}
}

// AuthACL gives the creating session's authenticated ids perms
// (go-zookeeper's zk.AuthACL); creating with it fails with ErrInvalidACL
// for a session without any.
func AuthACL(perms Perm) []ACL { return []ACL{{Perms: perms, ID: znode.AuthIDs}} }
