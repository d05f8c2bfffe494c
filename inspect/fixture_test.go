package inspect_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/znode"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// counterBits makes the fixture change zxid epoch every 15 records.
const counterBits = 4

// fixture is a closed data directory written by a workload of every kind
// of write, with the engine's state (DB.Dump) at every zxid the workload
// reached.
type fixture struct {
	dir   string
	refs  map[znode.Zxid]string // DB.Dump after each step, by LastZxid
	order []znode.Zxid          // the zxids of refs, in order
	snaps []znode.Zxid          // the snapshots taken, oldest first
	last  znode.Zxid
}

func engineOptions(clk clock.Clock) *zkembed.Options {
	return &zkembed.Options{
		Clock: clk, Seed: 1, ExtendedTypes: true, ZxidCounterBits: counterBits,
		SnapshotEvery: 1 << 30, SnapshotRetain: 2, ContainerCheckInterval: time.Second,
		NoSync: true,
	}
}

// newFixture runs the workload in a new directory. Every run writes the
// same records (virtual clock, seed), so its dumps can be golden files.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: filepath.Join(t.TempDir(), "data"), refs: map[znode.Zxid]string{}}
	clk := clock.NewVirtual(t0)
	db, err := zkembed.Open(f.dir, engineOptions(clk))
	require.NoError(t, err)
	step := func() {
		t.Helper()
		var b bytes.Buffer
		require.NoError(t, db.Dump(&b))
		z := db.LastZxid()
		if _, ok := f.refs[z]; !ok {
			f.order = append(f.order, z)
		}
		f.refs[z] = b.String()
		clk.Advance(10 * time.Millisecond) // distinct times in the dumps
	}
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
		step()
	}
	create := func(s *zkembed.Session, path string, data []byte, mode zkembed.CreateMode) {
		t.Helper()
		_, err := s.Create(ctx, path, data, mode, zkembed.OpenACL())
		must(err)
	}
	s1, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 10 * time.Second})
	must(err)
	create(s1, "/app", []byte("v1"), zkembed.ModePersistent)
	create(s1, "/app/seq-", []byte("s"), zkembed.ModePersistentSequential)
	create(s1, "/app/eph", []byte("e"), zkembed.ModeEphemeral)
	create(s1, "/app/eseq-", nil, zkembed.ModeEphemeralSequential)
	create(s1, "/c", nil, zkembed.ModeContainer)
	create(s1, "/c/x", []byte{}, zkembed.ModePersistent)
	_, _, err = s1.CreateTTL(ctx, "/ttl", []byte("t"), zkembed.ModePersistentWithTTL, zkembed.OpenACL(), 500*time.Millisecond)
	must(err)
	_, err = s1.SetData(ctx, "/app", []byte("v2"), 0)
	must(err)
	_, err = s1.SetACL(ctx, "/app", []zkembed.ACL{
		{Perms: zkembed.PermAll &^ zkembed.PermAdmin, ID: znode.AnyoneID},
		{Perms: zkembed.PermAll, ID: znode.ID{Scheme: "ip", ID: "127.0.0.1"}},
	}, -1)
	must(err)
	info, err := db.Snapshot(ctx)
	require.NoError(t, err)
	f.snaps = append(f.snaps, info.Zxid)

	_, err = s1.Multi(ctx,
		&zkembed.CreateOp{Path: "/m", Data: []byte("multi"), ACL: zkembed.OpenACL()},
		&zkembed.CreateOp{Path: "/m/a", ACL: zkembed.OpenACL()},
		&zkembed.SetDataOp{Path: "/app", Data: []byte("v3"), Version: 1},
		&zkembed.CheckOp{Path: "/app", Version: 2},
	)
	must(err)
	s2, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 6 * time.Second})
	must(err)
	create(s2, "/s2eph", []byte("gone soon"), zkembed.ModeEphemeral)
	must(s2.Close(ctx))
	create(s1, "/bin", []byte{0, 1, 2, 0xff, '"', '\n'}, zkembed.ModePersistent)
	create(s1, "/long", bytes.Repeat([]byte("0123456789"), 10), zkembed.ModePersistent)
	must(s1.Delete(ctx, "/c/x", -1))
	clk.Advance(2 * time.Second) // reaps /c (emptied container) and /ttl (expired)
	step()
	info, err = db.Snapshot(ctx)
	require.NoError(t, err)
	f.snaps = append(f.snaps, info.Zxid)

	must(s1.Delete(ctx, "/app/seq-0000000000", -1))
	_, err = s1.SetData(ctx, "/m/a", []byte("last"), -1)
	must(err)
	require.NoError(t, db.Check())
	f.last = db.LastZxid()
	require.NoError(t, db.Close())
	return f
}

// copyDir copies the fixture's directory, so that a test may change it.
func (f *fixture) copyDir(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(f.dir, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}))
	return dst
}

// hashes returns the SHA-256 of every file under dir, by relative path.
func hashes(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = sha256.Sum256(b)
		return nil
	}))
	return out
}

// reopen opens dir with the engine, keeping restored sessions (so that its
// dump can be compared with a reference), and returns its dump.
func reopen(t *testing.T, dir string) (*zkembed.DB, string) {
	t.Helper()
	o := engineOptions(clock.NewVirtual(t0.Add(time.Hour)))
	o.ResumeSessions = true
	db, err := zkembed.Open(dir, o)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, db.Dump(&b))
	return db, b.String()
}

var diskLine = regexp.MustCompile(`(?m)^disk: \d+ bytes in \d+ files`)

// normalize replaces what differs between runs: the directory, the log's
// on-disk size.
func normalize(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "DIR")
	return diskLine.ReplaceAllString(s, "disk: N bytes in N files")
}
