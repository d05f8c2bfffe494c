package zkembed_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/wire"
	"github.com/zkembed/zkembed/znode"
)

// An engine that embeds sessions and serves the wire protocol tells them
// apart when it is reopened, without Options.ResumeSessions: the
// in-process session of the previous process is closed at Open by a
// logged closeSession, its ephemeral deleted; the wire session is resumed
// with a fresh timeout, its ephemeral kept, and its client gets it back
// by reconnecting with its id and password. Left alone, it expires after
// its timeout. The same whether Open restores the sessions from the log
// or from a snapshot.
func TestRestartTellsSessionKindsApart(t *testing.T) {
	for _, tc := range []struct {
		name          string
		snapshotEvery int
	}{{"from the log", 0}, {"from a snapshot", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := clock.NewVirtual(t0)
			opts := &zkembed.Options{Clock: clk, Seed: 1, SnapshotEvery: tc.snapshotEvery}
			open := func() (*zkembed.DB, *zkembed.Server) {
				db, err := zkembed.Open(dir, opts)
				require.NoError(t, err)
				srv := zkembed.NewServer(db, nil)
				t.Cleanup(func() {
					srv.Close()
					db.Close()
				})
				return db, srv
			}
			db, srv := open()
			local, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 10 * time.Second})
			require.NoError(t, err)
			_, err = local.Create(ctx, "/local", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
			require.NoError(t, err)
			c, hello := dialRawSession(t, srv, 0, make([]byte, 16))
			remote, password := hello.SessionID, hello.Password
			require.NotZero(t, remote)
			_, code, _, err := c.call(wire.OpCreate, &wire.CreateRequest{Path: "/remote", ACL: znode.OpenACL(), Flags: int32(zkembed.ModeEphemeral)})
			require.NoError(t, err)
			require.Equal(t, znode.CodeOK, code)
			both := db.LastZxid() // both sessions and their ephemerals exist at this zxid
			if tc.snapshotEvery > 0 {
				// Snapshots are written in the background, one at a time:
				// write until one holds everything above.
				require.Eventually(t, func() bool {
					_, err := local.Create(ctx, "/x", nil, zkembed.ModePersistentSequential, zkembed.OpenACL())
					require.NoError(t, err)
					zs, err := snapshot.List(vfs.Default, filepath.Join(dir, "snapshots"))
					require.NoError(t, err)
					return len(zs) > 0 && zs[0] >= both
				}, 10*time.Second, 10*time.Millisecond)
			}
			last := db.LastZxid()
			require.NoError(t, srv.Close()) // the process ends: its sessions end untold
			require.NoError(t, db.Close())

			db, srv = open()
			if tc.snapshotEvery > 0 {
				require.GreaterOrEqual(t, db.Recovery().SnapshotZxid, both, "restored from a snapshot holding both sessions")
			} else {
				require.Zero(t, db.Recovery().SnapshotZxid)
			}
			assert.Equal(t, last+1, db.LastZxid(), "one logged closeSession, the in-process session's")
			reader, err := db.NewSession(ctx, nil)
			require.NoError(t, err)
			ok, _, err := reader.Exists(ctx, "/local")
			require.NoError(t, err)
			assert.False(t, ok, "the in-process session's ephemeral went with it")
			ok, st, err := reader.Exists(ctx, "/remote")
			require.NoError(t, err)
			require.True(t, ok, "the wire session's ephemeral waits for its client")
			assert.Equal(t, remote, st.EphemeralOwner)
			assert.ErrorIs(t, db.ExpireSession(ctx, local.ID()), zkembed.ErrSessionExpired, "the in-process session is gone")

			// Its client comes back: a wrong password does not get it, the
			// right one does, with its ephemeral.
			_, hello = dialRawSession(t, srv, remote, make([]byte, 16))
			assert.Zero(t, hello.Timeout, "wrong password: expired")
			c, hello = dialRawSession(t, srv, remote, password)
			require.Equal(t, remote, hello.SessionID, "the same session")
			require.Equal(t, int32(10000), hello.Timeout)
			_, code, d, err := c.call(wire.OpGetEphemerals, &wire.PathRequest{Path: "/"})
			require.NoError(t, err)
			require.Equal(t, znode.CodeOK, code)
			assert.Equal(t, []string{"/remote"}, d.Strings())
			require.NoError(t, srv.Close())
			require.NoError(t, db.Close())

			// Reopened again and left alone, the wire session expires one
			// timeout (rounded up to the tick) later, its ephemeral with it.
			db, _ = open()
			reader, err = db.NewSession(ctx, &zkembed.SessionOptions{Timeout: time.Minute})
			require.NoError(t, err)
			ok, _, err = reader.Exists(ctx, "/remote")
			require.NoError(t, err)
			require.True(t, ok, "resumed again")
			clk.Advance(12 * time.Second)
			ok, _, err = reader.Exists(ctx, "/remote")
			require.NoError(t, err)
			assert.False(t, ok, "expired")
			require.NoError(t, db.Check())
		})
	}
}

// A session's kind is in its createSession record. Sessions of unknown
// kind (logged before kinds were) are closed at Open as in-process ones
// are, unless Options.ResumeSessions, which resumes every session.
func TestRestartSessionKindsAndResumeSessions(t *testing.T) {
	clk := clock.NewVirtual(t0)
	log := txnlog.NewMem()
	db, err := zkembed.Open("", &zkembed.Options{Clock: clk, Seed: 1, Log: log})
	require.NoError(t, err)
	kinds := []txn.SessionKind{txn.SessionKindUnknown, txn.SessionInProcess, txn.SessionRemote}
	paths := []string{"/unknown", "/in-process", "/remote"}
	ids := map[int64]txn.SessionKind{}
	for i, p := range paths {
		s, err := db.NewSession(ctx, nil)
		require.NoError(t, err)
		ids[s.ID()] = kinds[i]
		_, err = s.Create(ctx, p, nil, zkembed.ModeEphemeral, zkembed.OpenACL())
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	// The log as if the sessions had been of those kinds.
	var records []*txn.Txn
	for _, r := range log.Records() {
		if op := r.Ops[0]; op.Type == txn.TypeCreateSession {
			assert.Equal(t, txn.SessionInProcess, op.Kind, "NewSession's sessions are in-process")
			x := *r
			x.Ops = slices.Clone(r.Ops)
			x.Ops[0].Kind = ids[op.Session]
			r = &x
		}
		records = append(records, r)
	}

	for _, resume := range []bool{false, true} {
		reopened := newMemLog(t, records...)
		db, err := zkembed.Open("", &zkembed.Options{Clock: clk, Log: reopened, ResumeSessions: resume})
		require.NoError(t, err)
		s, err := db.NewSession(ctx, nil)
		require.NoError(t, err)
		for i, p := range paths {
			ok, _, err := s.Exists(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, resume || kinds[i] == txn.SessionRemote, ok, "%s, ResumeSessions=%v", p, resume)
		}
		var closed []int64
		for _, r := range reopened.Records()[len(records):] {
			if r.Ops[0].Type == txn.TypeCloseSession {
				closed = append(closed, r.Ops[0].Session)
			}
		}
		if resume {
			assert.Empty(t, closed)
		} else {
			assert.Len(t, closed, 2, "the unknown and in-process sessions, each by a logged close")
			for _, id := range closed {
				assert.NotEqual(t, txn.SessionRemote, ids[id])
			}
		}
		require.NoError(t, db.Check())
		require.NoError(t, db.Close())
	}
}
