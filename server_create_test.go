package zkembed_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/wire"
	"github.com/zkembed/zkembed/zktest"
	"github.com/zkembed/zkembed/znode"
)

// Over the wire the opcode decides a node's kind, as ZooKeeper's txn type
// does (SEMANTICS.md §3.1): create with the container flag makes a plain
// node, which the reaper leaves, and createContainer a container whatever
// its flags. A Stat does not show a container (its owner reads 0), so the
// reaper shows it here; the conformance script createKinds compares the
// rest with ZooKeeper.
func TestWireCreateKindFollowsTheOpcode(t *testing.T) {
	e := zktest.New(t, nil)
	c := dialRaw(t, e.Server)
	kinds := []struct {
		op     int32
		path   string
		flags  int32
		reaped bool
	}{
		{wire.OpCreate, "/create-flags4", 4, false},
		{wire.OpCreate2, "/create2-flags4", 4, false},
		{wire.OpCreateContainer, "/container-flags0", 0, true},
		{wire.OpCreateContainer, "/container-flags1", 1, true},
	}
	for _, k := range kinds { // each had a child, now has none
		c.callOK(t, k.op, &wire.CreateRequest{Path: k.path, ACL: znode.OpenACL(), Flags: k.flags})
		c.callOK(t, wire.OpCreate, &wire.CreateRequest{Path: k.path + "/child", ACL: znode.OpenACL()})
		c.callOK(t, wire.OpDelete, &wire.DeleteRequest{Path: k.path + "/child", Version: -1})
	}
	_, err := e.DB.ReapNow()
	require.NoError(t, err)
	s, err := e.DB.NewSession(ctx, nil)
	require.NoError(t, err)
	for _, k := range kinds {
		ok, _, err := s.Exists(ctx, k.path)
		require.NoError(t, err)
		require.Equal(t, !k.reaped, ok, "%s exists after reaping", k.path)
	}
}
