package zkembed_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// Regression tests for the findings of the engine-core review.

// Interning must never map two different ACL lists to one: ids may hold
// any byte, including the separators an ambiguous key would use. And a
// failed multi must leave nothing behind (replay at cleanup proves it).
func TestACLInterningIsExact(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	evil := []zkembed.ACL{{Perms: zkembed.PermRead, ID: zkembed.ID{Scheme: "digest", ID: "admin:hash\x00\x1f\x00\x00\x00world\x00anyone"}}}
	normal := []zkembed.ACL{{Perms: zkembed.PermAll, ID: zkembed.ID{Scheme: "digest", ID: "admin:hash"}}, {Perms: zkembed.PermRead, ID: znode.AnyoneID}}
	// Planted by a multi that fails...
	_, err := s.Multi(ctx, &zkembed.CreateOp{Path: "/attacker", ACL: evil}, &zkembed.DeleteOp{Path: "/missing", Version: -1})
	require.ErrorIs(t, err, zkembed.ErrNoNode)
	// ...and by a plain create.
	_, err = s.Create(ctx, "/attacker2", nil, zkembed.ModePersistent, evil)
	require.NoError(t, err)
	_, err = s.Create(ctx, "/victim", []byte("x"), zkembed.ModePersistent, normal)
	require.NoError(t, err)
	got, _, err := s.GetACL(ctx, "/victim")
	require.NoError(t, err)
	assert.Equal(t, []zkembed.ACL{{Perms: zkembed.PermAll, ID: zkembed.ID{Scheme: "digest", ID: "admin:x"}}, {Perms: zkembed.PermRead, ID: znode.AnyoneID}}, got)
	_, _, err = s.GetData(ctx, "/victim")
	assert.NoError(t, err, "world may read /victim")
}

// ZooKeeper checks a multi's ops one by one: an earlier op's failure wins
// over a later op's bad arguments, and the results say so per op.
func TestMultiChecksArgumentsInTurn(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	res, err := s.Multi(ctx, &zkembed.DeleteOp{Path: "/missing", Version: -1}, &zkembed.CreateOp{Path: "/x", Mode: 7, ACL: zkembed.OpenACL()})
	require.ErrorIs(t, err, zkembed.ErrNoNode)
	require.Len(t, res, 2)
	assert.ErrorIs(t, res[0].Err, zkembed.ErrNoNode)
	assert.ErrorIs(t, res[1].Err, zkembed.ErrRuntimeInconsistency)
	mustCreate(t, s, "/a", "")
	res, err = s.Multi(ctx, &zkembed.SetDataOp{Path: "/a", Version: -1}, &zkembed.CreateOp{Path: "/x", Mode: 7, ACL: zkembed.OpenACL()})
	require.ErrorIs(t, err, zkembed.ErrBadArguments)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, zkembed.ErrBadArguments)
}

func TestTypedNilOps(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	for _, op := range []zkembed.Op{(*zkembed.CreateOp)(nil), (*zkembed.DeleteOp)(nil), (*zkembed.SetDataOp)(nil), (*zkembed.CheckOp)(nil), nil} {
		_, err := s.Multi(ctx, op)
		assert.ErrorIs(t, err, zkembed.ErrMarshallingError, "%T", op)
	}
	for _, op := range []zkembed.ReadOp{(*zkembed.GetDataOp)(nil), (*zkembed.GetChildrenOp)(nil), nil} {
		_, err := s.MultiRead(ctx, op)
		assert.ErrorIs(t, err, zkembed.ErrMarshallingError, "%T", op)
	}
}

// getEphemerals trims as Java's String.trim does: every char <= ' ' and
// nothing else.
func TestGetEphemeralsTrimsLikeJava(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	_, err := s.Create(ctx, "/e", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	for prefix, want := range map[string][]string{"\x01": {"/e"}, "\x00": {"/e"}, " / ": {"/e"}, "\u00a0": {}, "\u2003/": {}} {
		got, err := s.GetEphemerals(ctx, prefix)
		require.NoError(t, err)
		assert.Equal(t, want, got, "prefix %q", prefix)
	}
}

func TestMaxDataSizeFitsInt32(t *testing.T) {
	_, err := zkembed.Open("", &zkembed.Options{MaxDataSize: 1 << 31})
	assert.ErrorIs(t, err, zkembed.ErrBadArguments)
}
