package acl_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

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

// refIPACL parses an ip ACL id the way ZooKeeper 3.8's
// IPAuthenticationProvider.isValid does: id.split("/", 2), the address
// split on '.' into exactly four Integer.parseInt octets in 0..255, then
// optional bits, an Integer.parseInt in 0..32. Integer.parseInt reads a
// sign and digits by Character.digit, which takes every decimal digit
// (Nd) of the Basic Multilingual Plane: refJavaInt maps those to ASCII from
// the unicode.Nd table and leaves the rest to strconv.ParseInt.
func refIPACL(id string) (netip.Prefix, bool) {
	addrPart, bitsPart, hasBits := strings.Cut(id, "/")
	parts := strings.Split(addrPart, ".")
	if len(parts) != 4 {
		return netip.Prefix{}, false
	}
	var b [4]byte
	for i, p := range parts {
		v, ok := refJavaInt(p)
		if !ok || v < 0 || v > 255 {
			return netip.Prefix{}, false
		}
		b[i] = byte(v)
	}
	bits := int64(32)
	if hasBits {
		v, ok := refJavaInt(bitsPart)
		if !ok || v < 0 || v > 32 {
			return netip.Prefix{}, false
		}
		bits = v
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), int(bits)).Masked(), true
}

// refJavaInt is Integer.parseInt(s) for a Java string. Every range of
// unicode.Nd's 16-bit table starts at a zero digit (Unicode encodes each
// set of decimal digits as ten consecutive code points, zero first).
func refJavaInt(s string) (int64, bool) {
	ascii := []rune(s)
	for i, r := range ascii {
		if r < 0x80 {
			continue
		}
		ascii[i] = 'x' // not a digit, unless found below
		for _, rg := range unicode.Nd.R16 {
			if rg.Stride == 1 && rune(rg.Lo) <= r && r <= rune(rg.Hi) {
				ascii[i] = '0' + (r-rune(rg.Lo))%10
			}
		}
	}
	v, err := strconv.ParseInt(string(ascii), 10, 32)
	return v, err == nil
}

// FuzzIPACL: an ip ACL id fixes up iff ZooKeeper's parser accepts it, and is
// stored as given; Allowed never panics, whatever the caller's ip id; an
// invalid ip entry matches nobody; a valid one matches every IPv4 address
// inside its prefix (the caller's id made by Authenticate("ip")) and none
// outside it, and an ip id of canonical IPv4 form iff it is inside.
func FuzzIPACL(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "127.0.0.0/8", "10.0.0.0/8", "0.0.0.0/0", "1.2.3.4/32", "01.02.03.04", "+1.2.3.4/+8",
		"-0.1.2.3/-0", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/8/8", "256.1.1.1", "1.2.3", "1.2.3.4.", "::1",
		"::ffff:127.0.0.1", "1.2.3.4/99999999999", "١٢٧.0.0.1", "1.2.3.4/ 8", "",
	} {
		f.Add(s, uint32(0x01020304), "127.0.0.1")
	}
	f.Add("192.168.0.0/16", uint32(0xffffffff), "192.168.255.255")
	f.Add("192.168.0.0/16", uint32(0), "0:0:0:0:0:ffff:c0a8:1")
	f.Add("10.0.0.0/8", uint32(7), "010.0.0.1")
	a, err := acl.NewAuthorizer("")
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, id string, host uint32, caller string) {
		list := []znode.ACL{{Perms: znode.PermRead, ID: znode.ID{Scheme: "ip", ID: id}}}
		prefix, valid := refIPACL(id)
		got, err := a.Identity().Fixup(list)
		if !valid {
			require.ErrorIs(t, err, znode.ErrInvalidACL, "ip:%q", id)
		} else {
			require.NoError(t, err, "ip:%q", id)
			require.Equal(t, list, got, "an ip entry is stored as given")
		}
		who := a.Identity(znode.ID{Scheme: "ip", ID: caller})
		allowed := who.Allowed(list, znode.PermRead) // must not panic
		acl.Allowed(list, []znode.ID{{Scheme: "ip", ID: caller}}, znode.PermAll)
		if !valid {
			require.False(t, allowed, "an invalid ip entry matches nobody")
			return
		}
		if addr, err := netip.ParseAddr(caller); err == nil && addr.Is4() {
			require.Equal(t, prefix.Contains(addr), allowed, "ip:%s and caller %s", id, caller)
		} else if err == nil {
			require.False(t, allowed, "an IPv6 caller never matches (%s)", caller)
		}

		// An address inside the prefix, as a session from it holds it.
		bits := prefix.Bits()
		mask := uint32(0)
		if bits > 0 {
			mask = ^uint32(0) << (32 - bits)
		}
		netw := binary.BigEndian.Uint32(prefix.Addr().AsSlice())
		at := func(v uint32) *acl.Identity {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], v)
			ids, err := a.Authenticate("ip", nil, netip.AddrFrom4(b))
			require.NoError(t, err)
			require.Len(t, ids, 1)
			return a.Identity(ids...)
		}
		inside := netw&mask | host&^mask
		require.True(t, at(inside).Allowed(list, znode.PermRead), "ip:%s must match %08x", id, inside)
		require.False(t, at(inside).Allowed(list, znode.PermWrite), "perms still apply")
		if bits > 0 {
			outside := inside ^ 1<<(31-int(host%uint32(bits)))
			require.False(t, at(outside).Allowed(list, znode.PermRead), "ip:%s must not match %08x", id, outside)
		}
		// The same address as an IPv4-mapped IPv6 session is unmapped first.
		var b16 [16]byte
		b16[10], b16[11] = 0xff, 0xff
		binary.BigEndian.PutUint32(b16[12:], inside)
		ids, err := a.Authenticate("ip", nil, netip.AddrFrom16(b16))
		require.NoError(t, err)
		require.True(t, a.Identity(ids...).Allowed(list, znode.PermRead), "mapped %v", ids)
	})
}

// fuzzProvider is a custom scheme "tok" for FuzzAuthenticate: auth "ok:X"
// gives the id tok:X, "bad:X" misbehaves with an id of another scheme, and
// anything else fails.
type fuzzProvider struct{}

func (fuzzProvider) Scheme() string { return "tok" }
func (fuzzProvider) Authenticate(auth []byte, _ netip.Addr) ([]znode.ID, error) {
	if rest, ok := bytes.CutPrefix(auth, []byte("ok:")); ok {
		return []znode.ID{{Scheme: "tok", ID: string(rest)}}, nil
	}
	if rest, ok := bytes.CutPrefix(auth, []byte("bad:")); ok {
		return []znode.ID{{Scheme: "digest", ID: string(rest)}}, nil
	}
	return nil, errors.New("no")
}
func (fuzzProvider) Matches(callerID, aclID string) bool { return callerID == aclID }
func (fuzzProvider) Valid(id string) bool                { return id != "" }
func (fuzzProvider) Authenticated() bool                 { return true }

const fuzzSuperPassword = "s3cret"

// FuzzAuthenticate: for any scheme, auth bytes and address, Authenticate
// never panics; digest always succeeds with the id ZooKeeper computes
// (user = the text before the first colon of JavaString(auth), hash =
// base64(sha1(JavaString(auth)))), which is a valid digest ACL id that
// "auth" expands to, plus the super id first for the super password; ip
// gives the session's own address; an unknown scheme, or a provider that
// fails or misbehaves, fails with ErrAuthFailed; every id returned is of the
// requested scheme or super.
func FuzzAuthenticate(f *testing.F) {
	for _, s := range []struct {
		scheme string
		auth   string
		addr   []byte
	}{
		{"digest", "bob:pw", []byte{127, 0, 0, 1}},
		{"digest", "super:" + fuzzSuperPassword, nil},
		{"digest", "super:" + fuzzSuperPassword + "x", nil},
		{"digest", "", nil},
		{"digest", "nocolon", nil},
		{"digest", "a:b:c", nil},
		{"digest", ":", nil},
		{"digest", "\xed\xa0\x80:\xc0\x80", nil},
		{"digest", "\xff:\xf4\x90\x80\x80", nil},
		{"digest", "中文:😀", nil},
		{"ip", "", []byte{10, 1, 2, 3}},
		{"ip", "anything", netip.MustParseAddr("::1").AsSlice()},
		{"ip", "", netip.MustParseAddr("::ffff:127.0.0.1").AsSlice()},
		{"ip", "", nil},
		{"tok", "ok:alice", nil},
		{"tok", "bad:bob:x", nil},
		{"tok", "nope", nil},
		{"world", "anyone", nil},
		{"super", "", nil},
		{"auth", "", nil},
		{"sasl", "bob", nil},
		{"", "", nil},
	} {
		f.Add(s.scheme, []byte(s.auth), s.addr)
	}
	superDigest := acl.Digest("super", fuzzSuperPassword)
	a, err := acl.NewAuthorizer(superDigest, fuzzProvider{})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, scheme string, auth, addrBytes []byte) {
		addr, _ := netip.AddrFromSlice(addrBytes)
		in := bytes.Clone(auth)
		ids, err := a.Authenticate(scheme, auth, addr)
		require.Equal(t, in, auth, "auth is not modified")
		for _, id := range ids {
			require.True(t, id.Scheme == scheme || id == acl.SuperID, "scheme %q gave %v", scheme, id)
		}
		switch scheme {
		case "digest":
			require.NoError(t, err)
			js := acl.JavaString(auth)
			user, _, _ := strings.Cut(js, ":")
			sum := sha1.Sum([]byte(js))
			want := znode.ID{Scheme: "digest", ID: user + ":" + base64.StdEncoding.EncodeToString(sum[:])}
			require.Equal(t, want.ID, acl.DigestOf(js))
			require.True(t, acl.ValidDigestID(want.ID), "%q", want.ID)
			if want.ID == superDigest {
				require.Equal(t, []znode.ID{acl.SuperID, want}, ids)
			} else {
				require.Equal(t, []znode.ID{want}, ids)
			}
			who := a.Identity(ids...)
			fixed, err := who.Fixup(znode.CreatorAllACL())
			require.NoError(t, err)
			require.Equal(t, []znode.ACL{{Perms: znode.PermAll, ID: want}}, fixed, "auth expands to the digest id, never super")
			again, err := a.Identity().Fixup(fixed)
			require.NoError(t, err, "a digest id is a valid ACL id")
			require.Equal(t, fixed, again)
			require.True(t, who.Allowed(fixed, znode.PermWrite))
			other := []znode.ACL{{Perms: znode.PermAll, ID: znode.ID{Scheme: "digest", ID: want.ID + "x"}}}
			require.Equal(t, want.ID == superDigest, who.Allowed(other, znode.PermRead), "only super passes another's ACL")
			require.Contains(t, who.WhoAmI(), acl.ClientInfo{Scheme: "digest", User: user})
			require.ElementsMatch(t, ids, who.IDs())
		case "ip":
			require.NoError(t, err)
			if !addr.IsValid() {
				require.Empty(t, ids)
				return
			}
			require.Len(t, ids, 1)
			own, ok := acl.AddrID(addr)
			require.True(t, ok)
			require.Equal(t, own, ids[0])
			back, err := netip.ParseAddr(ids[0].ID)
			require.NoError(t, err, "%q", ids[0].ID)
			require.Equal(t, addr.Unmap(), back)
			if back.Is4() {
				require.Equal(t, back.String(), ids[0].ID)
				list := []znode.ACL{{Perms: znode.PermRead, ID: ids[0]}}
				_, err := a.Identity().Fixup(list)
				require.NoError(t, err)
				require.True(t, a.Identity(ids...).Allowed(list, znode.PermRead))
			}
			_, err = a.Identity(ids...).Fixup(znode.CreatorAllACL())
			require.ErrorIs(t, err, znode.ErrInvalidACL, "ip ids are not authenticated")
		case "tok":
			if rest, ok := bytes.CutPrefix(auth, []byte("ok:")); ok {
				require.NoError(t, err)
				require.Equal(t, []znode.ID{{Scheme: "tok", ID: string(rest)}}, ids)
				return
			}
			require.ErrorIs(t, err, znode.ErrAuthFailed)
			require.Empty(t, ids)
		default:
			require.ErrorIs(t, err, znode.ErrAuthFailed, "no provider for %q", scheme)
			require.Empty(t, ids)
		}
	})
}

// javaRoundTrip is an independent model of Java 17's
// new String(b, UTF_8).getBytes(UTF_8): a lead byte with the valid ranges of
// its following bytes; a cut-short sequence (the longest well-formed
// prefix, at least one byte) becomes one U+FFFD; and a complete 3-byte
// sequence that decodes to a surrogate (ED A0..BF 80..BF) becomes one
// U+FFFD, since Java checks for surrogates only then. Checked against Java
// on 1,051,543 inputs (every 1- and 2-byte string, every lead and second
// byte with continuations, and random strings) when written.
func javaRoundTrip(b []byte) string {
	var out []rune
	for i := 0; i < len(b); {
		c := b[i]
		n, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c < 0x80:
			out = append(out, rune(c))
			i++
			continue
		case c >= 0xC2 && c <= 0xDF:
			n = 2
		case c == 0xE0:
			n, lo = 3, 0xA0
		case c >= 0xE1 && c <= 0xEF:
			n = 3
		case c == 0xF0:
			n, lo = 4, 0x90
		case c >= 0xF1 && c <= 0xF3:
			n = 4
		case c == 0xF4:
			n, hi = 4, 0x8F
		default: // continuation bytes, C0, C1, F5..FF
			out = append(out, utf8.RuneError)
			i++
			continue
		}
		k := 1
		for ; k < n && i+k < len(b); k++ {
			l, h := byte(0x80), byte(0xBF)
			if k == 1 {
				l, h = lo, hi
			}
			if b[i+k] < l || b[i+k] > h {
				break
			}
		}
		if k < n {
			out = append(out, utf8.RuneError)
			i += k
			continue
		}
		r := rune(c) & (0x7F >> n)
		for _, x := range b[i+1 : i+n] {
			r = r<<6 | rune(x&0x3F)
		}
		if r >= 0xD800 && r <= 0xDFFF {
			r = utf8.RuneError
		}
		out = append(out, r)
		i += n
	}
	return string(out)
}

// FuzzJavaString: the output is valid UTF-8, equal to the input when that
// is valid UTF-8, a fixed point, and what Java's round trip gives
// (javaRoundTrip).
func FuzzJavaString(f *testing.F) {
	for _, s := range []string{
		"", "bob:pw", "é:中文😀", "\x80", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xed\xa0", "\xed\xbf\xc0",
		"\xed\x9f\xbf", "\xf4\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf0\x9f\x98", "\xf0\x9f\x98\x80\xf0\x9f\x98",
		"\xf5\x80", "\xff\xfe", "\xe1\x80\x41", "\xf1\x80\x80\x41", "a\xffb\xc0c\xed\xa0\x80d", "\xef\xbf\xbd",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := acl.JavaString(b)
		require.True(t, utf8.ValidString(got), "%x -> %x", b, got)
		if utf8.Valid(b) {
			require.Equal(t, string(b), got)
		}
		require.Equal(t, got, acl.JavaString([]byte(got)), "a fixed point")
		require.Equal(t, javaRoundTrip(b), got, "JavaString(%x) differs from Java's round trip", b)
	})
}
