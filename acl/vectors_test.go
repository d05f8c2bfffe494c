package acl_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// digestVector is one line of testdata/digest_vectors.txt, produced by
// ZooKeeper's own DigestAuthenticationProvider (see the file's header and
// testdata/DigestVectors.java.txt).
type digestVector struct {
	line int
	in   []byte // the addauth data
	java []byte // new String(in, UTF_8).getBytes(UTF_8)
	id   string // generateDigest(new String(in))
}

func loadDigestVectors(t *testing.T) []digestVector {
	t.Helper()
	f, err := os.Open("testdata/digest_vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	unhex := func(s string) []byte {
		if s == "-" {
			return []byte{}
		}
		b, err := hex.DecodeString(s)
		require.NoError(t, err, "%q", s)
		return b
	}
	var out []digestVector
	want := -1
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "# "); ok {
			if v, ok := strings.CutSuffix(c, " vectors."); ok {
				want, err = strconv.Atoi(v)
				require.NoError(t, err)
			}
			continue
		}
		fields := strings.Fields(line)
		require.Len(t, fields, 3, "line %d", n)
		user, hash, ok := strings.Cut(fields[2], ":")
		require.True(t, ok, "line %d", n)
		out = append(out, digestVector{
			line: n,
			in:   unhex(fields[0]),
			java: unhex(fields[1]),
			id:   string(unhex(user)) + ":" + hash,
		})
	}
	require.NoError(t, sc.Err())
	require.Equal(t, want, len(out), "the header's count")
	require.Greater(t, len(out), 1000)
	return out
}

// TestDigestVectors checks JavaString, DigestOf and Authenticate("digest")
// against every vector ZooKeeper 3.8 computed.
func TestDigestVectors(t *testing.T) {
	vectors := loadDigestVectors(t)
	plain, err := acl.NewAuthorizer("")
	require.NoError(t, err)
	addr := netip.MustParseAddr("127.0.0.1")
	var javaBad, digestBad []string
	invalid := 0
	for _, v := range vectors {
		if !utf8.Valid(v.in) {
			invalid++
		} else {
			require.Equal(t, v.in, v.java, "line %d: Java keeps valid UTF-8 as it is", v.line)
		}
		// DigestOf on the bytes Java hashes, independently of JavaString.
		require.Equal(t, v.id, acl.DigestOf(string(v.java)), "line %d: DigestOf(%x)", v.line, v.java)
		require.True(t, utf8.Valid(v.java), "line %d", v.line)

		if got := acl.JavaString(v.in); got != string(v.java) {
			javaBad = append(javaBad, fmt.Sprintf("line %d: JavaString(%x) = %x, Java %x", v.line, v.in, got, v.java))
		}
		ids, err := plain.Authenticate("digest", v.in, addr)
		require.NoError(t, err, "line %d", v.line)
		if want := []znode.ID{{Scheme: "digest", ID: v.id}}; len(ids) != 1 || ids[0] != want[0] {
			digestBad = append(digestBad, fmt.Sprintf("line %d: Authenticate(digest, %x) = %q, ZooKeeper %q", v.line, v.in, ids, v.id))
		}
	}
	require.Greater(t, invalid, 1000, "the vectors cover invalid UTF-8")
	report := func(what string, bad []string) {
		if len(bad) == 0 {
			return
		}
		shown := bad
		if len(shown) > 40 {
			shown = shown[:40]
		}
		t.Errorf("%s disagrees with Java on %d of %d vectors:\n%s", what, len(bad), len(vectors), strings.Join(shown, "\n"))
	}
	report("JavaString", javaBad)
	report("Authenticate(digest)", digestBad)
}

// TestDigestVectorsSuper: a vector's id used as the super digest makes the
// same addauth data super, the super id first (ZooKeeper adds super:""
// before the digest id).
func TestDigestVectorsSuper(t *testing.T) {
	vectors := loadDigestVectors(t)
	for _, v := range vectors {
		if !acl.ValidDigestID(v.id) {
			continue // not usable as a super digest
		}
		a, err := acl.NewAuthorizer(v.id)
		require.NoError(t, err, "line %d", v.line)
		ids, err := a.Authenticate("digest", v.in, netip.Addr{})
		require.NoError(t, err, "line %d", v.line)
		if !bytes.Equal([]byte(acl.JavaString(v.in)), v.java) {
			continue // reported by TestDigestVectors
		}
		require.Equal(t, []znode.ID{acl.SuperID, {Scheme: "digest", ID: v.id}}, ids, "line %d", v.line)
		require.True(t, a.Identity(ids...).Allowed([]znode.ACL{{Perms: znode.PermRead, ID: znode.ID{Scheme: "ip", ID: "10.0.0.1"}}}, znode.PermRead), "line %d: super passes every check", v.line)
	}
}
