package acl

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"github.com/zkembed/zkembed/znode"
)

// openACL is the fixed-up form of znode.OpenACL(), shared by every caller.
var openACL = znode.OpenACL()

// SuperID is the identity that bypasses every permission check.
var SuperID = znode.ID{Scheme: "super", ID: ""}

// Allowed reports whether a caller holding ids may do perm on a node whose
// ACL is list, with the built-in schemes only (see Identity.Allowed).
func Allowed(list []znode.ACL, ids []znode.ID, perm znode.Perm) bool {
	return defaultAuthorizer.Identity(ids...).Allowed(list, perm)
}

// Fixup fixes up list for a caller holding ids, with the built-in schemes
// only (see Identity.Fixup).
func Fixup(list []znode.ACL, ids []znode.ID) ([]znode.ACL, error) {
	return defaultAuthorizer.Identity(ids...).Fixup(list)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{znode.ErrInvalidACL}, args...)...)
}

// ValidDigestID reports whether id has the user:hash form ZooKeeper's digest
// provider accepts: exactly two parts when split on ':' after Java drops
// trailing empty parts ("a:b" and ":b" are valid; "a:", "a:b:c" are not).
// The hash itself is not checked.
func ValidDigestID(id string) bool {
	s := strings.TrimRight(id, ":")
	return strings.Count(s, ":") == 1
}

// Digest returns the digest id for user and password:
// user + ":" + base64(sha1(user + ":" + password)).
func Digest(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// DigestOf returns the digest id for the "user:password" credential a client
// adds with addAuth("digest", ...); the user is everything before the first
// colon (a credential without one hashes as a whole, as ZooKeeper does).
func DigestOf(credential string) string {
	user, _, _ := strings.Cut(credential, ":")
	sum := sha1.Sum([]byte(credential))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Mask returns list with every digest id replaced by "user:x", what getACL
// shows a caller without ADMIN permission (ZOOKEEPER-1392).
func Mask(list []znode.ACL) []znode.ACL {
	out := slices.Clone(list)
	for i, e := range out {
		if e.Scheme == "digest" {
			user, _, _ := strings.Cut(e.ID.ID, ":")
			out[i].ID.ID = user + ":x"
		}
	}
	return out
}

// parseIPACL parses an ip ACL id the way ZooKeeper 3.8's
// IPAuthenticationProvider does: four dot-separated octets, each parsed as a
// Java int (so "01" and "+1" are fine) in 0..255, optionally followed by
// "/bits" with 0 ≤ bits ≤ 32. IPv6 is rejected, as in ZooKeeper 3.8.
func parseIPACL(id string) (netip.Prefix, error) {
	addrPart, bitsPart, hasBits := strings.Cut(id, "/")
	parts := strings.Split(addrPart, ".")
	if len(parts) != 4 {
		return netip.Prefix{}, fmt.Errorf("not an IPv4 address")
	}
	var octets [4]byte
	for i, p := range parts {
		v, ok := javaParseInt(p)
		if !ok || v < 0 || v > 255 {
			return netip.Prefix{}, fmt.Errorf("bad octet %q", p)
		}
		octets[i] = byte(v)
	}
	bits := 32
	if hasBits {
		v, ok := javaParseInt(bitsPart)
		if !ok || v < 0 || v > 32 {
			return netip.Prefix{}, fmt.Errorf("bad prefix length %q", bitsPart)
		}
		bits = int(v)
	}
	return netip.PrefixFrom(netip.AddrFrom4(octets), bits).Masked(), nil
}

// javaParseInt parses s as Java's Integer.parseInt does: an optional sign,
// then at least one decimal digit, within int32. Like Java, it accepts every
// Unicode decimal digit of the Basic Multilingual Plane ("١٢٧" is 127):
// ZooKeeper accepts and matches the ip ACL id "١٢٧.0.0.1".
func javaParseInt(s string) (int64, bool) {
	neg := false
	if len(s) > 1 && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v int64
	for _, r := range s {
		d, ok := javaDigit(r)
		if !ok {
			return 0, false
		}
		v = v*10 + d
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 {
		return 0, false
	}
	return v, true
}

// ipMatches is IPAuthenticationProvider.matches: the caller's id is read
// with the same lenient parser as the ACL's address ("010.0.0.1",
// "+10.0.0.1" and "١٠.0.0.1" match 10.0.0.0/8 in ZooKeeper), and never
// with a prefix length.
func ipMatches(aclID, callerID string) bool {
	prefix, err := parseIPACL(aclID)
	if err != nil || strings.Contains(callerID, "/") {
		return false
	}
	caller, err := parseIPACL(callerID)
	return err == nil && prefix.Contains(caller.Addr())
}

// javaDigit returns the value of r as Java's Character.digit(char, 10) sees
// it: r must be a decimal digit (category Nd) of the Basic Multilingual
// Plane (Java's parseInt reads UTF-16 chars, so a supplementary digit is two
// surrogates, neither of them a digit). Unicode encodes each set of decimal
// digits as ten consecutive code points from zero to nine.
func javaDigit(r rune) (int64, bool) {
	if r >= '0' && r <= '9' {
		return int64(r - '0'), true
	}
	if r > 0xFFFF || !unicode.IsDigit(r) {
		return 0, false
	}
	first := r
	for unicode.IsDigit(first - 1) {
		first--
	}
	return int64(r-first) % 10, true
}
