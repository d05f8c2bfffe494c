package znode

import "fmt"

// Perm is a set of ZooKeeper permission bits. A check passes when an ACL
// entry shares any bit with the requested mask (SEMANTICS.md §9.1).
type Perm int32

// The permission bits.
const (
	PermRead   Perm = 1 << 0
	PermWrite  Perm = 1 << 1
	PermCreate Perm = 1 << 2
	PermDelete Perm = 1 << 3
	PermAdmin  Perm = 1 << 4
	PermAll    Perm = 0x1f
)

// Letters renders p as zkCli does (ZKUtil.getPermString): a letter per
// defined bit in the order cdrwa; bits ZooKeeper does not define are left
// out.
func (p Perm) Letters() string {
	var b [5]byte
	n := 0
	for _, x := range [...]struct {
		bit    Perm
		letter byte
	}{{PermCreate, 'c'}, {PermDelete, 'd'}, {PermRead, 'r'}, {PermWrite, 'w'}, {PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b[n] = x.letter
			n++
		}
	}
	return string(b[:n])
}

// ID is an authentication identity: a scheme and an id within it, such as
// {"world", "anyone"} or {"digest", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="}.
type ID struct {
	Scheme string
	ID     string
}

// String returns "scheme:id".
func (id ID) String() string { return id.Scheme + ":" + id.ID }

// ACL grants Perms to the identities matching ID.
type ACL struct {
	Perms Perm
	ID
}

// String returns "scheme:id:perms".
func (a ACL) String() string { return fmt.Sprintf("%s:%d", a.ID, a.Perms) }

// Well-known identities and ACL lists (ZooDefs.Ids).
var (
	// AnyoneID matches every caller.
	AnyoneID = ID{Scheme: "world", ID: "anyone"}
	// AuthIDs stands for the caller's authenticated ids in an ACL.
	AuthIDs = ID{Scheme: "auth", ID: ""}
)

// OpenACL gives everyone every permission (OPEN_ACL_UNSAFE).
func OpenACL() []ACL { return []ACL{{Perms: PermAll, ID: AnyoneID}} }

// CreatorAllACL gives the creator's authenticated ids every permission
// (CREATOR_ALL_ACL).
func CreatorAllACL() []ACL { return []ACL{{Perms: PermAll, ID: AuthIDs}} }

// ReadACL gives everyone read permission (READ_ACL_UNSAFE).
func ReadACL() []ACL { return []ACL{{Perms: PermRead, ID: AnyoneID}} }
