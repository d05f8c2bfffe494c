package acl_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// FuzzFixup: any ACL entry either fixes up into valid entries or fails with
// InvalidACL, never panics, and a fixed-up list is a fixed point.
func FuzzFixup(f *testing.F) {
	for _, s := range [][3]string{{"world", "anyone", ""}, {"ip", "10.0.0.0/8", "127.0.0.1"}, {"digest", "bob:x", ""}, {"auth", "", "digest"}, {"ip", "01.2.3.4/+8", ""}, {"super", "", ""}} {
		f.Add(s[0], s[1], int32(31), s[2], "bob:hash")
	}
	f.Fuzz(func(t *testing.T, scheme, id string, perms int32, callerScheme, callerID string) {
		ids := []znode.ID{{Scheme: callerScheme, ID: callerID}}
		got, err := acl.Fixup([]znode.ACL{{Perms: znode.Perm(perms), ID: znode.ID{Scheme: scheme, ID: id}}}, ids)
		if err != nil {
			require.ErrorIs(t, err, znode.ErrInvalidACL)
			return
		}
		require.NotEmpty(t, got)
		again, err := acl.Fixup(got, nil)
		if scheme != "auth" {
			require.NoError(t, err)
			require.Equal(t, got, again)
		}
		acl.Allowed(got, ids, znode.Perm(perms)) // must not panic
	})
}
