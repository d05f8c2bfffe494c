package acl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

func TestDigest(t *testing.T) {
	// SEMANTICS.md §9.2, verified on ZooKeeper 3.8.
	assert.Equal(t, "bob:ikIaKsbtGweaHnb/jKn7OHqbunM=", acl.Digest("bob", "pw"))
	assert.Equal(t, acl.Digest("bob", "pw"), acl.DigestOf("bob:pw"))
	// From ZooKeeper's DigestAuthenticationProvider.generateDigest.
	assert.Equal(t, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=", acl.Digest("super", "test"))
}

func TestValidDigestID(t *testing.T) {
	for id, ok := range map[string]bool{"a:b": true, ":b": true, "a:b:": true, "a:": false, "a:b:c": false, "a": false, "": false, "::": false} {
		assert.Equal(t, ok, acl.ValidDigestID(id), "%q", id)
	}
}

func TestAllowed(t *testing.T) {
	bob := znode.ID{Scheme: "digest", ID: acl.Digest("bob", "pw")}
	list := []znode.ACL{{Perms: znode.PermRead, ID: znode.AnyoneID}, {Perms: znode.PermWrite | znode.PermAdmin, ID: bob}}
	assert.True(t, acl.Allowed(list, nil, znode.PermRead))
	assert.False(t, acl.Allowed(list, nil, znode.PermWrite))
	assert.True(t, acl.Allowed(list, []znode.ID{bob}, znode.PermWrite))
	assert.True(t, acl.Allowed(list, nil, znode.PermRead|znode.PermAdmin), "a mask: any bit grants")
	assert.False(t, acl.Allowed(list, []znode.ID{{Scheme: "digest", ID: "bob:x"}}, znode.PermWrite))
	assert.True(t, acl.Allowed(list, []znode.ID{acl.SuperID}, znode.PermDelete), "super bypasses")
	assert.True(t, acl.Allowed(nil, nil, znode.PermAll), "an empty list allows everything")
	ip := []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "ip", ID: "127.0.0.0/8"}}}
	assert.True(t, acl.Allowed(ip, []znode.ID{{Scheme: "ip", ID: "127.1.2.3"}}, znode.PermRead))
	assert.False(t, acl.Allowed(ip, []znode.ID{{Scheme: "ip", ID: "10.0.0.1"}}, znode.PermRead))
	assert.False(t, acl.Allowed(ip, []znode.ID{{Scheme: "ip", ID: "::1"}}, znode.PermRead))
}

func TestFixup(t *testing.T) {
	bob := znode.ID{Scheme: "digest", ID: acl.Digest("bob", "pw")}
	ipID := znode.ID{Scheme: "ip", ID: "127.0.0.1"}
	got, err := acl.Fixup([]znode.ACL{{Perms: znode.PermAll, ID: znode.AnyoneID}, {Perms: znode.PermAll, ID: znode.AnyoneID}}, nil)
	require.NoError(t, err)
	assert.Equal(t, znode.OpenACL(), got, "duplicates removed")
	got, err = acl.Fixup(znode.CreatorAllACL(), []znode.ID{ipID, bob, acl.SuperID})
	require.NoError(t, err)
	assert.Equal(t, []znode.ACL{{Perms: znode.PermAll, ID: bob}}, got, "auth expands to authenticated ids only")
	invalid := map[string][]znode.ACL{
		"empty":            {},
		"world:bob":        {{Perms: 1, ID: znode.ID{Scheme: "world", ID: "bob"}}},
		"auth without ids": znode.CreatorAllACL(),
		"digest a:b:c":     {{Perms: 1, ID: znode.ID{Scheme: "digest", ID: "a:b:c"}}},
		"ip /33":           {{Perms: 1, ID: znode.ID{Scheme: "ip", ID: "10.0.0.0/33"}}},
		"ip v6":            {{Perms: 1, ID: znode.ID{Scheme: "ip", ID: "::1"}}},
		"super":            {{Perms: 1, ID: acl.SuperID}},
		"unknown":          {{Perms: 1, ID: znode.ID{Scheme: "x509", ID: "cn=a"}}},
	}
	for name, list := range invalid {
		_, err := acl.Fixup(list, []znode.ID{ipID})
		assert.ErrorIs(t, err, znode.ErrInvalidACL, name)
	}
	// ip ids parse as Java ints per octet (found by the conformance suite).
	for id, ok := range map[string]bool{
		"01.02.03.04": true, "1.2.3.0004": true, "+1.2.3.4": true, "-0.1.2.3": true, "1.2.3.4/08": true, "1.2.3.4/+8": true, "1.2.3.4/-0": true,
		"1.2.3.4/": false, "1.2.3.4/ 8": false, "1.2.3.4/8/8": false, "1.2.3.4/-1": false, "1.2.3.4.": false, "1.2.3": false,
		"256.1.1.1": false, "1.2.3.-1": false, "1.2.3.++4": false, "1.2.3.4/99999999999": false,
	} {
		_, err := acl.Fixup([]znode.ACL{{Perms: 1, ID: znode.ID{Scheme: "ip", ID: id}}}, nil)
		assert.Equal(t, ok, err == nil, "ip:%s: %v", id, err)
	}
	got, err = acl.Fixup([]znode.ACL{{Perms: 0, ID: znode.ID{Scheme: "ip", ID: "10.1.0.0/16"}}}, nil)
	require.NoError(t, err, "perms are not validated")
	assert.Len(t, got, 1)
}

func TestMask(t *testing.T) {
	list := []znode.ACL{{Perms: 1, ID: znode.ID{Scheme: "digest", ID: acl.Digest("bob", "pw")}}, {Perms: 1, ID: znode.AnyoneID}}
	masked := acl.Mask(list)
	assert.Equal(t, "bob:x", masked[0].ID.ID)
	assert.Equal(t, znode.AnyoneID, masked[1].ID)
	assert.Equal(t, acl.Digest("bob", "pw"), list[0].ID.ID, "the input is not modified")
}
