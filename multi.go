package zkembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// Op is one operation of a Multi: a *CreateOp, *DeleteOp, *SetDataOp or
// *CheckOp.
type Op interface {
	opPath() string
}

// CreateOp creates a node in a Multi. Mode and TTL follow Create and
// CreateTTL: a TTL mode needs TTL > 0, other modes need TTL == 0.
type CreateOp struct {
	Path string
	Data []byte
	Mode CreateMode
	ACL  []ACL
	TTL  time.Duration
}

// DeleteOp deletes a node in a Multi.
type DeleteOp struct {
	Path    string
	Version int32
}

// SetDataOp sets a node's data in a Multi.
type SetDataOp struct {
	Path    string
	Data    []byte
	Version int32
}

// CheckOp requires a node to exist with the given version (-1: any) and READ
// permission; it changes nothing. It exists only inside a Multi: ZooKeeper
// 3.8.5+ answers a top-level check with Unimplemented.
type CheckOp struct {
	Path    string
	Version int32
}

func (o *CreateOp) opPath() string  { return o.Path }
func (o *DeleteOp) opPath() string  { return o.Path }
func (o *SetDataOp) opPath() string { return o.Path }
func (o *CheckOp) opPath() string   { return o.Path }

// OpResult is the outcome of one operation of a Multi or MultiRead.
type OpResult struct {
	// Path is the created path (with any sequence suffix) for a create, and
	// the op's path otherwise.
	Path string
	// Stat is the node's Stat after a create or setData, or as read by a
	// GetDataOp.
	Stat Stat
	// Data is what a GetDataOp read.
	Data []byte
	// Children are what a GetChildrenOp read, sorted.
	Children []string
	// Err is nil on success. In a failed Multi the failing op has its
	// error, the ops before it nil, and the ops after it
	// ErrRuntimeInconsistency, as ZooKeeper reports them.
	Err error
}

// Multi runs ops as one transaction: all succeed under one zxid, or none
// has any effect. Each op is checked against the state the earlier ops
// leave (create then setData the same node works). On failure Multi returns
// the per-op results and the failing op's error.
func (s *Session) Multi(ctx context.Context, ops ...Op) ([]OpResult, error) {
	results, _, err := s.multi(ctx, ops)
	return results, err
}

// multi is Multi; it also returns the zxid of the multi's record, 0 if
// it made none (no ops, or a failure).
func (s *Session) multi(ctx context.Context, ops []Op) ([]OpResult, Zxid, error) {
	results := make([]OpResult, len(ops))
	if len(ops) == 0 {
		_, err := s.begin(ctx, "multi", "")
		return results, 0, err
	}
	reqs, err := s.db.multiArgs(ops)
	if err != nil {
		return nil, 0, err
	}
	session, err := s.begin(ctx, "multi", "")
	if err != nil {
		return nil, 0, err
	}
	var opFailed bool
	var zxid Zxid
	err = s.db.update("multi", "", func() error {
		var err error
		opFailed, err = s.multiLocked(session, ops, reqs, results)
		if err == nil {
			zxid = s.db.mu.working.Zxid() // the multi's record's: see write
		}
		return err
	})
	if err != nil && (!opFailed || errors.Is(err, ErrFailed)) {
		return nil, 0, err // the multi as a whole failed: no per-op results
	}
	return results, zxid, err
}

// multiLocked validates and commits a multi, filling results. opFailed
// reports that err is one op's failure, recorded in results.
// REQUIRES: db.mu held.
func (s *Session) multiLocked(session int64, ops []Op, reqs []*createReq, results []OpResult) (opFailed bool, err error) {
	db := s.db
	if err := s.checkLocked("multi", ""); err != nil {
		return false, err
	}
	// Prepare on a clone, so each op sees the earlier ones and a failure
	// leaves the working tree untouched; then commit the records, which
	// applies them to the working tree exactly as replay will. An epoch
	// change due first is made now, so the clone knows the multi's zxid.
	now := db.nowMillis()
	if err := db.rollEpochIfSpentLocked(now); err != nil {
		return false, &OpError{Op: "multi", Err: err}
	}
	scratch := db.mu.working.Clone()
	zxid := scratch.Zxid() + 1
	txops := make([]txn.Op, len(ops))
	for i, op := range ops {
		txop, err := s.prepareMultiOp(scratch, session, op, reqs[i])
		if err == nil {
			err = scratch.ApplyOp(zxid, now, &txop, nil)
		}
		if err != nil {
			for j := i + 1; j < len(ops); j++ {
				results[j] = OpResult{Path: ops[j].opPath(), Err: znode.ErrRuntimeInconsistency}
			}
			opErr := &OpError{Op: "multi", Path: op.opPath(), Err: err}
			results[i] = OpResult{Path: op.opPath(), Err: opErr}
			for j := 0; j < i; j++ {
				results[j] = OpResult{Path: ops[j].opPath()} // nothing was committed
			}
			return true, opErr
		}
		txops[i] = txop
		results[i].Path = txop.Path
		if txop.Type == txn.TypeCreate || txop.Type == txn.TypeSetData {
			results[i].Stat = scratch.Get(txop.Path).Stat()
		}
	}
	if err := db.commitMultiLocked(session, now, txops); err != nil {
		return false, &OpError{Op: "multi", Err: err}
	}
	return false, nil
}

// multiArgs checks the shape of a multi before the session is looked at:
// every op must be one of the four op types (ZooKeeper answers anything else
// with MarshallingError for the whole request). It copies each create's
// arguments; their values are checked later, in turn, as ZooKeeper's server
// checks them op by op.
func (db *DB) multiArgs(ops []Op) ([]*createReq, error) {
	reqs := make([]*createReq, len(ops))
	// Like jute.maxbuffer, the data limit bounds the whole request, so a
	// multi's record always fits in the log.
	total := 0
	for i, op := range ops {
		ok := false
		switch o := op.(type) {
		case *CreateOp:
			if ok = o != nil; ok {
				reqs[i] = &createReq{path: o.Path, data: bytes.Clone(o.Data), mode: o.Mode, acl: o.ACL, ttl: -1}
				if o.Mode.IsTTL() || o.TTL != 0 {
					reqs[i].ttl = ttlMillis(o.TTL)
				}
			}
		case *DeleteOp:
			ok = o != nil
		case *SetDataOp:
			ok = o != nil
		case *CheckOp:
			ok = o != nil
		}
		if !ok {
			return nil, &OpError{Op: "multi", Err: fmt.Errorf("%w: op %d (%T) is not a multi op", znode.ErrMarshallingError, i, op)}
		}
		total += opSize(op)
	}
	if total > db.opts.MaxDataSize {
		return nil, &OpError{Op: "multi", Err: fmt.Errorf("%w: the multi carries %d bytes, the limit is %d", znode.ErrBadArguments, total, db.opts.MaxDataSize)}
	}
	return reqs, nil
}

// opSize is the bytes an op carries: its path and data.
func opSize(op Op) int {
	switch o := op.(type) {
	case *CreateOp:
		n := len(o.Path) + len(o.Data)
		for _, a := range o.ACL {
			n += len(a.Scheme) + len(a.ID.ID)
		}
		return n
	case *SetDataOp:
		return len(o.Path) + len(o.Data)
	}
	return len(op.opPath())
}

func (s *Session) prepareMultiOp(t *tree.Tree, session int64, op Op, req *createReq) (txn.Op, error) {
	switch o := op.(type) {
	case *CreateOp:
		if err := s.db.checkCreateArgs(req); err != nil {
			return txn.Op{}, err
		}
		return prepareCreate(t, s.who(), session, req)
	case *DeleteOp:
		return prepareDelete(t, s.who(), o.Path, o.Version)
	case *SetDataOp:
		if err := s.db.checkDataSize(o.Data); err != nil {
			return txn.Op{}, err
		}
		return prepareSetData(t, s.who(), o.Path, bytes.Clone(o.Data), o.Version)
	case *CheckOp:
		return prepareCheck(t, s.who(), o.Path, o.Version)
	}
	panic("unreachable: multiArgs accepted " + fmt.Sprintf("%T", op))
}

// ReadOp is one read of a MultiRead: a *GetDataOp or *GetChildrenOp.
type ReadOp interface {
	readPath() string
}

// GetDataOp reads a node's data and Stat in a MultiRead.
type GetDataOp struct{ Path string }

// GetChildrenOp lists a node's children in a MultiRead.
type GetChildrenOp struct{ Path string }

func (o *GetDataOp) readPath() string     { return o.Path }
func (o *GetChildrenOp) readPath() string { return o.Path }

// MultiRead runs reads independently, as ZooKeeper's read-only multi does:
// each has the checks of the single read (ErrNoNode, then READ), and a
// failure sets only that op's Err. All reads see the same snapshot. It sets
// no watches.
func (s *Session) MultiRead(ctx context.Context, ops ...ReadOp) ([]OpResult, error) {
	if _, err := s.begin(ctx, "multiRead", ""); err != nil {
		return nil, err
	}
	t := s.db.readRoot()
	results := make([]OpResult, len(ops))
	for i, op := range ops {
		switch o := op.(type) {
		case *GetDataOp, *GetChildrenOp:
			if o == (*GetDataOp)(nil) || o == (*GetChildrenOp)(nil) {
				return nil, &OpError{Op: "multiRead", Err: fmt.Errorf("%w: op %d is nil", znode.ErrMarshallingError, i)}
			}
		default:
			return nil, &OpError{Op: "multiRead", Err: fmt.Errorf("%w: op %d (%T) is not a read op", znode.ErrMarshallingError, i, op)}
		}
		path := op.readPath()
		results[i].Path = path
		n, err := checkNode(t, s.who(), path, znode.PermRead)
		if err != nil {
			results[i].Err = &OpError{Op: "multiRead", Path: path, Err: err}
			continue
		}
		results[i].Stat = n.Stat()
		switch op.(type) {
		case *GetDataOp:
			results[i].Data = n.Data()
		case *GetChildrenOp:
			results[i].Children = t.ChildNames(n)
		}
	}
	return results, nil
}

// deleteAllBatch is zkCli's default deleteall batch size.
const deleteAllBatch = 1000

// DeleteAll deletes path and everything below it, as zkCli's deleteall
// (ZKUtil.deleteRecursive) does: it lists the subtree breadth-first, then
// deletes it leaves first in multis of up to 1000 deletes. Like ZooKeeper's,
// it is not atomic as a whole; it stops at the first failing batch.
func (s *Session) DeleteAll(ctx context.Context, path string) error {
	if err := znode.ValidatePath(path); err != nil {
		return &OpError{Op: "deleteall", Path: path, Err: err}
	}
	t, n, err := s.readIn(ctx, "deleteall", path, znode.PermRead)
	if err != nil {
		return err
	}
	// List breadth-first with getChildren's check (READ) on every node;
	// readIn checked path, and the nodes below come from the same snapshot.
	who := s.who()
	nodes := []*tree.Node{n}
	subtree := []string{path}
	for i := 0; i < len(nodes); i++ {
		if i > 0 && !who.Allowed(nodes[i].ACL(), znode.PermRead) {
			return &OpError{Op: "deleteall", Path: subtree[i], Err: znode.ErrNoAuth}
		}
		if nodes[i].NumChildren() == 0 {
			continue
		}
		t.Children(subtree[i], func(c *tree.Node) bool {
			nodes = append(nodes, c)
			subtree = append(subtree, c.Path())
			return true
		})
	}
	for end := len(subtree); end > 0; end -= deleteAllBatch {
		start := max(end-deleteAllBatch, 0)
		ops := make([]Op, 0, end-start)
		for i := end - 1; i >= start; i-- {
			ops = append(ops, &DeleteOp{Path: subtree[i], Version: -1})
		}
		if _, err := s.Multi(ctx, ops...); err != nil {
			return err
		}
	}
	return nil
}
