package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/snapshot"
)

// zkembed log and zkembed snapshot as processes (the test binary run as
// zkembed, see TestRunAsZkembed): exit status 0 for a good store and
// good arguments, 1 for a damaged store, a bad directory or a refused
// truncation, 2 for a flag that does not parse; the default data
// directory is the shell's; nothing changes without -yes.
func TestInspectCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs zkembed processes")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "zkembed-data")
	db, err := zkembed.Open(data, &zkembed.Options{NoSync: true})
	require.NoError(t, err)
	ctx := context.Background()
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	for _, p := range []string{"/a", "/b"} {
		_, err := s.Create(ctx, p, []byte(p), zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
	}
	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	_, err = s.SetData(ctx, "/a", []byte("new"), -1)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	snapFile := filepath.Join(data, "snapshots", snapshot.FileName(snap.Zxid))
	before := fileBytes(t, data)

	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{args: []string{"log", "list"}, stdout: "log: 2 records, 0x3 to 0x4"},
		{args: []string{"log", "dump"}, stdout: "0x4 "},
		{args: []string{"log", "dump", "-json", "-from", "2", "-to", "0x3"}, stdout: `"zxid":"0x3"`},
		{args: []string{"log", "verify", "-data", "zkembed-data"}, stdout: "OK"},
		{args: []string{"snapshot", "list"}, stdout: "valid"},
		{args: []string{"snapshot", "dump"}, stdout: "/b czxid=0x3"},
		{args: []string{"snapshot", "dump", snapFile, "-json"}, stdout: `"kind":"node"`},
		{args: []string{"snapshot", "dump", "-zxid", snap.Zxid.String()}, stdout: "snapshot "},
		{args: []string{"snapshot", "verify"}, stdout: "ok snapshot."},
		{args: []string{"log", "truncate", "-zxid", "3"}, stdout: "dry run"},
		{args: []string{"log", "truncate", "-zxid", "1"}, code: 1, stderr: "truncation refused"},
		{args: []string{"log", "truncate", "-zxid", "0x5"}, code: 1, stderr: "never reached"},
		{args: []string{"log", "truncate"}, code: 1, stderr: "-zxid is required"},
		{args: []string{"log", "truncate", "-zxid", "x12"}, code: 2, stderr: "bad zxid"},
		{args: []string{"log", "dump", "-from", "-1"}, code: 2, stderr: "bad zxid"},
		{args: []string{"log", "list", "-data", "missing"}, code: 1, stderr: "not a zkembed data directory"},
		{args: []string{"snapshot", "list", "-data", "."}, code: 1, stderr: "not a zkembed data directory"},
		{args: []string{"log"}, code: 1, stderr: "missing subcommand"},
		{args: []string{"log", "frob"}, code: 1, stderr: "unknown subcommand"},
		{args: []string{"snapshot", "truncate", "-zxid", "1"}, code: 1, stderr: "log operation"},
		{args: []string{"snapshot", "dump", "-zxid", "0x99"}, code: 1, stderr: "no snapshot file"},
	} {
		stdout, stderr, code := run(t, dir, "", tc.args...)
		assert.Equal(t, tc.code, code, "%v: %s%s", tc.args, stdout, stderr)
		assert.Contains(t, stdout, tc.stdout, "%v", tc.args)
		assert.Contains(t, stderr, tc.stderr, "%v", tc.args)
	}
	assert.Equal(t, before, fileBytes(t, data), "no command without -yes changed the store")

	stdout, stderr, code := run(t, dir, "", "log", "truncate", "-zxid", "3", "-yes")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "done")
	stdout, _, code = run(t, dir, "", "log", "verify")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "1 record, 0x3 to 0x3")

	b, err := os.ReadFile(snapFile)
	require.NoError(t, err)
	b[len(b)-1] ^= 1
	require.NoError(t, os.WriteFile(snapFile, b, 0o644))
	stdout, stderr, code = run(t, dir, "", "snapshot", "verify")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "INVALID "+snapshot.FileName(snap.Zxid))
	assert.Contains(t, stderr, filepath.Join("zkembed-data", "snapshots", snapshot.FileName(snap.Zxid)))
}

// fileBytes returns the content of every file under dir.
func fileBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = string(b)
		return err
	}))
	return out
}
