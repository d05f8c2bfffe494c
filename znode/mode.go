package znode

import (
	"fmt"
	"time"
)

// CreateMode is the kind of node a create makes, with ZooKeeper's flag
// values.
type CreateMode int32

// The create modes (CreateMode.java). There is no ephemeral TTL mode and no
// sequential container.
const (
	ModePersistent                  CreateMode = 0
	ModeEphemeral                   CreateMode = 1
	ModePersistentSequential        CreateMode = 2
	ModeEphemeralSequential         CreateMode = 3
	ModeContainer                   CreateMode = 4
	ModePersistentWithTTL           CreateMode = 5
	ModePersistentSequentialWithTTL CreateMode = 6
)

// Valid reports whether m is one of the seven modes.
func (m CreateMode) Valid() bool { return m >= 0 && m <= 6 }

// IsSequential reports whether m appends a sequence suffix.
func (m CreateMode) IsSequential() bool {
	return m == ModePersistentSequential || m == ModeEphemeralSequential || m == ModePersistentSequentialWithTTL
}

// IsEphemeral reports whether m makes a session-owned node.
func (m CreateMode) IsEphemeral() bool {
	return m == ModeEphemeral || m == ModeEphemeralSequential
}

// IsTTL reports whether m makes a TTL node.
func (m CreateMode) IsTTL() bool {
	return m == ModePersistentWithTTL || m == ModePersistentSequentialWithTTL
}

// IsContainer reports whether m makes a container.
func (m CreateMode) IsContainer() bool { return m == ModeContainer }

// String returns ZooKeeper's name for the mode (CreateMode.java).
func (m CreateMode) String() string {
	switch m {
	case ModePersistent:
		return "PERSISTENT"
	case ModeEphemeral:
		return "EPHEMERAL"
	case ModePersistentSequential:
		return "PERSISTENT_SEQUENTIAL"
	case ModeEphemeralSequential:
		return "EPHEMERAL_SEQUENTIAL"
	case ModeContainer:
		return "CONTAINER"
	case ModePersistentWithTTL:
		return "PERSISTENT_WITH_TTL"
	case ModePersistentSequentialWithTTL:
		return "PERSISTENT_SEQUENTIAL_WITH_TTL"
	}
	return fmt.Sprintf("CreateMode(%d)", int32(m))
}

// MaxTTL is the largest TTL ZooKeeper accepts: 2^40-1 ms, because the TTL is
// stored in the low 40 bits of ephemeralOwner.
const MaxTTL = 1<<40 - 1

// Stored ephemeralOwner encodings (EphemeralType.java). Clients see 0 for
// containers and TTL nodes; the raw value is what the tree and the log keep.
const (
	ContainerOwner int64 = -1 << 63 // 0x8000000000000000
	ttlOwnerMark   int64 = -1 << 56 // 0xFF00000000000000
)

// TTLOwner returns the raw ephemeralOwner of a TTL node with ttl ms.
func TTLOwner(ttlMillis int64) int64 { return ttlOwnerMark | ttlMillis }

// OwnerKind classifies a raw ephemeralOwner value.
type OwnerKind int

// The kinds of node a raw ephemeralOwner encodes.
const (
	KindPersistent OwnerKind = iota
	KindEphemeral
	KindContainer
	KindTTL
)

// KindOf decodes a raw ephemeralOwner. Session ids never have 0xFF in the top
// byte (zkembed's server id is 1), so the TTL encoding cannot collide.
func KindOf(owner int64) OwnerKind {
	switch {
	case owner == 0:
		return KindPersistent
	case owner == ContainerOwner:
		return KindContainer
	case owner&ttlOwnerMark == ttlOwnerMark:
		return KindTTL
	}
	return KindEphemeral
}

// TTLOf returns the TTL of a raw TTL owner value.
func TTLOf(owner int64) time.Duration {
	return time.Duration(owner&MaxTTL) * time.Millisecond
}

// VisibleOwner is the ephemeralOwner a client sees for a raw value.
func VisibleOwner(owner int64) int64 {
	if KindOf(owner) == KindEphemeral {
		return owner
	}
	return 0
}
