package acl_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// token is a custom scheme for tests: addAuth data "ok:<name>" yields
// token:<name>; an ACL id "team-*" matches every caller id with that prefix.
type token struct{ authenticated bool }

func (token) Scheme() string { return "token" }
func (token) Authenticate(auth []byte, _ netip.Addr) ([]znode.ID, error) {
	name, ok := strings.CutPrefix(string(auth), "ok:")
	if !ok {
		return nil, errors.New("bad token")
	}
	return []znode.ID{{Scheme: "token", ID: name}}, nil
}
func (token) Matches(caller, aclID string) bool {
	if p, ok := strings.CutSuffix(aclID, "*"); ok {
		return strings.HasPrefix(caller, p)
	}
	return caller == aclID
}
func (token) Valid(id string) bool      { return id != "" && !strings.Contains(id, " ") }
func (t token) Authenticated() bool     { return t.authenticated }
func digestID(user, pw string) znode.ID { return znode.ID{Scheme: "digest", ID: acl.Digest(user, pw)} }

func TestNewAuthorizerRejects(t *testing.T) {
	for name, f := range map[string]func() error{
		"bad super digest": func() error { _, err := acl.NewAuthorizer("nocolon"); return err },
		"builtin scheme":   func() error { _, err := acl.NewAuthorizer("", builtinProvider{"digest"}); return err },
		"twice":            func() error { _, err := acl.NewAuthorizer("", token{}, token{}); return err },
		"empty scheme":     func() error { _, err := acl.NewAuthorizer("", builtinProvider{""}); return err },
	} {
		assert.ErrorIs(t, f(), znode.ErrBadArguments, name)
	}
}

type builtinProvider struct{ scheme string }

func (p builtinProvider) Scheme() string                                    { return p.scheme }
func (builtinProvider) Authenticate([]byte, netip.Addr) ([]znode.ID, error) { return nil, nil }
func (builtinProvider) Matches(string, string) bool                         { return true }
func (builtinProvider) Valid(string) bool                                   { return true }
func (builtinProvider) Authenticated() bool                                 { return true }

func TestAuthenticate(t *testing.T) {
	a, err := acl.NewAuthorizer(acl.Digest("super", "root-pw"), token{})
	require.NoError(t, err)
	addr := netip.MustParseAddr("10.1.2.3")
	for _, tt := range []struct {
		scheme, auth string
		want         []znode.ID
		err          error
	}{
		{"digest", "bob:pw", []znode.ID{digestID("bob", "pw")}, nil},
		{"digest", "super:root-pw", []znode.ID{acl.SuperID, digestID("super", "root-pw")}, nil},
		{"digest", "super:wrong", []znode.ID{digestID("super", "wrong")}, nil},
		{"ip", "anything", []znode.ID{{Scheme: "ip", ID: "10.1.2.3"}}, nil},
		{"token", "ok:team-a", []znode.ID{{Scheme: "token", ID: "team-a"}}, nil},
		{"token", "nope", nil, znode.ErrAuthFailed},
		{"super", "x", nil, znode.ErrAuthFailed},
		{"world", "anyone", nil, znode.ErrAuthFailed},
		{"sasl", "x", nil, znode.ErrAuthFailed},
	} {
		got, err := a.Authenticate(tt.scheme, []byte(tt.auth), addr)
		if tt.err != nil {
			assert.ErrorIs(t, err, tt.err, "%s %s", tt.scheme, tt.auth)
			continue
		}
		require.NoError(t, err, "%s %s", tt.scheme, tt.auth)
		assert.Equal(t, tt.want, got, "%s %s", tt.scheme, tt.auth)
	}
	got, err := a.Authenticate("ip", nil, netip.Addr{})
	require.NoError(t, err)
	assert.Empty(t, got, "a session without an address gains no ip id")
}

func TestAddrID(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":         "127.0.0.1",
		"::ffff:10.0.0.1":   "10.0.0.1",
		"::1":               "0:0:0:0:0:0:0:1",
		"fe80::1%eth0":      "fe80:0:0:0:0:0:0:1%eth0",
		"2001:db8::ab:cdef": "2001:db8:0:0:0:0:ab:cdef",
	} {
		id, ok := acl.AddrID(netip.MustParseAddr(in))
		require.True(t, ok)
		assert.Equal(t, znode.ID{Scheme: "ip", ID: want}, id, in)
	}
	_, ok := acl.AddrID(netip.Addr{})
	assert.False(t, ok)
}

func TestJavaString(t *testing.T) {
	// Valid UTF-8 is kept; testdata/digest_vectors.txt holds what Java
	// makes of ill-formed input.
	for _, in := range []string{"plain", "é中", "\U0001F600x", ""} {
		assert.Equal(t, in, acl.JavaString([]byte(in)), "%q", in)
	}
}

func TestIdentity(t *testing.T) {
	a, err := acl.NewAuthorizer("", token{authenticated: true})
	require.NoError(t, err)
	bob := digestID("bob", "pw")
	team := znode.ID{Scheme: "token", ID: "team-a"}
	base := a.Identity(znode.ID{Scheme: "ip", ID: "127.0.0.1"})
	who := base.With(bob, team, bob)
	assert.Equal(t, []znode.ID{{Scheme: "ip", ID: "127.0.0.1"}}, base.IDs(), "With does not change the receiver")
	assert.ElementsMatch(t, []znode.ID{{Scheme: "ip", ID: "127.0.0.1"}, bob, team}, who.IDs(), "ids are a set")
	// Two identities grown from one base must not share appended ids.
	other := base.With(digestID("eve", "x"))
	assert.ElementsMatch(t, []znode.ID{{Scheme: "ip", ID: "127.0.0.1"}, bob, team}, who.IDs())
	assert.Len(t, other.IDs(), 2)

	list := []znode.ACL{{Perms: znode.PermRead, ID: znode.ID{Scheme: "token", ID: "team-*"}}}
	assert.True(t, who.Allowed(list, znode.PermRead), "a provider matches its own ids")
	assert.False(t, base.Allowed(list, znode.PermRead))
	assert.False(t, who.Allowed(list, znode.PermWrite))

	fixed, err := who.Fixup(znode.CreatorAllACL())
	require.NoError(t, err)
	assert.ElementsMatch(t, []znode.ACL{{Perms: znode.PermAll, ID: bob}, {Perms: znode.PermAll, ID: team}}, fixed,
		"auth expands to digest and authenticated provider ids, not ip")
	_, err = who.Fixup([]znode.ACL{{Perms: 1, ID: znode.ID{Scheme: "token", ID: "has space"}}})
	assert.ErrorIs(t, err, znode.ErrInvalidACL, "the provider validates its ids")

	b, err := acl.NewAuthorizer("", token{authenticated: false})
	require.NoError(t, err)
	_, err = b.Identity(team).Fixup(znode.CreatorAllACL())
	assert.ErrorIs(t, err, znode.ErrInvalidACL, "ids of a provider that is not authenticated do not expand auth")

	var nobody *acl.Identity
	assert.True(t, nobody.Allowed(znode.ReadACL(), znode.PermRead))
	assert.False(t, nobody.Allowed([]znode.ACL{{Perms: znode.PermAll, ID: bob}}, znode.PermRead))
	assert.True(t, a.Identity(acl.SuperID).Allowed([]znode.ACL{{Perms: 0, ID: bob}}, znode.PermAdmin), "super passes every check")
}

func TestWhoAmI(t *testing.T) {
	a, err := acl.NewAuthorizer("")
	require.NoError(t, err)
	// Seen on ZooKeeper 3.8 (zkCli.sh whoami) after addauth digest bob:pw,
	// bob:wrong and super:root-pw (no super digest configured).
	who := a.Identity(znode.ID{Scheme: "ip", ID: "127.0.0.1"}, digestID("bob", "pw"), digestID("bob", "wrong"), digestID("super", "root-pw"))
	assert.Equal(t, []acl.ClientInfo{{Scheme: "digest", User: "bob"}, {Scheme: "digest", User: "super"}, {Scheme: "digest", User: "bob"}, {Scheme: "ip", User: "127.0.0.1"}}, who.WhoAmI())
}

// TestIDOrderMatchesZooKeeper checks the order of 26 ids, enough for two
// resizes of Java's hash table, against real ZooKeeper's whoami.
func TestIDOrderMatchesZooKeeper(t *testing.T) {
	raw, err := os.ReadFile("testdata/whoami_order.txt")
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	a, err := acl.NewAuthorizer("")
	require.NoError(t, err)
	who := a.Identity(znode.ID{Scheme: "ip", ID: "127.0.0.1"})
	// zkCli.sh read the commands before its connection was up, and a
	// client that connects sends its pending auth with addFirst, so the
	// server received them last to first.
	for i := 24; i >= 0; i-- {
		ids, err := a.Authenticate("digest", fmt.Appendf(nil, "user%02d:pw%02d", i, i), netip.Addr{})
		require.NoError(t, err)
		who = who.With(ids...)
	}
	var got []string
	for _, c := range who.WhoAmI() {
		got = append(got, c.Scheme+": "+c.User)
	}
	assert.Equal(t, want, got)
}

// TestFixupZooKeeperQuirks pins two rules found against a real server by
// the ACL conformance matrix.
func TestFixupZooKeeperQuirks(t *testing.T) {
	a, err := acl.NewAuthorizer("")
	require.NoError(t, err)
	bob := digestID("bob", "pw")
	got, err := a.Identity(bob).Fixup([]znode.ACL{{Perms: znode.PermAll, ID: znode.AuthIDs}, {Perms: znode.PermAll, ID: bob}})
	require.NoError(t, err)
	assert.Equal(t, []znode.ACL{{Perms: znode.PermAll, ID: bob}, {Perms: znode.PermAll, ID: bob}}, got,
		"duplicates are removed before auth expands, so an expansion may repeat an entry")

	arabic := []znode.ACL{{Perms: znode.PermRead, ID: znode.ID{Scheme: "ip", ID: "١٢٧.0.0.1"}}}
	got, err = a.Identity().Fixup(arabic)
	require.NoError(t, err, "Java's parseInt reads any decimal digit")
	assert.Equal(t, arabic, got)
	assert.True(t, a.Identity(znode.ID{Scheme: "ip", ID: "127.0.0.1"}).Allowed(arabic, znode.PermRead))
	_, err = a.Identity().Fixup([]znode.ACL{{Perms: znode.PermRead, ID: znode.ID{Scheme: "ip", ID: "𝟏27.0.0.1"}}})
	assert.ErrorIs(t, err, znode.ErrInvalidACL, "a supplementary-plane digit is two UTF-16 surrogates to Java")
}
