// Package zkconv converts between go-zookeeper's types and errors and
// package znode's, for the code that drives a real ZooKeeper (or zkembed
// serve) through go-zookeeper: the recipe adapter and the shell. Errors
// keep go-zookeeper's value and also match znode's sentinel with
// errors.Is.
package zkconv

import (
	"errors"
	"io"
	"net"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed/znode"
)

// ACL converts an ACL list to go-zookeeper's.
func ACL(list []znode.ACL) []zk.ACL {
	out := make([]zk.ACL, len(list))
	for i, a := range list {
		out[i] = zk.ACL{Perms: int32(a.Perms), Scheme: a.ID.Scheme, ID: a.ID.ID}
	}
	return out
}

// Stat converts go-zookeeper's Stat (nil: the zero Stat).
func Stat(st *zk.Stat) znode.Stat {
	if st == nil {
		return znode.Stat{}
	}
	return znode.Stat{
		Czxid: znode.Zxid(st.Czxid), Mzxid: znode.Zxid(st.Mzxid),
		Ctime: st.Ctime, Mtime: st.Mtime,
		Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion,
		EphemeralOwner: st.EphemeralOwner, DataLength: st.DataLength,
		NumChildren: st.NumChildren, Pzxid: znode.Zxid(st.Pzxid),
	}
}

// zkErrors maps go-zookeeper's errors to the znode sentinels.
var zkErrors = []struct{ zk, sentinel error }{
	{zk.ErrNoNode, znode.ErrNoNode},
	{zk.ErrNodeExists, znode.ErrNodeExists},
	{zk.ErrNotEmpty, znode.ErrNotEmpty},
	{zk.ErrBadVersion, znode.ErrBadVersion},
	{zk.ErrNoChildrenForEphemerals, znode.ErrNoChildrenForEphemerals},
	{zk.ErrInvalidACL, znode.ErrInvalidACL},
	{zk.ErrNoAuth, znode.ErrNoAuth},
	{zk.ErrBadArguments, znode.ErrBadArguments},
	{zk.ErrSessionExpired, znode.ErrSessionExpired},
	{zk.ErrAuthFailed, znode.ErrAuthFailed},
	{zk.ErrSessionMoved, znode.ErrSessionMoved},
	{zk.ErrAPIError, znode.ErrAPIError},
	{zk.ErrReconfigDisabled, znode.ErrReconfigDisabled},
	{zk.ErrConnectionClosed, znode.ErrConnectionLoss},
	{zk.ErrClosing, znode.ErrConnectionLoss},
	{zk.ErrNoServer, znode.ErrConnectionLoss},
	{zk.ErrUnknown, znode.ErrSystemError},
}

// zkError wraps a go-zookeeper error so that errors.Is matches both it and
// the znode sentinel it stands for.
type zkError struct{ zk, sentinel error }

func (e zkError) Error() string   { return e.zk.Error() }
func (e zkError) Unwrap() []error { return []error{e.zk, e.sentinel} }

// OpError wraps err (nil: nil) in a *znode.OpError naming the operation and
// path, mapping go-zookeeper's errors to znode's sentinels. A transport
// error go-zookeeper passes on as is (a failed write of the request) is a
// connection loss: the request's outcome is unknown.
func OpError(op, path string, err error) error {
	if err == nil {
		return nil
	}
	for _, m := range zkErrors {
		if errors.Is(err, m.zk) {
			return &znode.OpError{Op: op, Path: path, Err: zkError{zk: err, sentinel: m.sentinel}}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
		err = zkError{zk: err, sentinel: znode.ErrConnectionLoss}
	}
	return &znode.OpError{Op: op, Path: path, Err: err}
}

// FromACL converts go-zookeeper's ACL list.
func FromACL(list []zk.ACL) []znode.ACL {
	out := make([]znode.ACL, len(list))
	for i, a := range list {
		out[i] = znode.ACL{Perms: znode.Perm(a.Perms), ID: znode.ID{Scheme: a.Scheme, ID: a.ID}}
	}
	return out
}
