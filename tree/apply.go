package tree

import (
	"fmt"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// ApplyError reports a record that does not fit the tree: a create of an
// existing node, a delete of a missing one, a zxid that does not increase.
// Records the engine prepared never cause one; in replay it means the log
// and the tree disagree. It matches znode.ErrDataInconsistency.
type ApplyError struct {
	Zxid   znode.Zxid
	Op     txn.Type
	Path   string
	Reason string
}

// Error implements error.
func (e *ApplyError) Error() string {
	return fmt.Sprintf("apply %v %v %s: %s", e.Zxid, e.Op, e.Path, e.Reason)
}

// Unwrap returns znode.ErrDataInconsistency.
func (e *ApplyError) Unwrap() error { return znode.ErrDataInconsistency }

// Emit receives a watch event and the ACL of the node it is about (the
// parent, for NodeChildrenChanged; the deleted node, for NodeDeleted):
// ZooKeeper delivers a notification only to a watcher with READ on it.
type Emit func(e znode.Event, acl []znode.ACL)

// Apply applies x to t and calls emit (if not nil) with each watch event the
// change causes, in ZooKeeper's order. On error t may hold the ops of x
// before the failing one; the engine never applies a record it did not
// validate, and a multi is validated on a Clone first.
// REQUIRES: t is writable.
func (t *Tree) Apply(x *txn.Txn, emit Emit) error {
	if x.Zxid <= t.zxid {
		return &ApplyError{Zxid: x.Zxid, Reason: fmt.Sprintf("zxid not after %v", t.zxid)}
	}
	for i := range x.Ops {
		if err := t.ApplyOp(x.Zxid, x.Time, &x.Ops[i], emit); err != nil {
			return err
		}
	}
	t.zxid = x.Zxid
	return nil
}

// ApplyOp applies one op of a transaction at zxid and time ms. The engine
// uses it to prepare a multi op by op; Apply uses it for every op.
// REQUIRES: t is writable.
func (t *Tree) ApplyOp(zxid znode.Zxid, time int64, op *txn.Op, emit Emit) error {
	fail := func(reason string) error {
		return &ApplyError{Zxid: zxid, Op: op.Type, Path: op.Path, Reason: reason}
	}
	switch op.Type {
	case txn.TypeCreate:
		return t.create(zxid, time, op, emit, fail)
	case txn.TypeDelete, txn.TypeDeleteContainer:
		return t.delete(zxid, op.Path, emit, fail)
	case txn.TypeCloseSession:
		paths := op.Paths
		if paths == nil {
			// A record too large to list them says "all of them", in
			// the engine's deletion order: reverse path order.
			paths = t.DeletionOrder(op.Session)
		}
		for _, p := range paths {
			if err := t.delete(zxid, p, emit, func(r string) error {
				return &ApplyError{Zxid: zxid, Op: op.Type, Path: p, Reason: r}
			}); err != nil {
				return err
			}
		}
	case txn.TypeSetData:
		n := t.Get(op.Path)
		if n == nil {
			return fail("no node")
		}
		c := *n
		c.data, c.nullData = string(op.Data), op.Data == nil
		c.version, c.mzxid, c.mtime = op.Version, zxid, time
		t.put(n, &c)
		if emit != nil {
			emit(znode.Event{Type: znode.EventNodeDataChanged, Path: op.Path, Zxid: zxid}, c.acl.entries)
		}
	case txn.TypeSetACL:
		n := t.Get(op.Path)
		if n == nil {
			return fail("no node")
		}
		c := *n
		c.acl, c.aversion = t.internACL(op.ACL), op.Version
		t.put(n, &c)
	case txn.TypeCheck, txn.TypeCreateSession, txn.TypeEpoch:
		// No effect on the tree: sessions live in the engine, and a check
		// only guards a multi.
	default:
		return fail("unknown op type")
	}
	return nil
}

func (t *Tree) create(zxid znode.Zxid, time int64, op *txn.Op, emit Emit, fail func(string) error) error {
	parentPath, _ := znode.Split(op.Path)
	parent := t.Get(parentPath)
	if parent == nil {
		return fail("no parent")
	}
	if t.Get(op.Path) != nil {
		return fail("node exists")
	}
	n := &Node{
		path:     op.Path,
		split:    lastSlash(op.Path),
		data:     string(op.Data),
		nullData: op.Data == nil,
		acl:      t.internACL(op.ACL),
		czxid:    zxid,
		mzxid:    zxid,
		pzxid:    zxid,
		ctime:    time,
		mtime:    time,
		owner:    op.Owner,
	}
	t.put(nil, n)
	p := *parent
	p.numChildren++
	// As ZooKeeper's DataTree.createNode: cversion and pzxid move only up.
	// At int32 max the stored cversion sticks, and so does pzxid.
	if op.ParentCversion > p.cversion {
		p.cversion, p.pzxid = op.ParentCversion, zxid
	}
	t.put(parent, &p)
	t.index(n, true)
	if emit != nil {
		emit(znode.Event{Type: znode.EventNodeCreated, Path: op.Path, Zxid: zxid}, n.acl.entries)
		emit(znode.Event{Type: znode.EventNodeChildrenChanged, Path: parentPath, Zxid: zxid}, p.acl.entries)
	}
	return nil
}

func (t *Tree) delete(zxid znode.Zxid, path string, emit Emit, fail func(string) error) error {
	n := t.Get(path)
	if n == nil {
		return fail("no node")
	}
	if n.numChildren != 0 {
		return fail("node has children")
	}
	parentPath, _ := znode.Split(path)
	parent := t.Get(parentPath)
	if parent == nil {
		return fail("no parent")
	}
	t.remove(n)
	p := *parent
	p.numChildren--
	if zxid > p.pzxid {
		p.pzxid = zxid
	}
	t.put(parent, &p)
	t.index(n, false)
	if emit != nil {
		emit(znode.Event{Type: znode.EventNodeDeleted, Path: path, Zxid: zxid}, n.acl.entries)
		emit(znode.Event{Type: znode.EventNodeChildrenChanged, Path: parentPath, Zxid: zxid}, p.acl.entries)
	}
	return nil
}

// index adds n to (or removes it from) the index its kind belongs to: the
// ephemeral index, or the containers-and-TTL index.
func (t *Tree) index(n *Node, add bool) {
	switch n.Kind() {
	case znode.KindEphemeral:
		if k := (ephKey{owner: n.owner, path: n.path}); add {
			t.ephs.Set(k)
		} else {
			t.ephs.Delete(k)
		}
		t.w.dirtyEphs = true
	case znode.KindContainer, znode.KindTTL:
		if add {
			t.timed.Set(n.path)
		} else {
			t.timed.Delete(n.path)
		}
		t.w.dirtyTimed = true
	}
}
