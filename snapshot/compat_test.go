package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// TestLoadsVersion1 loads a snapshot written by the code before session
// kinds (format version 1, commit b2e31fb), frozen in testdata: it must
// load with every kind unknown, and writing what it holds must give back
// the same bytes.
func TestLoadsVersion1(t *testing.T) {
	golden := filepath.Join("testdata", "v1", FileName(6))
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, byte(1), formatOf([]Session{{ID: 1, Timeout: 1}}), "a kindless table is written as version 1")

	tr, sessions, meta, err := Load(vfs.Default, golden)
	require.NoError(t, err)
	assert.Equal(t, znode.Zxid(6), meta.Zxid)
	assert.Equal(t, []Session{
		{ID: 0x100, Timeout: 30000, Kind: txn.SessionKindUnknown},
		{ID: 0x200, Timeout: 4000, Kind: txn.SessionKindUnknown},
		{ID: 0x201, Timeout: -1, Kind: txn.SessionKindUnknown},
	}, sessions)
	app := tr.Get("/app")
	require.NotNil(t, app)
	assert.Equal(t, "v2", app.DataString())
	lock := tr.Get("/app/lock-0000000000")
	require.NotNil(t, lock)
	assert.Equal(t, int64(0x100), lock.Owner())
	require.NotNil(t, tr.Get("/secret"))
	assert.Equal(t, "digest", tr.Get("/secret").ACL()[0].Scheme)

	out := t.TempDir()
	_, err = Write(vfs.Default, out, tr, sessions)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(out, FileName(6)))
	require.NoError(t, err)
	assert.Equal(t, want, got, "loading a version 1 snapshot and writing it back changes its bytes")
}
