package zkembed

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// Create creates a node and returns its path (with the sequence suffix for
// sequential modes). mode is one of the non-TTL modes; ModeContainer makes a
// container. Use CreateTTL for TTL nodes: with a TTL mode Create fails as
// ZooKeeper's create does (ErrUnimplemented without Options.ExtendedTypes,
// ErrBadArguments with it). Checks run in ZooKeeper's order: mode, session,
// path form, ACL (ErrInvalidACL), parent (ErrNoNode), CREATE permission on
// the parent (ErrNoAuth), full path validation (ErrBadArguments),
// ErrNodeExists, ErrNoChildrenForEphemerals.
func (s *Session) Create(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL) (string, error) {
	p, _, _, err := s.create(ctx, "create", &createReq{path: path, data: data, mode: mode, acl: acl, ttl: -1})
	return p, err
}

// Create2 is Create that also returns the new node's Stat.
func (s *Session) Create2(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL) (string, Stat, error) {
	p, st, _, err := s.create(ctx, "create2", &createReq{path: path, data: data, mode: mode, acl: acl, ttl: -1})
	return p, st, err
}

// CreateTTL creates a TTL node: mode must be ModePersistentWithTTL or
// ModePersistentSequentialWithTTL, ttl between 1ms and 2^40-1 ms, and the
// engine opened with Options.ExtendedTypes. The node is deleted once it has
// no children and ttl has passed since its last setData (or its creation).
func (s *Session) CreateTTL(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL, ttl time.Duration) (string, Stat, error) {
	p, st, _, err := s.create(ctx, "createTTL", &createReq{path: path, data: data, mode: mode, acl: acl, ttl: ttlMillis(ttl)})
	return p, st, err
}

// create is Create, Create2 and CreateTTL; it also returns the zxid of the
// create.
func (s *Session) create(ctx context.Context, opName string, r *createReq) (string, Stat, Zxid, error) {
	if err := ctx.Err(); err != nil {
		return "", Stat{}, 0, &OpError{Op: opName, Path: r.path, Err: err}
	}
	if err := s.db.checkCreateArgs(r); err != nil {
		return "", Stat{}, 0, &OpError{Op: opName, Path: r.path, Err: err}
	}
	r.data = bytes.Clone(r.data)
	var final string
	stat, zxid, err := s.write(ctx, opName, r.path, func(t *tree.Tree) (txn.Op, error) {
		op, err := prepareCreate(t, s.who(), s.st.id, r)
		final = op.Path
		return op, err
	})
	if err != nil {
		return "", Stat{}, 0, err
	}
	return final, stat, zxid, nil
}

// Delete deletes the node at path if its version matches (-1 matches any).
// Checks run in ZooKeeper's order: path form and built-in nodes
// (ErrBadArguments), parent (ErrNoNode), DELETE permission on the parent
// (ErrNoAuth, even when the node is missing), ErrNoNode, ErrBadVersion,
// ErrNotEmpty.
func (s *Session) Delete(ctx context.Context, path string, version int32) error {
	_, err := s.delete(ctx, path, version)
	return err
}

// delete is Delete; it also returns the zxid of the delete.
func (s *Session) delete(ctx context.Context, path string, version int32) (Zxid, error) {
	_, zxid, err := s.write(ctx, "delete", path, func(t *tree.Tree) (txn.Op, error) {
		return prepareDelete(t, s.who(), path, version)
	})
	return zxid, err
}

// SetData replaces the node's data if its version matches (-1 matches any)
// and returns the new Stat. Checks: path (ErrBadArguments), ErrNoNode, WRITE
// permission (ErrNoAuth), ErrBadVersion.
func (s *Session) SetData(ctx context.Context, path string, data []byte, version int32) (Stat, error) {
	st, _, err := s.setData(ctx, path, data, version)
	return st, err
}

// setData is SetData; it also returns the zxid of the setData.
func (s *Session) setData(ctx context.Context, path string, data []byte, version int32) (Stat, Zxid, error) {
	if err := s.db.checkDataSize(data); err != nil {
		return Stat{}, 0, &OpError{Op: "setData", Path: path, Err: err}
	}
	data = bytes.Clone(data) // nil stays nil: ZooKeeper's null buffer
	return s.write(ctx, "setData", path, func(t *tree.Tree) (txn.Op, error) {
		return prepareSetData(t, s.who(), path, data, version)
	})
}

// SetACL replaces the node's ACL if its ACL version matches (-1 matches any)
// and returns the new Stat. Checks: path (ErrBadArguments), ACL
// (ErrInvalidACL), ErrNoNode, ADMIN permission (ErrNoAuth), ErrBadVersion.
// It fires no watch.
func (s *Session) SetACL(ctx context.Context, path string, list []ACL, version int32) (Stat, error) {
	st, _, err := s.setACL(ctx, path, list, version)
	return st, err
}

// setACL is SetACL; it also returns the zxid of the setACL.
func (s *Session) setACL(ctx context.Context, path string, list []ACL, version int32) (Stat, Zxid, error) {
	return s.write(ctx, "setACL", path, func(t *tree.Tree) (txn.Op, error) {
		return prepareSetACL(t, s.who(), path, list, version)
	})
}

// write runs one prepared write through the commit pipeline and returns the
// Stat of the node the op wrote (zero after a delete) and the zxid of its
// record, which the wire server's reply carries (meaningless with an
// error). path is the path the caller gave, for errors; a sequential
// create's op has the final path.
func (s *Session) write(ctx context.Context, opName, path string, prepare func(*tree.Tree) (txn.Op, error)) (Stat, Zxid, error) {
	session, err := s.begin(ctx, opName, path)
	if err != nil {
		return Stat{}, 0, err
	}
	db := s.db
	var stat Stat
	var zxid Zxid
	err = db.update(opName, path, func() error {
		if err := s.checkLocked(opName, path); err != nil {
			return err
		}
		op, err := prepare(db.mu.working)
		if err == nil {
			err = db.commitOneLocked(session, db.nowMillis(), op)
		}
		if err != nil {
			return &OpError{Op: opName, Path: path, Err: err}
		}
		// Under db.mu, the working tree's zxid is that of the record just
		// committed (after any epoch record committed before it).
		zxid = db.mu.working.Zxid()
		if n := db.mu.working.Get(op.Path); n != nil {
			stat = n.Stat()
		}
		return nil
	})
	return stat, zxid, err
}

// GetData returns the node's data (nil for ZooKeeper's null buffer) and Stat.
// Checks: ErrNoNode, then READ permission (ErrNoAuth). Like ZooKeeper, reads
// do not validate the path: an invalid path is just not found.
func (s *Session) GetData(ctx context.Context, path string) ([]byte, Stat, error) {
	n, err := s.read(ctx, "getData", path, znode.PermRead)
	if err != nil {
		return nil, Stat{}, err
	}
	return n.Data(), n.Stat(), nil
}

// Exists returns whether the node exists and, if it does, its Stat. It needs
// no permission; a path holding a NUL character fails with ErrBadArguments.
func (s *Session) Exists(ctx context.Context, path string) (bool, Stat, error) {
	if _, err := s.begin(ctx, "exists", path); err != nil {
		return false, Stat{}, err
	}
	if err := existsPathCheck(path); err != nil {
		return false, Stat{}, err
	}
	n := s.db.readRoot().Get(path)
	if n == nil {
		return false, Stat{}, nil
	}
	return true, n.Stat(), nil
}

// existsPathCheck is exists' only path check: ZooKeeper looks up any other
// path as it is (and finds nothing), but a NUL cannot be serialized.
func existsPathCheck(path string) error {
	if strings.IndexByte(path, 0) >= 0 {
		return &OpError{Op: "exists", Path: path, Err: znode.ValidatePath(path)}
	}
	return nil
}

// GetChildren returns the names of the node's direct children, sorted, and
// the node's Stat. (ZooKeeper's order is unspecified; sorted is one such
// order.) Checks: ErrNoNode, then READ permission.
func (s *Session) GetChildren(ctx context.Context, path string) ([]string, Stat, error) {
	t, n, err := s.readIn(ctx, "getChildren", path, znode.PermRead)
	if err != nil {
		return nil, Stat{}, err
	}
	return t.ChildNames(n), n.Stat(), nil
}

// GetAllChildrenNumber returns the number of nodes below path at any depth.
// For "/" that counts the built-in /zookeeper nodes, as ZooKeeper does; for
// "" (the root's other name) one more, as ZooKeeper counts every key of its
// node table starting with "/", and the root is also stored as "/".
func (s *Session) GetAllChildrenNumber(ctx context.Context, path string) (int, error) {
	t, _, err := s.readIn(ctx, "getAllChildrenNumber", path, znode.PermRead)
	if err != nil {
		return 0, err
	}
	n := t.CountDescendants(path)
	if path == "" {
		n++
	}
	return n, nil
}

// GetEphemerals returns the paths of this session's ephemeral nodes that
// start with prefix, a plain string prefix ("/a/e" matches "/a/e1"). An empty
// or blank prefix, or "/", matches all. It needs no permission.
func (s *Session) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	session, err := s.begin(ctx, "getEphemerals", prefix)
	if err != nil {
		return nil, err
	}
	// Java's String.trim strips every char <= ' ', and nothing else.
	if trimmed := strings.TrimFunc(prefix, func(r rune) bool { return r <= ' ' }); trimmed == "" || trimmed == "/" {
		prefix = ""
	}
	return s.db.readRoot().EphemeralsWithPrefix(session, prefix), nil
}

// GetACL returns the node's ACL and Stat. It needs READ or ADMIN; without
// ADMIN every digest id is masked to "user:x", as in ZooKeeper.
func (s *Session) GetACL(ctx context.Context, path string) ([]ACL, Stat, error) {
	n, err := s.read(ctx, "getACL", path, znode.PermRead|znode.PermAdmin)
	if err != nil {
		return nil, Stat{}, err
	}
	list := n.ACL()
	if s.who().Allowed(list, znode.PermAdmin) {
		list = append([]ACL(nil), list...)
	} else {
		list = acl.Mask(list)
	}
	return list, n.Stat(), nil
}

// Sync waits until every write acknowledged before it is visible to this
// session, and returns path unchanged. In-process every acknowledged write
// is already visible, so it only checks the session.
func (s *Session) Sync(ctx context.Context, path string) (string, error) {
	if _, err := s.begin(ctx, "sync", path); err != nil {
		return "", err
	}
	return path, nil
}

// read returns the node at path from the read root after checking the
// session and perm.
func (s *Session) read(ctx context.Context, opName, path string, perm znode.Perm) (*tree.Node, error) {
	_, n, err := s.readIn(ctx, opName, path, perm)
	return n, err
}

func (s *Session) readIn(ctx context.Context, opName, path string, perm znode.Perm) (*tree.Tree, *tree.Node, error) {
	if _, err := s.begin(ctx, opName, path); err != nil {
		return nil, nil, err
	}
	t := s.db.readRoot()
	n, err := checkNode(t, s.who(), path, perm)
	if err != nil {
		return nil, nil, &OpError{Op: opName, Path: path, Err: err}
	}
	return t, n, nil
}

// checkNode applies the checks of an operation on an existing node, in the
// server's order: ErrNoNode, then perm.
func checkNode(t *tree.Tree, who *acl.Identity, path string, perm znode.Perm) (*tree.Node, error) {
	n := t.Get(path)
	if n == nil {
		return nil, znode.ErrNoNode
	}
	if !who.Allowed(n.ACL(), perm) {
		return nil, znode.ErrNoAuth
	}
	return n, nil
}

// who returns the session's identity.
func (s *Session) who() *acl.Identity { return s.st.who.Load() }

// ttlMillis converts a caller's TTL to the ms a record holds. A negative or
// sub-millisecond TTL becomes 0, which is out of range, never "no TTL".
func ttlMillis(d time.Duration) int64 { return max(d.Milliseconds(), 0) }
