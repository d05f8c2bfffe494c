package inspect_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/inspect"
	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

type quiet struct{}

func (quiet) Infof(string, ...any)         {}
func (quiet) Errorf(string, ...any)        {}
func (quiet) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

func key(z znode.Zxid) []byte { return binary.BigEndian.AppendUint64(nil, uint64(z)) }

// mutateLog changes the log of dir directly in pebble, as damage would.
func mutateLog(t *testing.T, dir string, fn func(db *pebble.DB)) {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, "txnlog"), &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: quiet{}})
	require.NoError(t, err)
	fn(db)
	require.NoError(t, db.Close())
}

func getRecord(t *testing.T, db *pebble.DB, z znode.Zxid) []byte {
	t.Helper()
	v, closer, err := db.Get(key(z))
	require.NoError(t, err)
	defer closer.Close()
	return bytes.Clone(v)
}

// Verification finds each kind of damage and names the zxid of the first
// damaged record. The engine's Open agrees when the damage is in what it
// reads (the newest snapshot and the log after it); verification also
// checks the older part of the log, which the engine needs only if the
// newest snapshot turns out corrupt.
func TestVerifyLogFindsDamage(t *testing.T) {
	f := newFixture(t)
	s1, s2 := f.snaps[0], f.snaps[1]
	for _, tc := range []struct {
		name     string
		damage   func(t *testing.T, dir string)
		zxid     znode.Zxid
		is       []error // what the error matches
		contains string
		opens    bool // the engine still opens the store
	}{
		{
			name: "flipped byte in a record",
			damage: func(t *testing.T, dir string) {
				mutateLog(t, dir, func(db *pebble.DB) {
					v := getRecord(t, db, s2+1)
					v[len(v)/2] ^= 0x40
					require.NoError(t, db.Set(key(s2+1), v, pebble.Sync))
				})
			},
			zxid: s2 + 1, is: []error{inspect.ErrCorrupt, txn.ErrCorrupt, znode.ErrDataInconsistency}, contains: "bad checksum",
		},
		{
			name: "flipped byte before the newest snapshot",
			damage: func(t *testing.T, dir string) {
				mutateLog(t, dir, func(db *pebble.DB) {
					v := getRecord(t, db, s1+3)
					v[len(v)/2] ^= 0x40
					require.NoError(t, db.Set(key(s1+3), v, pebble.Sync))
				})
			},
			zxid: s1 + 3, is: []error{inspect.ErrCorrupt, txn.ErrCorrupt}, contains: "bad checksum", opens: true,
		},
		{
			name: "missing record",
			damage: func(t *testing.T, dir string) {
				mutateLog(t, dir, func(db *pebble.DB) { require.NoError(t, db.Delete(key(s2+1), pebble.Sync)) })
			},
			zxid: s2 + 2, is: []error{inspect.ErrCorrupt}, contains: "zxid gap",
		},
		{
			name: "record under another zxid",
			damage: func(t *testing.T, dir string) {
				mutateLog(t, dir, func(db *pebble.DB) {
					require.NoError(t, db.Set(key(s2+1), getRecord(t, db, s2), pebble.Sync))
				})
			},
			zxid: s2 + 1, is: []error{inspect.ErrCorrupt, txn.ErrCorrupt}, contains: "has zxid",
		},
		{
			// A record re-encoded with other data has a good checksum:
			// only replay, which recomputes the tree digest, catches it.
			name: "record with other data and a good checksum",
			damage: func(t *testing.T, dir string) {
				mutateLog(t, dir, func(db *pebble.DB) {
					x, err := txn.Decode(getRecord(t, db, f.last))
					require.NoError(t, err)
					x.Ops[0].Data = []byte("LAST")
					require.NoError(t, db.Set(key(f.last), txn.Encode(x), pebble.Sync))
				})
			},
			zxid: f.last, is: []error{inspect.ErrCorrupt}, contains: "digest",
		},
		{
			name: "snapshot the log does not reach",
			damage: func(t *testing.T, dir string) {
				mutateLog(t, dir, func(db *pebble.DB) {
					require.NoError(t, db.DeleteRange(key(s2), key(f.last+1), pebble.Sync))
				})
			},
			// The engine opens at the snapshot, but a log that lost
			// durable records is damaged.
			zxid: s2, is: []error{inspect.ErrCorrupt}, contains: "after the log's last record", opens: true,
		},
		{
			name: "no snapshot to start from",
			damage: func(t *testing.T, dir string) {
				require.NoError(t, os.RemoveAll(filepath.Join(dir, "snapshots")))
			},
			zxid: s1, is: []error{inspect.ErrCorrupt}, contains: "cannot be opened",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := f.copyDir(t)
			tc.damage(t, dir)
			var out bytes.Buffer
			err := inspect.LogVerify(&out, dir)
			require.Error(t, err)
			for _, target := range tc.is {
				assert.ErrorIs(t, err, target)
			}
			var ie *inspect.Error
			require.ErrorAs(t, err, &ie)
			assert.True(t, ie.HasZxid)
			assert.Equal(t, tc.zxid, ie.Zxid, "%v", err)
			assert.Contains(t, err.Error(), tc.contains)
			assert.Contains(t, out.String(), "FAILED")
			assert.Contains(t, out.String(), tc.zxid.String())

			db, err := zkembed.Open(dir, engineOptions(nil))
			if err == nil {
				db.Close()
			}
			if tc.opens {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, znode.ErrDataInconsistency, "the engine refuses the store too")
			}
		})
	}
}

// A damaged snapshot file fails snapshot verify, which names it; the log
// still verifies (as the engine opens) from the other snapshot.
func TestVerifySnapshotFindsDamage(t *testing.T) {
	f := newFixture(t)
	dir := f.copyDir(t)
	path := filepath.Join(dir, "snapshots", snapshot.FileName(f.snaps[1]))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(path, b, 0o644))

	var out bytes.Buffer
	err = inspect.SnapshotVerify(&out, dir)
	require.Error(t, err)
	assert.ErrorIs(t, err, inspect.ErrCorrupt)
	assert.ErrorIs(t, err, snapshot.ErrCorrupt)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, out.String(), "INVALID "+snapshot.FileName(f.snaps[1]))
	assert.Contains(t, out.String(), "ok "+snapshot.FileName(f.snaps[0]))

	out.Reset()
	require.NoError(t, inspect.SnapshotList(&out, dir))
	assert.Contains(t, out.String(), "INVALID")

	out.Reset()
	require.NoError(t, inspect.LogVerify(&out, dir))
	assert.Contains(t, out.String(), "warning: snapshot "+snapshot.FileName(f.snaps[1])+" is corrupt")
}

// Every read-only command leaves every byte of the store as it was, a dry
// run of truncate included.
func TestReadOnlyCommandsChangeNothing(t *testing.T) {
	f := newFixture(t)
	before := hashes(t, f.dir)
	var out bytes.Buffer
	require.NoError(t, inspect.LogList(&out, f.dir))
	require.NoError(t, inspect.LogDump(&out, f.dir, inspect.DumpOptions{}))
	require.NoError(t, inspect.LogDump(&out, f.dir, inspect.DumpOptions{JSON: true}))
	require.NoError(t, inspect.LogVerify(&out, f.dir))
	require.NoError(t, inspect.SnapshotList(&out, f.dir))
	require.NoError(t, inspect.SnapshotVerify(&out, f.dir))
	require.NoError(t, inspect.SnapshotDump(&out, inspect.SnapshotDumpOptions{Dir: f.dir, Zxid: -1}))
	for _, z := range []znode.Zxid{f.snaps[0], f.snaps[0] + 1, f.snaps[1], f.last - 1} {
		require.NoError(t, inspect.LogTruncate(&out, f.dir, z, false))
	}
	require.Error(t, inspect.LogTruncate(&out, f.dir, f.snaps[0]-1, false))
	assert.Equal(t, before, hashes(t, f.dir))
}

func TestBadDirectories(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	empty := filepath.Join(tmp, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	noDB := filepath.Join(tmp, "nodb")
	require.NoError(t, os.MkdirAll(filepath.Join(noDB, "txnlog"), 0o755))
	badFormat := filepath.Join(tmp, "badformat")
	require.NoError(t, os.MkdirAll(filepath.Join(badFormat, "txnlog"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(badFormat, "FORMAT"), []byte("something else\n"), 0o644))
	for _, dir := range []string{filepath.Join(tmp, "missing"), file, empty, noDB, badFormat} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			before := hashes(t, tmp)
			_, err := inspect.Open(dir, nil)
			assert.ErrorIs(t, err, inspect.ErrNotStore)
			assert.Contains(t, err.Error(), dir)
			for _, err := range []error{
				inspect.LogList(&bytes.Buffer{}, dir),
				inspect.LogVerify(&bytes.Buffer{}, dir),
				inspect.SnapshotList(&bytes.Buffer{}, dir),
				inspect.LogTruncate(&bytes.Buffer{}, dir, 1, true),
			} {
				assert.ErrorIs(t, err, inspect.ErrNotStore)
			}
			assert.Equal(t, before, hashes(t, tmp), "nothing created")
		})
	}
}

// A store held by a running engine is refused with ErrLocked naming the
// directory, by every command that reads the log; the engine goes on.
// Snapshot files, immutable once written, can be read beside it.
func TestLockedByRunningEngine(t *testing.T) {
	f := newFixture(t)
	dir := f.copyDir(t)
	db, err := zkembed.Open(dir, engineOptions(nil))
	require.NoError(t, err)
	defer db.Close()
	for name, run := range map[string]func() error{
		"open":     func() error { _, err := inspect.Open(dir, nil); return err },
		"list":     func() error { return inspect.LogList(&bytes.Buffer{}, dir) },
		"dump":     func() error { return inspect.LogDump(&bytes.Buffer{}, dir, inspect.DumpOptions{}) },
		"verify":   func() error { return inspect.LogVerify(&bytes.Buffer{}, dir) },
		"dry run":  func() error { return inspect.LogTruncate(&bytes.Buffer{}, dir, f.snaps[1], false) },
		"truncate": func() error { return inspect.LogTruncate(&bytes.Buffer{}, dir, f.snaps[1], true) },
	} {
		err := run()
		assert.ErrorIs(t, err, inspect.ErrLocked, name)
		assert.Contains(t, err.Error(), dir, name)
	}
	require.NoError(t, inspect.SnapshotList(&bytes.Buffer{}, dir))
	require.NoError(t, inspect.SnapshotVerify(&bytes.Buffer{}, dir))
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	_, err = s.Create(ctx, "/still-writing", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	require.NoError(t, db.Check())
}

// One inspection at a time: pebble's LOCK is exclusive even for a
// read-only open, in this process as in another.
func TestOneInspectionAtATime(t *testing.T) {
	f := newFixture(t)
	a, err := inspect.Open(f.dir, nil)
	require.NoError(t, err)
	for _, opts := range []*inspect.Options{nil, {Exclusive: true}} {
		_, err = inspect.Open(f.dir, opts)
		assert.ErrorIs(t, err, inspect.ErrLocked)
	}
	require.NoError(t, a.Close())
	c, err := inspect.Open(f.dir, &inspect.Options{Exclusive: true})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}
