package zkembed_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
)

var (
	ctx = context.Background()
	// t0 is the virtual start time: a multiple of the tick, so expiry
	// deadlines are easy to state.
	t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// env is an engine under test on a virtual clock, with a seed and an
// in-memory log.
type env struct {
	db   *zkembed.DB
	clk  *clock.Virtual
	log  *txnlog.Mem
	opts zkembed.Options
}

// newEnv opens an engine. At cleanup it checks the engine's invariants, then
// proves replay: a new engine opened on the same log dumps the same state.
func newEnv(t testing.TB, mod ...func(*zkembed.Options)) *env {
	t.Helper()
	e := &env{clk: clock.NewVirtual(t0), log: txnlog.NewMem()}
	e.opts = zkembed.Options{Clock: e.clk, Seed: 1, Log: e.log, ExtendedTypes: true}
	for _, m := range mod {
		m(&e.opts)
	}
	db, err := zkembed.Open("", &e.opts)
	require.NoError(t, err)
	e.db = db
	t.Cleanup(func() {
		require.NoError(t, db.Check(), "engine invariants")
		want := dump(t, db)
		require.NoError(t, db.Close())
		o := e.opts
		o.Clock = clock.NewVirtual(e.clk.Now())
		o.ResumeSessions = true // keep the restored sessions, to compare them
		replayed, err := zkembed.Open("", &o)
		require.NoError(t, err, "replay")
		defer replayed.Close()
		require.Equal(t, want, dump(t, replayed), "replaying the log must give the same state")
		require.NoError(t, replayed.Check())
	})
	return e
}

func dump(t testing.TB, db *zkembed.DB) string {
	var b bytes.Buffer
	require.NoError(t, db.Dump(&b))
	return b.String()
}

// session opens a session with default options.
func (e *env) session(t testing.TB) *zkembed.Session {
	t.Helper()
	s, err := e.db.NewSession(ctx, nil)
	require.NoError(t, err)
	return s
}

// mustCreate creates a persistent node with open ACL.
func mustCreate(t testing.TB, s *zkembed.Session, path string, data string) zkembed.Stat {
	t.Helper()
	_, st, err := s.Create2(ctx, path, []byte(data), zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err, path)
	return st
}

func stat(t testing.TB, s *zkembed.Session, path string) zkembed.Stat {
	t.Helper()
	ok, st, err := s.Exists(ctx, path)
	require.NoError(t, err)
	require.True(t, ok, "%s must exist", path)
	return st
}

func exists(t testing.TB, s *zkembed.Session, path string) bool {
	t.Helper()
	ok, _, err := s.Exists(ctx, path)
	require.NoError(t, err)
	return ok
}

func newMemLog(t testing.TB, records ...*txn.Txn) *txnlog.Mem {
	t.Helper()
	log := txnlog.NewMem()
	require.NoError(t, log.Append(records...))
	return log
}
