package zkembed_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// TestPasswordScan runs a workload of authenticated sessions (digest
// addAuth with distinctive random passwords, the super password, wrong
// passwords and a failed addAuth of an unknown scheme; nodes with
// DigestACL and AuthACL, setACL, reads, multis, automatic and forced
// snapshots, close and reopen) on a data directory, and then scans every
// byte of every file under it: no password and no "user:password"
// credential may appear, raw, hex or base64, at any of the scan points
// (while open, after close, after reopening and closing). As a check that
// the scan sees the stored state, every digest id in an ACL, and the data
// of the nodes, must appear somewhere.
func TestPasswordScan(t *testing.T) {
	dir := t.TempDir()
	secret := func(prefix string) string {
		b := make([]byte, 16)
		_, err := rand.Read(b)
		require.NoError(t, err)
		return prefix + hex.EncodeToString(b)
	}
	type cred struct{ user, password string }
	var (
		alice = cred{"alice", secret("pwA-")}
		bob   = cred{"bob", secret("pwB-")}
		// A password with colons and non-ASCII text: the user is the text
		// before the first colon.
		carol = cred{"carol", "ü:" + secret("pwC-") + ":中文"}
		super = cred{"super", secret("pwS-")}
		// Passwords that never grant anything.
		wrong = cred{"bob", secret("pwWrong-")}
		sasl  = cred{"dave", secret("pwSasl-")}
	)
	creds := []cred{alice, bob, carol, super, wrong, sasl}
	granted := []cred{alice, bob, carol, super} // their digest ids end up in ACLs
	public := secret("public-data-")            // node data, stored on purpose
	opts := &zkembed.Options{SnapshotEvery: 7, SnapshotRetain: 2, SuperDigest: acl.Digest(super.user, super.password)}

	session := func(db *zkembed.DB, c *cred) *zkembed.Session {
		s, err := db.NewSession(ctx, nil)
		require.NoError(t, err)
		if c != nil {
			require.NoError(t, s.AddAuth(ctx, "digest", []byte(c.user+":"+c.password)))
		}
		return s
	}
	digestACL := func(perms zkembed.Perm, c cred) []zkembed.ACL {
		return zkembed.DigestACL(perms, c.user, c.password)
	}

	// The needles: each secret raw, in hex and in base64.
	type needle struct {
		name string
		b    []byte
	}
	var needles []needle
	for _, c := range creds {
		for kind, s := range map[string]string{"password": c.password, "credential": c.user + ":" + c.password} {
			name := fmt.Sprintf("%s %s of %s", kind, s, c.user)
			needles = append(needles,
				needle{name, []byte(s)},
				needle{name + " (hex)", []byte(hex.EncodeToString([]byte(s)))},
				needle{name + " (base64)", []byte(base64.StdEncoding.EncodeToString([]byte(s)))},
			)
		}
	}
	scanned := map[string]bool{} // the files seen, by path relative to dir
	// scan reads every file under dir and returns the hits of needles and
	// whether each of the want strings was found.
	scan := func(when string) map[string]bool {
		found := map[string]bool{}
		var hits []string
		var files, total int
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			scanned[rel] = true
			files++
			total += len(b)
			for _, n := range needles {
				for off := 0; ; off++ {
					i := bytes.Index(b[off:], n.b)
					if i < 0 {
						break
					}
					off += i
					hits = append(hits, fmt.Sprintf("%s: %s at offset %d", rel, n.name, off))
				}
			}
			for _, c := range granted {
				if id := acl.Digest(c.user, c.password); bytes.Contains(b, []byte(id)) {
					found[id] = true
				}
			}
			if bytes.Contains(b, []byte(public)) {
				found[public] = true
			}
			return nil
		})
		require.NoError(t, err)
		require.NotZero(t, files, "%s: no files scanned", when)
		require.NotZero(t, total, "%s: only empty files", when)
		if len(hits) > 0 {
			t.Fatalf("%s: secrets written to disk:\n%s", when, strings.Join(hits, "\n"))
		}
		t.Logf("%s: scanned %d files, %d bytes", when, files, total)
		return found
	}

	db, err := zkembed.Open(dir, opts)
	require.NoError(t, err)
	as, bs, cs, ss := session(db, &alice), session(db, &bob), session(db, &carol), session(db, &super)
	anon := session(db, nil)

	// Wrong passwords add ids that match nothing; an unknown scheme fails the
	// session.
	ws := session(db, &wrong)
	_, _, err = ws.GetData(ctx, "/zookeeper")
	require.NoError(t, err)
	failed := session(db, nil)
	require.ErrorIs(t, failed.AddAuth(ctx, "sasl", []byte(sasl.user+":"+sasl.password)), znode.ErrAuthFailed)

	// Nodes with each kind of ACL.
	_, err = as.Create(ctx, "/a", []byte(public), zkembed.ModePersistent, append(digestACL(zkembed.PermAll, alice), zkembed.WorldACL(zkembed.PermRead)...))
	require.NoError(t, err)
	_, err = as.Create(ctx, "/a/auth", []byte(public), zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermAll))
	require.NoError(t, err)
	_, err = bs.Create(ctx, "/b", nil, zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermAll))
	require.NoError(t, err)
	_, err = bs.Create(ctx, "/b/eph", []byte(public), zkembed.ModeEphemeral, zkembed.AuthACL(zkembed.PermRead|zkembed.PermWrite))
	require.NoError(t, err)
	_, err = bs.SetACL(ctx, "/b", append(digestACL(zkembed.PermAll, bob), digestACL(zkembed.PermRead, alice)...), -1)
	require.NoError(t, err)
	_, err = cs.Create(ctx, "/c", []byte(public), zkembed.ModePersistent, append(zkembed.AuthACL(zkembed.PermAll), digestACL(zkembed.PermRead, bob)...))
	require.NoError(t, err)
	_, err = ss.Create(ctx, "/s", []byte(public), zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermAll))
	require.NoError(t, err)
	got, _, err := ss.GetACL(ctx, "/s")
	require.NoError(t, err)
	require.Equal(t, acl.Digest(super.user, super.password), got[0].ID.ID, "super's auth expands to its digest id")

	// Reads, allowed and denied, and ACL reads with and without ADMIN.
	_, _, err = as.GetData(ctx, "/b")
	require.NoError(t, err)
	_, _, err = anon.GetData(ctx, "/b")
	require.ErrorIs(t, err, znode.ErrNoAuth)
	_, _, err = ws.GetData(ctx, "/b")
	require.ErrorIs(t, err, znode.ErrNoAuth, "a wrong password grants nothing")
	_, _, err = bs.GetData(ctx, "/c")
	require.NoError(t, err)
	_, _, err = ss.GetData(ctx, "/c")
	require.NoError(t, err, "super reads everything")
	for _, s := range []*zkembed.Session{as, bs, anon} {
		_, _, err = s.GetACL(ctx, "/a")
		require.NoError(t, err)
	}

	// Multis, committed and failed, and enough writes for automatic
	// snapshots.
	_, err = as.Multi(ctx,
		&zkembed.CreateOp{Path: "/a/m", Data: []byte(public), ACL: zkembed.AuthACL(zkembed.PermAll)},
		&zkembed.SetDataOp{Path: "/a", Data: []byte(public + "-2"), Version: -1},
		&zkembed.CheckOp{Path: "/b", Version: -1},
	)
	require.NoError(t, err)
	_, err = anon.Multi(ctx,
		&zkembed.CreateOp{Path: "/x", ACL: zkembed.OpenACL()},
		&zkembed.SetDataOp{Path: "/b", Data: []byte("denied"), Version: -1},
	)
	require.ErrorIs(t, err, znode.ErrNoAuth)
	for i := range 40 {
		s := []*zkembed.Session{as, bs, cs, ss}[i%4]
		_, err = s.Create(ctx, fmt.Sprintf("/a/auth/n-%d", i), []byte(public), zkembed.ModePersistent, zkembed.AuthACL(zkembed.PermAll))
		if s == as || s == ss {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, znode.ErrNoAuth)
		}
		_, err = ss.SetData(ctx, "/c", []byte(fmt.Sprintf("%s-%d", public, i)), -1)
		require.NoError(t, err)
	}
	_, err = db.Snapshot(ctx)
	require.NoError(t, err)
	require.NoError(t, db.SnapshotError())
	scan("open")
	require.NoError(t, db.Close())
	scan("closed")

	// Reopen: the same passwords work again (only digests were stored),
	// the old sessions are closed, and more authenticated writes follow.
	db, err = zkembed.Open(dir, opts)
	require.NoError(t, err)
	as, bs, ss = session(db, &alice), session(db, &bob), session(db, &super)
	_, _, err = bs.GetData(ctx, "/b")
	require.NoError(t, err)
	_, err = as.Create(ctx, "/a/again", []byte(public), zkembed.ModeEphemeral, zkembed.AuthACL(zkembed.PermAll))
	require.NoError(t, err)
	_, err = ss.SetACL(ctx, "/c", digestACL(zkembed.PermAll, carol), -1)
	require.NoError(t, err)
	ws = session(db, &wrong)
	_, _, err = ws.GetData(ctx, "/c")
	require.ErrorIs(t, err, znode.ErrNoAuth)
	_, err = db.Snapshot(ctx)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	found := scan("reopened and closed")

	var missing []string
	for _, c := range granted {
		if id := acl.Digest(c.user, c.password); !found[id] {
			missing = append(missing, id)
		}
	}
	require.Empty(t, missing, "digest ids in ACLs were not found: the scan does not see the stored state")
	require.True(t, found[public], "node data was not found: the scan does not see the stored state")
	names := make([]string, 0, len(scanned))
	for n := range scanned {
		names = append(names, n)
	}
	sort.Strings(names)
	joined := strings.Join(names, "\n")
	for _, kind := range []string{"MANIFEST", "OPTIONS", ".log", "snapshot."} {
		require.Contains(t, joined, kind, "no %s file was scanned:\n%s", kind, joined)
	}
	t.Logf("files scanned over the test:\n%s", joined)
}
