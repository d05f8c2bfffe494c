package lincheck

import (
	"context"
	"errors"
	"slices"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// Client is what the workload driver needs of a ZooKeeper session. Errors
// wrap the sentinels of package znode; an error for which znode.CodeOf
// gives a code the model does not know, or a context error, makes the
// outcome Unknown (see Outcome).
type Client interface {
	// Create makes a persistent node with an open ACL and returns its Stat.
	Create(ctx context.Context, path string, data []byte) (znode.Stat, error)
	// Delete removes a node if its version matches (-1: any).
	Delete(ctx context.Context, path string, version int32) error
	// SetData replaces a node's data if its version matches (-1: any).
	SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error)
	// GetData returns a node's data and Stat.
	GetData(ctx context.Context, path string) ([]byte, znode.Stat, error)
	// Exists reports whether a node exists, with its Stat.
	Exists(ctx context.Context, path string) (bool, znode.Stat, error)
	// GetChildren returns a node's children (any order) and its Stat.
	GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error)
	// Multi runs creates, deletes, setDatas and checks atomically. When a
	// sub-op fails it returns one SubResult per op (the failing op with its
	// error, as ZooKeeper reports them) and an error; when the multi as a
	// whole could not run, nil results and an error.
	Multi(ctx context.Context, ops []Op) ([]SubResult, error)
	// Close ends the client's session.
	Close() error
}

// Session is the Client of an embedded session.
type Session struct{ S *zkembed.Session }

var _ Client = Session{}

// Create implements Client.
func (c Session) Create(ctx context.Context, path string, data []byte) (znode.Stat, error) {
	_, st, err := c.S.Create2(ctx, path, data, zkembed.ModePersistent, zkembed.OpenACL())
	return st, err
}

// Delete implements Client.
func (c Session) Delete(ctx context.Context, path string, version int32) error {
	return c.S.Delete(ctx, path, version)
}

// SetData implements Client.
func (c Session) SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	return c.S.SetData(ctx, path, data, version)
}

// GetData implements Client.
func (c Session) GetData(ctx context.Context, path string) ([]byte, znode.Stat, error) {
	return c.S.GetData(ctx, path)
}

// Exists implements Client.
func (c Session) Exists(ctx context.Context, path string) (bool, znode.Stat, error) {
	return c.S.Exists(ctx, path)
}

// GetChildren implements Client.
func (c Session) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	return c.S.GetChildren(ctx, path)
}

// Multi implements Client.
func (c Session) Multi(ctx context.Context, ops []Op) ([]SubResult, error) {
	zops := make([]zkembed.Op, len(ops))
	for i, o := range ops {
		switch o.Kind {
		case KindCreate:
			zops[i] = &zkembed.CreateOp{Path: o.Path, Data: []byte(o.Data), Mode: zkembed.ModePersistent, ACL: zkembed.OpenACL()}
		case KindDelete:
			zops[i] = &zkembed.DeleteOp{Path: o.Path, Version: o.Version}
		case KindSetData:
			zops[i] = &zkembed.SetDataOp{Path: o.Path, Data: []byte(o.Data), Version: o.Version}
		case KindCheck:
			zops[i] = &zkembed.CheckOp{Path: o.Path, Version: o.Version}
		default:
			return nil, errors.New("lincheck: " + o.Kind.String() + " in a multi")
		}
	}
	res, err := c.S.Multi(ctx, zops...)
	if res == nil {
		return nil, err
	}
	out := make([]SubResult, len(res))
	for i, r := range res {
		out[i] = SubResult{Code: znode.CodeOf(r.Err), Stat: r.Stat}
	}
	return out, err
}

// Close implements Client.
func (c Session) Close() error { return c.S.Close(context.Background()) }

// known are the error codes the model gives meaning to: an operation
// failing with one of them did nothing.
var known = map[znode.Code]bool{
	znode.CodeOK: true, znode.CodeNoNode: true, znode.CodeNodeExists: true,
	znode.CodeBadVersion: true, znode.CodeNotEmpty: true,
}

// Outcome turns an error into a Result's Code and Unknown: a context
// error, a lost connection, a timeout or any code outside the model
// (NoNode, NodeExists, BadVersion, NotEmpty) leaves the outcome unknown,
// as etcd's robustness tests treat a failed request.
func Outcome(err error) (code znode.Code, unknown bool) {
	if err == nil {
		return znode.CodeOK, false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return 0, true
	}
	code = znode.CodeOf(err)
	return code, !known[code]
}

// Perform runs op on c and returns its Result.
func Perform(ctx context.Context, c Client, op Op) Result {
	var r Result
	var err error
	switch op.Kind {
	case KindCreate:
		r.Stat, err = c.Create(ctx, op.Path, []byte(op.Data))
	case KindDelete:
		err = c.Delete(ctx, op.Path, op.Version)
	case KindSetData:
		r.Stat, err = c.SetData(ctx, op.Path, []byte(op.Data), op.Version)
	case KindGetData:
		var b []byte
		b, r.Stat, err = c.GetData(ctx, op.Path)
		r.Data = string(b)
	case KindExists:
		r.Exists, r.Stat, err = c.Exists(ctx, op.Path)
		if !r.Exists {
			r.Stat = znode.Stat{}
		}
	case KindGetChildren:
		r.Children, r.Stat, err = c.GetChildren(ctx, op.Path)
		if r.Children == nil {
			r.Children = []string{}
		}
		slices.Sort(r.Children)
	case KindMulti:
		r.Sub, err = c.Multi(ctx, op.Sub)
		if err != nil && r.Sub != nil {
			// The multi's code is its failing sub-op's.
			for _, s := range r.Sub {
				if s.Code != znode.CodeOK && s.Code != znode.CodeRuntimeInconsistency {
					err = s.Code
					break
				}
			}
		}
	default:
		panic("lincheck: unknown op kind " + op.Kind.String())
	}
	r.Code, r.Unknown = Outcome(err)
	if r.Code != znode.CodeOK || r.Unknown {
		r = Result{Code: r.Code, Unknown: r.Unknown, Sub: r.Sub}
		if r.Unknown {
			r.Code, r.Sub = 0, nil
		}
	}
	return r
}
