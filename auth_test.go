package zkembed_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

func TestAddAuthDigestGrantsAccess(t *testing.T) {
	e := newEnv(t)
	owner, other := e.session(t), e.session(t)
	require.NoError(t, owner.AddAuth(ctx, "digest", []byte("bob:pw")))
	_, err := owner.Create(ctx, "/secret", []byte("x"), zkembed.ModePersistent, zkembed.DigestACL(zkembed.PermAll, "bob", "pw"))
	require.NoError(t, err)
	_, _, err = other.GetData(ctx, "/secret")
	require.ErrorIs(t, err, zkembed.ErrNoAuth)
	require.NoError(t, other.AddAuth(ctx, "digest", []byte("bob:wrong")))
	_, _, err = other.GetData(ctx, "/secret")
	require.ErrorIs(t, err, zkembed.ErrNoAuth, "a wrong password yields another digest")
	require.NoError(t, other.AddAuth(ctx, "digest", []byte("bob:pw")))
	data, _, err := other.GetData(ctx, "/secret")
	require.NoError(t, err, "auth ids accumulate")
	assert.Equal(t, "x", string(data))

	who, err := other.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Equal(t, []zkembed.ClientInfo{{Scheme: "digest", User: "bob"}, {Scheme: "digest", User: "bob"}}, who,
		"two ids, both bob's: whoAmI shows one entry per id")
}

func TestAddAuthExpandsCreatorACL(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	_, err := s.Create(ctx, "/a", nil, zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermAll))
	require.ErrorIs(t, err, zkembed.ErrInvalidACL, "auth needs an authenticated id")
	require.NoError(t, s.AddAuth(ctx, "digest", []byte("ann:pw")))
	_, err = s.Create(ctx, "/a", nil, zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermRead|zkembed.PermAdmin))
	require.NoError(t, err)
	got, _, err := s.GetACL(ctx, "/a")
	require.NoError(t, err)
	assert.Equal(t, zkembed.DigestACL(zkembed.PermRead|zkembed.PermAdmin, "ann", "pw"), got)
}

func TestSessionAddrIsAnIPID(t *testing.T) {
	e := newEnv(t)
	admin := e.session(t)
	_, err := admin.Create(ctx, "/lan", nil, zkembed.ModePersistent, []zkembed.ACL{{Perms: zkembed.PermRead, ID: zkembed.ID{Scheme: "ip", ID: "10.0.0.0/8"}}})
	require.NoError(t, err)
	inside, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Addr: netip.MustParseAddr("10.20.30.40")})
	require.NoError(t, err)
	outside, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Addr: netip.MustParseAddr("192.168.1.1")})
	require.NoError(t, err)
	_, _, err = inside.GetData(ctx, "/lan")
	assert.NoError(t, err)
	_, _, err = outside.GetData(ctx, "/lan")
	assert.ErrorIs(t, err, zkembed.ErrNoAuth)
	_, _, err = admin.GetData(ctx, "/lan")
	assert.ErrorIs(t, err, zkembed.ErrNoAuth, "a session without an address has no ip id")
	who, err := inside.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Equal(t, []zkembed.ClientInfo{{Scheme: "ip", User: "10.20.30.40"}}, who)
	require.NoError(t, inside.AddAuth(ctx, "ip", []byte("1.2.3.4")), "addauth ip re-adds the session's own address")
	who, err = inside.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Len(t, who, 1)
}

func TestSuperDigest(t *testing.T) {
	e := newEnv(t, func(o *zkembed.Options) { o.SuperDigest = acl.Digest("super", "root-pw") })
	s, root := e.session(t), e.session(t)
	_, err := s.Create(ctx, "/locked", nil, zkembed.ModePersistent, []zkembed.ACL{{Perms: 0, ID: znode.AnyoneID}})
	require.NoError(t, err)
	require.NoError(t, root.AddAuth(ctx, "digest", []byte("super:wrong")))
	_, _, err = root.GetData(ctx, "/locked")
	require.ErrorIs(t, err, zkembed.ErrNoAuth)
	require.NoError(t, root.AddAuth(ctx, "digest", []byte("super:root-pw")))
	_, _, err = root.GetData(ctx, "/locked")
	require.NoError(t, err)
	require.NoError(t, root.Delete(ctx, "/locked", -1))
	who, err := root.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Equal(t, []zkembed.ClientInfo{{Scheme: "digest", User: "super"}, {Scheme: "super", User: ""}, {Scheme: "digest", User: "super"}}, who)
	// "auth" never expands to the super id itself.
	_, err = root.Create(ctx, "/mine", nil, zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermAll))
	require.NoError(t, err)
	got, _, err := root.GetACL(ctx, "/mine")
	require.NoError(t, err)
	for _, a := range got {
		assert.Equal(t, "digest", a.Scheme)
	}

	_, err = zkembed.Open("", &zkembed.Options{SuperDigest: "no-colon"})
	var oe *zkembed.OptionError
	require.True(t, errors.As(err, &oe), "a malformed super digest is an option error: %v", err)
}

func TestAddAuthUnknownSchemeEndsSession(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	_, err := s.Create(ctx, "/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	_, _, w, err := s.ExistsW(ctx, "/nothing")
	require.NoError(t, err)
	stream := s.Events()

	err = s.AddAuth(ctx, "kerberos", []byte("x"))
	require.ErrorIs(t, err, zkembed.ErrAuthFailed)
	var oe *zkembed.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "addAuth", oe.Op)

	ev := <-w
	assert.Equal(t, znode.StateAuthFailed, ev.State, "the watch ends with AuthFailed")
	_, open := <-w
	assert.False(t, open)
	ev = <-stream
	assert.Equal(t, znode.StateAuthFailed, ev.State)

	_, _, err = s.GetData(ctx, "/eph")
	assert.ErrorIs(t, err, zkembed.ErrAuthFailed, "the session takes no more requests")
	_, err = s.Create(ctx, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL())
	assert.ErrorIs(t, err, zkembed.ErrAuthFailed)
	assert.ErrorIs(t, s.AddAuth(ctx, "digest", []byte("a:b")), zkembed.ErrAuthFailed)

	other := e.session(t)
	ok, _, err := other.Exists(ctx, "/eph")
	require.NoError(t, err)
	assert.True(t, ok, "its ephemerals stay until the session ends")
	require.NoError(t, s.Close(ctx))
	ok, _, err = other.Exists(ctx, "/eph")
	require.NoError(t, err)
	assert.False(t, ok, "Close still ends it")
}

// token is a custom scheme: "ok:<name>" authenticates as token:<name>.
type tokenProvider struct{}

func (tokenProvider) Scheme() string { return "token" }
func (tokenProvider) Authenticate(auth []byte, _ netip.Addr) ([]znode.ID, error) {
	if len(auth) < 3 || string(auth[:3]) != "ok:" {
		return nil, errors.New("bad token")
	}
	return []znode.ID{{Scheme: "token", ID: string(auth[3:])}}, nil
}
func (tokenProvider) Matches(caller, aclID string) bool { return caller == aclID }
func (tokenProvider) Valid(id string) bool              { return id != "" }
func (tokenProvider) Authenticated() bool               { return true }

func TestAuthProvider(t *testing.T) {
	e := newEnv(t, func(o *zkembed.Options) { o.AuthProviders = []acl.Provider{tokenProvider{}} })
	s, other := e.session(t), e.session(t)
	require.NoError(t, s.AddAuth(ctx, "token", []byte("ok:ops")))
	_, err := s.Create(ctx, "/ops", nil, zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermAll))
	require.NoError(t, err)
	got, _, err := s.GetACL(ctx, "/ops")
	require.NoError(t, err)
	assert.Equal(t, []zkembed.ACL{{Perms: zkembed.PermAll, ID: zkembed.ID{Scheme: "token", ID: "ops"}}}, got)
	_, _, err = other.GetData(ctx, "/ops")
	assert.ErrorIs(t, err, zkembed.ErrNoAuth)
	_, err = other.Create(ctx, "/bad", nil, zkembed.ModePersistent, []zkembed.ACL{{Perms: 1, ID: zkembed.ID{Scheme: "token", ID: ""}}})
	assert.ErrorIs(t, err, zkembed.ErrInvalidACL, "the provider validates ids")
	assert.ErrorIs(t, other.AddAuth(ctx, "token", []byte("forged")), zkembed.ErrAuthFailed)
}
