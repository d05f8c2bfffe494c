package inspect_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/inspect"
	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/znode"
)

// Truncation rolls the store back: without -yes it changes no byte; with
// it, the engine opens at exactly the state the workload had at that zxid
// (tree and sessions, compared with the engine's own dump taken then), the
// truncated store verifies, and the engine writes on from there.
func TestTruncate(t *testing.T) {
	f := newFixture(t)
	s1, s2 := f.snaps[0], f.snaps[1]
	for _, tc := range []struct {
		name      string
		z         znode.Zxid
		base      znode.Zxid // the snapshot the store then opens from
		snapshots int        // snapshot files removed
	}{
		{"at the last record", f.last, s2, 0},
		{"after the newest snapshot", f.last - 1, s2, 0},
		{"at the newest snapshot", s2, s2, 0},
		{"between the snapshots, across an epoch change", s1 + 1, s1, 1},
		{"at the oldest snapshot", s1, s1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := f.refs[tc.z]
			require.True(t, ok, "the workload passed through %v", tc.z)
			dir := f.copyDir(t)

			s, err := inspect.Open(dir, nil)
			require.NoError(t, err)
			plan, err := s.PlanTruncate(tc.z)
			require.NoError(t, err)
			require.NoError(t, s.Close())
			assert.Equal(t, tc.base, plan.Base)
			assert.Len(t, plan.Snapshots, tc.snapshots)
			if tc.z == f.last {
				assert.True(t, plan.Empty())
			} else {
				assert.Equal(t, f.last, plan.LastDropped)
				assert.Greater(t, plan.FirstDropped, tc.z)
			}

			before := hashes(t, dir)
			var out bytes.Buffer
			require.NoError(t, inspect.LogTruncate(&out, dir, tc.z, false))
			assert.Equal(t, before, hashes(t, dir), "a dry run changes nothing")
			if !plan.Empty() {
				assert.Contains(t, out.String(), "dry run")
			}

			out.Reset()
			require.NoError(t, inspect.LogTruncate(&out, dir, tc.z, true))
			assert.Equal(t, plan.String(), out.String()[:len(plan.String())], "the plan carried out is the one shown")
			files, err := inspect.ListSnapshots(dir)
			require.NoError(t, err)
			for _, file := range files {
				assert.LessOrEqual(t, file.Zxid, tc.z, file.Name)
			}
			require.NoError(t, inspect.LogVerify(&bytes.Buffer{}, dir))

			db, got := reopen(t, dir)
			assert.Equal(t, tc.z, db.LastZxid())
			assert.Equal(t, tc.base, db.Recovery().SnapshotZxid)
			assert.Equal(t, want, got, "the state at %v", tc.z)
			require.NoError(t, db.Check())
			sess, err := db.NewSession(ctx, nil)
			require.NoError(t, err)
			_, err = sess.Create(ctx, "/after-truncate", []byte("x"), zkembed.ModePersistent, zkembed.OpenACL())
			require.NoError(t, err)
			require.NoError(t, db.Close())
			require.NoError(t, inspect.LogVerify(&bytes.Buffer{}, dir), "the engine wrote on from %v", tc.z)
			db, got = reopen(t, dir)
			assert.Contains(t, got, "/after-truncate ")
			require.NoError(t, db.Close())
		})
	}
}

// A truncation that would not open at the state asked for is refused, and
// changes nothing even with -yes.
func TestTruncateRefused(t *testing.T) {
	f := newFixture(t)
	s1 := f.snaps[0]
	layout := znode.Layout{CounterBits: counterBits}
	for _, tc := range []struct {
		name     string
		z        znode.Zxid
		damage   func(t *testing.T, dir string)
		contains string
	}{
		{name: "before the log's first record", z: s1 - 1, contains: "the log starts at"},
		{name: "after the last record", z: f.last + 1, contains: "never reached"},
		{name: "an unused counter", z: layout.Make(0, layout.MaxCounter()), contains: "no record has this zxid"},
		{name: "only corrupt snapshots left", z: s1 + 1, damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, "snapshots", snapshot.FileName(s1))
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[20] ^= 1
			require.NoError(t, os.WriteFile(path, b, 0o644))
		}, contains: "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := f.copyDir(t)
			if tc.damage != nil {
				tc.damage(t, dir)
			}
			before := hashes(t, dir)
			var out bytes.Buffer
			err := inspect.LogTruncate(&out, dir, tc.z, true)
			require.ErrorIs(t, err, inspect.ErrRefused)
			assert.ErrorIs(t, err, znode.ErrBadArguments)
			assert.Contains(t, err.Error(), tc.contains)
			assert.Contains(t, err.Error(), tc.z.String())
			assert.Empty(t, out.String())
			assert.Equal(t, before, hashes(t, dir))
		})
	}
}

// A store with no snapshot rebuilds from an empty tree, down to zxid 0.
func TestTruncateWithoutSnapshots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := zkembed.Open(dir, engineOptions(clock.NewVirtual(t0)))
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	for _, p := range []string{"/a", "/b", "/c"} {
		_, err := s.Create(ctx, p, nil, zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	var out bytes.Buffer
	require.NoError(t, inspect.LogTruncate(&out, dir, 3, true)) // createSession, /a, /b
	assert.Contains(t, out.String(), "an empty tree and 3 log records")
	db, got := reopen(t, dir)
	assert.Equal(t, znode.Zxid(3), db.LastZxid())
	assert.Contains(t, got, "\n/b ")
	assert.NotContains(t, got, "\n/c ")
	require.NoError(t, db.Close())

	require.NoError(t, inspect.LogTruncate(&out, dir, 0, true))
	db, got = reopen(t, dir)
	assert.Equal(t, znode.Zxid(0), db.LastZxid())
	assert.NotContains(t, got, "\n/a ")
	require.NoError(t, db.Close())
}

// A store with an empty log and a snapshot at zxid 0 verifies, lists and
// has nothing to truncate.
func TestEmptyStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := zkembed.Open(dir, engineOptions(clock.NewVirtual(t0)))
	require.NoError(t, err)
	info, err := db.Snapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, znode.Zxid(0), info.Zxid)
	require.NoError(t, db.Close())

	var out bytes.Buffer
	require.NoError(t, inspect.LogVerify(&out, dir))
	assert.Contains(t, out.String(), "log: 0 records")
	assert.Contains(t, out.String(), "1 later snapshot agrees")
	out.Reset()
	require.NoError(t, inspect.LogList(&out, dir))
	assert.Contains(t, out.String(), "log: empty")
	out.Reset()
	require.NoError(t, inspect.LogDump(&out, dir, inspect.DumpOptions{}))
	assert.Empty(t, out.String())
	out.Reset()
	require.NoError(t, inspect.LogTruncate(&out, dir, 0, true))
	assert.Contains(t, out.String(), "nothing to do")
	assert.ErrorIs(t, inspect.LogTruncate(&out, dir, 1, true), inspect.ErrRefused)
}
