package zkembed

import (
	"fmt"
	"math"
	"strings"

	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// The prepare functions validate one write against a tree in ZooKeeper's
// server order (PrepRequestProcessor; SEMANTICS.md §3) and turn it into a
// fully decided txn.Op. They only read the tree. Errors are bare causes; the
// caller wraps them in an *OpError.

// createReq is a create as the caller asked for it.
type createReq struct {
	path string
	data []byte
	mode znode.CreateMode
	acl  []znode.ACL
	ttl  int64 // ms; -1 when the call was not createTTL
	as   createAs
}

// createAs says what decides a created node's kind. In ZooKeeper it is the
// request's opcode (its txn type), not its flags, which are only validated
// and name sequential nodes: createContainer makes a container whatever
// the flags, create and create2 a plain or ephemeral node, even with the
// container flag (SEMANTICS.md §3.1). The Go API has no opcode: its mode
// decides.
type createAs int8

const (
	asMode      createAs = iota // the mode decides (the Go API, and multi sub-ops, whose opcode ZooKeeper derives from the flags)
	asCreate                    // a wire create or create2
	asContainer                 // a wire createContainer
)

// checkCreateArgs runs the checks ZooKeeper makes before looking at the
// session or the tree: flags, the TTL rules, and (zkembed) the data size.
func (db *DB) checkCreateArgs(r *createReq) error {
	if !r.mode.Valid() {
		return fmt.Errorf("%w: invalid create mode %d", znode.ErrBadArguments, int32(r.mode))
	}
	if r.mode.IsTTL() && !db.opts.ExtendedTypes {
		return fmt.Errorf("%w: TTL nodes need Options.ExtendedTypes", znode.ErrUnimplemented)
	}
	if r.mode.IsTTL() {
		if r.ttl < 1 || r.ttl > znode.MaxTTL {
			return fmt.Errorf("%w: ttl %dms outside [1, %d]", znode.ErrBadArguments, r.ttl, int64(znode.MaxTTL))
		}
	} else if r.ttl != -1 {
		return fmt.Errorf("%w: createTTL needs a TTL mode, got %v", znode.ErrBadArguments, r.mode)
	}
	return db.checkDataSize(r.data)
}

func (db *DB) checkDataSize(data []byte) error {
	if len(data) > db.opts.MaxDataSize {
		return fmt.Errorf("%w: data is %d bytes, the limit is %d", znode.ErrBadArguments, len(data), db.opts.MaxDataSize)
	}
	return nil
}

// prepareCreate validates a create whose arguments passed checkCreateArgs.
func prepareCreate(t *tree.Tree, who *acl.Identity, session int64, r *createReq) (txn.Op, error) {
	slash := strings.LastIndexByte(r.path, '/')
	if slash < 0 || strings.IndexByte(r.path, 0) >= 0 {
		return txn.Op{}, znode.ValidatePath(r.path)
	}
	fixed, err := who.Fixup(r.acl)
	if err != nil {
		return txn.Op{}, err
	}
	parent := t.Get(r.path[:slash])
	if parent == nil {
		return txn.Op{}, znode.ErrNoNode
	}
	if !who.Allowed(parent.ACL(), znode.PermCreate) {
		return txn.Op{}, znode.ErrNoAuth
	}
	final := r.path
	cversion := parent.StoredCversion()
	if r.mode.IsSequential() {
		if cversion == math.MaxInt32 {
			// ZooKeeper 3.8 would hand out ...2147483647 again (and fail
			// with NodeExists); zkembed says why.
			return txn.Op{}, fmt.Errorf("%w: sequence counter of %s is exhausted", znode.ErrNodeExists, parent.Path())
		}
		final = znode.SequentialName(r.path, cversion)
	}
	if err := znode.ValidatePath(final); err != nil {
		return txn.Op{}, err
	}
	if t.Get(final) != nil {
		return txn.Op{}, znode.ErrNodeExists
	}
	if parent.Kind() == znode.KindEphemeral {
		return txn.Op{}, znode.ErrNoChildrenForEphemerals
	}
	if cversion < math.MaxInt32 {
		cversion++ // at int32 max it sticks, as in ZooKeeper
	}
	return txn.Op{
		Type:           txn.TypeCreate,
		Path:           final,
		Data:           r.data,
		ACL:            fixed,
		Owner:          ownerFor(r, session),
		ParentCversion: cversion,
	}, nil
}

func ownerFor(r *createReq, session int64) int64 {
	switch {
	case r.as == asContainer:
		return znode.ContainerOwner
	case r.as == asCreate && !r.mode.IsEphemeral():
		return 0
	case r.mode.IsEphemeral():
		return session
	case r.mode.IsContainer():
		return znode.ContainerOwner
	case r.mode.IsTTL():
		return znode.TTLOwner(r.ttl)
	}
	return 0
}

func prepareDelete(t *tree.Tree, who *acl.Identity, path string, version int32) (txn.Op, error) {
	slash := strings.LastIndexByte(path, '/')
	if slash < 0 || strings.IndexByte(path, 0) >= 0 {
		return txn.Op{}, znode.ValidatePath(path)
	}
	if znode.IsSystemPath(path) {
		return txn.Op{}, fmt.Errorf("%w: %s is a built-in node", znode.ErrBadArguments, path)
	}
	parent := t.Get(path[:slash])
	if parent == nil {
		return txn.Op{}, znode.ErrNoNode
	}
	if !who.Allowed(parent.ACL(), znode.PermDelete) {
		return txn.Op{}, znode.ErrNoAuth
	}
	n := t.Get(path)
	if n == nil {
		return txn.Op{}, znode.ErrNoNode
	}
	if version != -1 && version != n.Version() {
		return txn.Op{}, znode.ErrBadVersion
	}
	if n.NumChildren() > 0 {
		return txn.Op{}, znode.ErrNotEmpty
	}
	return txn.Op{Type: txn.TypeDelete, Path: path}, nil
}

func prepareSetData(t *tree.Tree, who *acl.Identity, path string, data []byte, version int32) (txn.Op, error) {
	if err := znode.ValidatePath(path); err != nil {
		return txn.Op{}, err
	}
	n, err := checkNode(t, who, path, znode.PermWrite)
	if err != nil {
		return txn.Op{}, err
	}
	if version != -1 && version != n.Version() {
		return txn.Op{}, znode.ErrBadVersion
	}
	return txn.Op{Type: txn.TypeSetData, Path: path, Data: data, Version: n.Version() + 1}, nil
}

func prepareSetACL(t *tree.Tree, who *acl.Identity, path string, list []znode.ACL, version int32) (txn.Op, error) {
	if err := znode.ValidatePath(path); err != nil {
		return txn.Op{}, err
	}
	fixed, err := who.Fixup(list)
	if err != nil {
		return txn.Op{}, err
	}
	n, err := checkNode(t, who, path, znode.PermAdmin)
	if err != nil {
		return txn.Op{}, err
	}
	if version != -1 && version != n.Aversion() {
		return txn.Op{}, znode.ErrBadVersion
	}
	return txn.Op{Type: txn.TypeSetACL, Path: path, ACL: fixed, Version: n.Aversion() + 1}, nil
}

func prepareCheck(t *tree.Tree, who *acl.Identity, path string, version int32) (txn.Op, error) {
	if err := znode.ValidatePath(path); err != nil {
		return txn.Op{}, err
	}
	n, err := checkNode(t, who, path, znode.PermRead)
	if err != nil {
		return txn.Op{}, err
	}
	if version != -1 && version != n.Version() {
		return txn.Op{}, znode.ErrBadVersion
	}
	return txn.Op{Type: txn.TypeCheck, Path: path, Version: version}, nil
}
