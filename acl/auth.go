package acl

import (
	"crypto/subtle"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zkembed/zkembed/znode"
)

// Provider is an authentication scheme of the caller's own, ZooKeeper's
// AuthenticationProvider: registered with an Authorizer, its scheme becomes
// valid in ACLs and in addAuth. The built-in schemes (world, auth, digest,
// ip, super) cannot be replaced. Its methods may be called concurrently.
type Provider interface {
	// Scheme is the scheme's name, as it appears in ACL entries.
	Scheme() string
	// Authenticate checks the data of an addAuth with this scheme, from a
	// session with address addr (invalid if the session has none), and
	// returns the ids the session gains; an error fails the addAuth with
	// AuthFailed. The data may be a secret: never store or log it.
	Authenticate(auth []byte, addr netip.Addr) ([]znode.ID, error)
	// Matches reports whether a caller's id of this scheme matches the id
	// of an ACL entry.
	Matches(callerID, aclID string) bool
	// Valid reports whether id may appear in an ACL entry.
	Valid(id string) bool
	// Authenticated reports whether the scheme's ids stand for an
	// authenticated user, which the "auth" scheme expands to (digest ids
	// do; ip ids do not).
	Authenticated() bool
}

// Authorizer holds the authentication schemes of an engine: the built-in
// digest and ip providers, an optional super digest, and the caller's
// providers. It is immutable and safe for concurrent use.
type Authorizer struct {
	superDigest string
	custom      map[string]Provider
}

// builtin are the schemes an Authorizer defines itself.
var builtin = []string{"world", "auth", "digest", "ip", "super"}

// NewAuthorizer returns an Authorizer. superDigest, if not empty, is
// ZooKeeper's zookeeper.DigestAuthenticationProvider.superDigest: a digest
// id ("super:" + base64 sha1, see Digest) whose password, given to addAuth
// with the digest scheme, makes a session super. providers add schemes.
func NewAuthorizer(superDigest string, providers ...Provider) (*Authorizer, error) {
	if superDigest != "" && !ValidDigestID(superDigest) {
		return nil, fmt.Errorf("acl: super digest must be user:hash: %w", znode.ErrBadArguments)
	}
	a := &Authorizer{superDigest: superDigest, custom: map[string]Provider{}}
	for _, p := range providers {
		scheme := p.Scheme()
		if scheme == "" || slices.Contains(builtin, scheme) || a.custom[scheme] != nil {
			return nil, fmt.Errorf("acl: provider scheme %q is empty, built in or registered twice: %w", scheme, znode.ErrBadArguments)
		}
		a.custom[scheme] = p
	}
	return a, nil
}

// defaultAuthorizer has the built-in schemes and no super digest.
var defaultAuthorizer = &Authorizer{}

// Authenticate performs an addAuth: it returns the ids a session with
// address addr gains from auth with scheme, or an error wrapping
// znode.ErrAuthFailed, as ZooKeeper's providers do:
//
//   - digest: the id DigestOf(auth), after decoding auth as UTF-8 the way
//     Java does (each malformed sequence becomes U+FFFD). Null auth data
//     (nil; empty is not null) fails: ZooKeeper's provider throws on it
//     and the server answers AuthFailed. If the id is the super digest,
//     the super id comes first.
//   - ip: the session's own address again, whatever auth holds.
//   - any other scheme: its provider's ids; no provider is AuthFailed.
func (a *Authorizer) Authenticate(scheme string, auth []byte, addr netip.Addr) ([]znode.ID, error) {
	switch scheme {
	case "digest":
		if auth == nil {
			return nil, fmt.Errorf("%w: digest auth data is null", znode.ErrAuthFailed)
		}
		id := DigestOf(JavaString(auth))
		ids := []znode.ID{{Scheme: "digest", ID: id}}
		if a.superDigest != "" && subtle.ConstantTimeCompare([]byte(id), []byte(a.superDigest)) == 1 {
			ids = []znode.ID{SuperID, ids[0]}
		}
		return ids, nil
	case "ip":
		if id, ok := AddrID(addr); ok {
			return []znode.ID{id}, nil
		}
		return nil, nil
	}
	p := a.custom[scheme]
	if p == nil {
		return nil, fmt.Errorf("%w: no authentication provider for scheme %q", znode.ErrAuthFailed, scheme)
	}
	ids, err := p.Authenticate(auth, addr)
	if err != nil {
		return nil, fmt.Errorf("%w: scheme %q: %v", znode.ErrAuthFailed, scheme, err)
	}
	for _, id := range ids {
		if id.Scheme != scheme {
			return nil, fmt.Errorf("%w: provider %q returned an id of scheme %q", znode.ErrAuthFailed, scheme, id.Scheme)
		}
	}
	return ids, nil
}

// AddrID returns the ip id of a session's address, as ZooKeeper gives every
// connection one: the address as Java's getHostAddress writes it.
func AddrID(addr netip.Addr) (znode.ID, bool) {
	if !addr.IsValid() {
		return znode.ID{}, false
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return znode.ID{Scheme: "ip", ID: addr.String()}, true
	}
	// Java writes all eight groups in lower-case hex, without "::".
	b := addr.As16()
	var sb strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	if z := addr.Zone(); z != "" {
		sb.WriteString("%" + z)
	}
	return znode.ID{Scheme: "ip", ID: sb.String()}, true
}

// JavaString returns b decoded as Java's new String(b, UTF_8) does and
// encoded back to UTF-8: valid sequences stay, and each maximal ill-formed
// subpart becomes one U+FFFD (the Unicode substitution practice Java
// follows, except that an encoded surrogate, ED A0..BF 80..BF, is one
// subpart). ZooKeeper's digest provider hashes auth data after exactly
// this round trip; testdata/digest_vectors.txt holds Java's own answers.
func JavaString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[:n])
			b = b[n:]
			continue
		}
		sb.WriteRune(utf8.RuneError)
		b = b[maximalSubpart(b):]
	}
	return sb.String()
}

// maximalSubpart returns the length of the ill-formed sequence at the start
// of b: the longest prefix of a well-formed sequence, and at least 1.
func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // the valid range of the second byte
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEF:
		// ED too: Java reads ED A0..BF xx as a whole (an encoded
		// surrogate) before rejecting it, so it is one subpart.
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(b); i++ {
		l, h := byte(0x80), byte(0xBF)
		if i == 1 {
			l, h = lo, hi
		}
		if b[i] < l || b[i] > h {
			break
		}
	}
	return i
}

// Identity is who a session is: its ids under an Authorizer. Its methods
// make the permission checks and ACL fix-ups of operations. It is
// immutable; a nil *Identity has no ids and the built-in schemes only.
type Identity struct {
	a *Authorizer
	// ids are in the order they were added; order is ZooKeeper's
	// iteration order of the same set (see javaSetOrder).
	ids, order []znode.ID
	super      bool
}

// Identity returns the identity holding ids.
func (a *Authorizer) Identity(ids ...znode.ID) *Identity {
	id := &Identity{a: a}
	return id.With(ids...)
}

// IDs returns the identity's ids in the order ZooKeeper lists a
// connection's ids (a Java hash set's order, not the order they were
// added), which is also the order "auth" ACL entries expand in. The caller
// must not modify the result.
func (id *Identity) IDs() []znode.ID {
	if id == nil {
		return nil
	}
	return id.order
}

// With returns the identity with ids added; ids it holds already are not
// added twice (ZooKeeper keeps a connection's ids as a set).
func (id *Identity) With(ids ...znode.ID) *Identity {
	out := &Identity{a: defaultAuthorizer}
	if id != nil {
		*out = *id
	}
	out.ids = slices.Clip(out.ids)
	for _, x := range ids {
		if !slices.Contains(out.ids, x) {
			out.ids = append(out.ids, x)
			out.super = out.super || x.Scheme == SuperID.Scheme
		}
	}
	out.order = javaSetOrder(out.ids)
	return out
}

// Allowed reports whether the identity may do perm on a node whose ACL is
// list: some entry shares a bit with perm and matches one of its ids (any
// bit: getACL asks for READ|ADMIN, meaning either). A super id passes
// every check, and an empty list allows everything.
func (id *Identity) Allowed(list []znode.ACL, perm znode.Perm) bool {
	if len(list) == 0 || id != nil && id.super {
		return true
	}
	for _, e := range list {
		if e.Perms&perm == 0 {
			continue
		}
		if e.ID == znode.AnyoneID {
			return true
		}
		if id == nil {
			continue
		}
		for _, c := range id.ids {
			if c.Scheme == e.Scheme && id.a.matches(e.Scheme, c.ID, e.ID.ID) {
				return true
			}
		}
	}
	return false
}

// matches compares a caller's id with an ACL entry's id of the same scheme.
func (a *Authorizer) matches(scheme, callerID, aclID string) bool {
	switch scheme {
	case "digest":
		// Constant time: an ACL's digest is a password hash.
		return subtle.ConstantTimeCompare([]byte(aclID), []byte(callerID)) == 1
	case "ip":
		return ipMatches(aclID, callerID)
	case "world", "auth", "super":
		return false // world:anyone is matched above; the others never
	}
	if p := a.custom[scheme]; p != nil {
		return p.Matches(callerID, aclID)
	}
	return false
}

// Fixup turns the ACL list a caller gave into the list to store, as
// ZooKeeper's PrepRequestProcessor.fixupACL does: duplicates are removed
// from list, then "auth" entries expand to each of the identity's
// authenticated ids (digest and providers' that say so; never ip, never
// super), which may repeat other entries, and every id must be valid for
// its scheme. The error wraps znode.ErrInvalidACL. The result may
// be shared: callers must not modify it.
func (id *Identity) Fixup(list []znode.ACL) ([]znode.ACL, error) {
	if len(list) == 0 {
		return nil, invalid("empty ACL list")
	}
	if len(list) == 1 && list[0] == openACL[0] {
		return openACL, nil // the common case, shared and never modified
	}
	a := defaultAuthorizer
	if id != nil {
		a = id.a
	}
	// ZooKeeper removes duplicates from the list it is given, before auth
	// entries are expanded, and not from the result: an expanded auth entry
	// may repeat another entry (ZooKeeper stores [auth:31, digest:bob:31]
	// from bob as digest:bob:31 twice).
	out := make([]znode.ACL, 0, len(list))
	add := func(e znode.ACL) { out = append(out, e) }
	for i, e := range list {
		if slices.Contains(list[:i], e) {
			continue
		}
		switch e.Scheme {
		case "world":
			if e.ID.ID != "anyone" {
				return nil, invalid("world scheme only has id anyone, got %q", e.ID.ID)
			}
			add(e)
		case "auth":
			expanded := false
			for _, c := range id.IDs() {
				if a.authenticated(c.Scheme) {
					add(znode.ACL{Perms: e.Perms, ID: c})
					expanded = true
				}
			}
			if !expanded {
				return nil, invalid("auth scheme needs an authenticated id")
			}
		case "digest":
			if !ValidDigestID(e.ID.ID) {
				return nil, invalid("digest id must be user:hash, got %q", e.ID.ID)
			}
			add(e)
		case "ip":
			if _, err := parseIPACL(e.ID.ID); err != nil {
				return nil, invalid("ip id %q: %v", e.ID.ID, err)
			}
			add(e)
		default:
			p := a.custom[e.Scheme]
			if p == nil {
				return nil, invalid("unknown scheme %q", e.Scheme)
			}
			if !p.Valid(e.ID.ID) {
				return nil, invalid("%s id %q is not valid", e.Scheme, e.ID.ID)
			}
			add(e)
		}
	}
	return out, nil
}

// authenticated reports whether ids of scheme expand "auth" entries.
func (a *Authorizer) authenticated(scheme string) bool {
	switch scheme {
	case "digest":
		return true
	case "ip", "super", "world", "auth":
		return false
	}
	p := a.custom[scheme]
	return p != nil && p.Authenticated()
}

// ClientInfo is one entry of a whoAmI answer.
type ClientInfo struct {
	Scheme string // the id's scheme
	User   string // the user it names
}

// WhoAmI describes an identity's ids as ZooKeeper's whoAmI does, in the
// order of IDs: the scheme and the user, which for a digest id is the part
// before the colon and otherwise the id itself.
func (id *Identity) WhoAmI() []ClientInfo {
	out := make([]ClientInfo, 0, len(id.IDs()))
	for _, c := range id.IDs() {
		user := c.ID
		if c.Scheme == "digest" {
			user, _, _ = strings.Cut(user, ":")
		}
		out = append(out, ClientInfo{Scheme: c.Scheme, User: user})
	}
	return out
}
