package znode_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/zkembed/zkembed/znode"
)

func TestCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int32
	}{
		{znode.ErrNoNode, -101},
		{znode.ErrNoAuth, -102},
		{znode.ErrBadVersion, -103},
		{znode.ErrNoChildrenForEphemerals, -108},
		{znode.ErrNodeExists, -110},
		{znode.ErrNotEmpty, -111},
		{znode.ErrSessionExpired, -112},
		{znode.ErrInvalidACL, -114},
		{znode.ErrBadArguments, -8},
		{znode.ErrUnimplemented, -6},
		{znode.ErrMarshallingError, -5},
		{znode.ErrRuntimeInconsistency, -2},
		{znode.ErrNoWatcher, -121},
	}
	for _, tt := range tests {
		wrapped := &znode.OpError{Op: "op", Path: "/p", Err: fmt.Errorf("context: %w", tt.err)}
		assert.ErrorIs(t, wrapped, tt.err)
		assert.Equal(t, znode.Code(tt.code), znode.CodeOf(wrapped))
		assert.NotContains(t, tt.err.Error(), "zookeeper error", "every code has a message")
	}
	assert.Equal(t, znode.CodeOK, znode.CodeOf(nil))
	assert.Equal(t, znode.CodeSystemError, znode.CodeOf(errors.New("other")))
	assert.Equal(t, znode.CodeSystemError, znode.CodeOf(context.Canceled))
	assert.False(t, errors.Is(znode.ErrNoNode, znode.ErrNodeExists))
	assert.Equal(t, "zkembed: create /a/b: node does not exist",
		(&znode.OpError{Op: "create", Path: "/a/b", Err: znode.ErrNoNode}).Error())
}

func TestZxidLayout(t *testing.T) {
	l := znode.DefaultLayout
	z := l.Make(3, 7)
	assert.Equal(t, znode.Zxid(3<<32|7), z)
	assert.Equal(t, int64(3), l.Epoch(z))
	assert.Equal(t, int64(7), l.Counter(z))
	assert.Equal(t, int64(0xffffffff), l.MaxCounter())
	small := znode.Layout{CounterBits: 2}
	assert.Equal(t, znode.Zxid(0b1011), small.Make(2, 3))
	assert.Equal(t, int64(3), small.MaxCounter())
	assert.Equal(t, "0x300000007", z.String())
}

func TestOwnerKinds(t *testing.T) {
	assert.Equal(t, znode.KindPersistent, znode.KindOf(0))
	assert.Equal(t, znode.KindEphemeral, znode.KindOf(0x0100000498790000))
	assert.Equal(t, znode.KindContainer, znode.KindOf(znode.ContainerOwner))
	owner := znode.TTLOwner(5000)
	assert.Equal(t, int64(-0x100000000000000+5000), owner)
	assert.Equal(t, znode.KindTTL, znode.KindOf(owner))
	assert.Equal(t, int64(5000), znode.TTLOf(owner).Milliseconds())
	assert.Equal(t, znode.KindTTL, znode.KindOf(znode.TTLOwner(znode.MaxTTL)))
	assert.Equal(t, int64(0), znode.VisibleOwner(owner))
	assert.Equal(t, int64(0), znode.VisibleOwner(znode.ContainerOwner))
	assert.Equal(t, int64(42), znode.VisibleOwner(42))
}

// Permissions render as zkCli renders them.
func TestPermLetters(t *testing.T) {
	for p, want := range map[znode.Perm]string{
		0: "", znode.PermAll: "cdrwa", znode.PermRead: "r", znode.PermRead | znode.PermAdmin: "ra",
		znode.PermWrite | znode.PermCreate: "cw", znode.PermAll | 1<<7: "cdrwa",
	} {
		assert.Equal(t, want, p.Letters(), "%#x", int32(p))
	}
}
