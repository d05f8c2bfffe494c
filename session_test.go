package zkembed_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
)

func TestSessionTimeoutNegotiation(t *testing.T) {
	e := newEnv(t) // tick 2s: bounds 4s and 40s, as in SEMANTICS.md §10.1
	for req, want := range map[time.Duration]time.Duration{
		0: 4 * time.Second, time.Millisecond: 4 * time.Second, 3999 * time.Millisecond: 4 * time.Second,
		4 * time.Second: 4 * time.Second, 10 * time.Second: 10 * time.Second, 40 * time.Second: 40 * time.Second,
		40001 * time.Millisecond: 40 * time.Second, 1e9 * time.Millisecond: 40 * time.Second,
	} {
		s, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: req})
		require.NoError(t, err)
		assert.Equal(t, want, s.Timeout(), "requested %v", req)
	}
}

func TestSessionIDsAndPasswords(t *testing.T) {
	ids := func(seed uint64) []int64 {
		e := newEnv(t, func(o *zkembed.Options) { o.Seed = seed })
		var out []int64
		for range 3 {
			out = append(out, e.session(t).ID())
		}
		return out
	}
	a, b := ids(7), ids(7)
	assert.Equal(t, a, b, "the same seed gives the same ids")
	assert.NotEqual(t, a, ids(8))
	assert.Equal(t, int64(1), a[0]>>56, "server id 1 in the top byte")
	assert.Equal(t, int64(0), a[0]&0xffff, "low 16 bits start at 0")
	assert.Equal(t, []int64{a[0], a[0] + 1, a[0] + 2}, a)

	// Golden values from java.util.Random on a real JVM, as ZooKeeper's
	// generatePasswd uses it.
	for id, want := range map[int64]string{
		0x0100000498790000: "8d2d9a81964423c4b3c3eb28cf6ddb76",
		0x0100000498790001: "a04e948136900209a8065354a3f6ef43",
		42:                 "c813ee495620c3a68794ef27a239e8a9",
	} {
		assert.Equal(t, want, hex.EncodeToString(zkembed.SessionPassword(id)))
	}
	e := newEnv(t)
	s := e.session(t)
	assert.Equal(t, zkembed.SessionPassword(s.ID()), s.Password())

	// Without a seed, the id comes from the clock as in ZooKeeper: the
	// clock's ms in bits 55..16.
	clk := clock.NewVirtual(time.UnixMilli(0x49879))
	db, err := zkembed.Open("", &zkembed.Options{Clock: clk})
	require.NoError(t, err)
	defer db.Close()
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(0x0100000498790000), s2.ID())
}

func TestCloseSessionDeletesEphemeralsInOneZxid(t *testing.T) {
	e := newEnv(t)
	s, other := e.session(t), e.session(t)
	mustCreate(t, other, "/a", "")
	mustCreate(t, other, "/a/sub", "")
	for _, p := range []string{"/a/e1", "/a/e2", "/a/sub/e3", "/e4"} {
		_, err := s.Create(ctx, p, nil, zkembed.ModeEphemeral, zkembed.OpenACL())
		require.NoError(t, err)
	}
	aBefore := stat(t, other, "/a")
	before := e.db.LastZxid()
	require.NoError(t, s.Close(ctx))
	closeZxid := e.db.LastZxid()
	assert.Equal(t, before+1, closeZxid, "one closeSession transaction")
	for _, p := range []string{"/a/e1", "/a/e2", "/a/sub/e3", "/e4"} {
		assert.False(t, exists(t, other, p), p)
	}
	a := stat(t, other, "/a")
	assert.Equal(t, closeZxid, a.Pzxid)
	assert.Equal(t, aBefore.Cversion+2, a.Cversion)
	assert.Equal(t, closeZxid, stat(t, other, "/a/sub").Pzxid)
	assert.Equal(t, closeZxid, stat(t, other, "/").Pzxid)

	_, _, err := s.GetData(ctx, "/a")
	assert.ErrorIs(t, err, zkembed.ErrSessionExpired)
	_, err = s.Create(ctx, "/z", nil, zkembed.ModePersistent, zkembed.OpenACL())
	assert.ErrorIs(t, err, zkembed.ErrSessionExpired)
	require.NoError(t, s.Close(ctx), "closing twice is a no-op")
	assert.Equal(t, closeZxid, e.db.LastZxid())

	recs := e.log.Records()
	last := recs[len(recs)-1]
	require.Equal(t, txn.TypeCloseSession, last.Ops[0].Type)
	assert.ElementsMatch(t, []string{"/a/e1", "/a/e2", "/a/sub/e3", "/e4"}, last.Ops[0].Paths)
}

// With tick 2s and timeout 4s, a session last heard from at t expires at the
// tick boundary ((t + 4s)/2s + 1) × 2s: between timeout and timeout + tick.
func TestIdleExpiry(t *testing.T) {
	e := newEnv(t)
	s, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 4 * time.Second, IdleExpiry: true})
	require.NoError(t, err)
	_, err = s.Create(ctx, "/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	watcher := e.session(t)

	e.clk.Advance(3 * time.Second)
	require.NoError(t, s.Ping(ctx)) // heard from at t0+3s: deadline t0+8s
	e.clk.Advance(4999 * time.Millisecond)
	assert.True(t, exists(t, watcher, "/eph"), "alive at t0+7.999s")
	e.clk.Advance(time.Millisecond)
	assert.False(t, exists(t, watcher, "/eph"), "expired at t0+8s")
	_, _, err = s.GetData(ctx, "/")
	assert.ErrorIs(t, err, zkembed.ErrSessionExpired)

	// A session never heard from after creation at t0: deadline t0+6s.
	e2 := newEnv(t)
	s2, err := e2.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 4 * time.Second, IdleExpiry: true})
	require.NoError(t, err)
	e2.clk.Advance(5999 * time.Millisecond)
	require.NoError(t, s2.Ping(ctx), "alive at t0+5.999s")
	e2.clk.Advance(8 * time.Second)
	assert.ErrorIs(t, s2.Ping(ctx), zkembed.ErrSessionExpired, "the ping at 5.999s moved the deadline to 12s")
}

func TestKeepAliveAndExpireOnDemand(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	_, err := s.Create(ctx, "/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	e.clk.Advance(time.Hour)
	require.True(t, exists(t, s, "/eph"), "the engine heartbeats for a session without IdleExpiry")

	other := e.session(t)
	require.NoError(t, e.db.ExpireSession(ctx, s.ID()))
	assert.False(t, exists(t, other, "/eph"))
	assert.ErrorIs(t, s.Ping(ctx), zkembed.ErrSessionExpired)
	assert.ErrorIs(t, e.db.ExpireSession(ctx, s.ID()), zkembed.ErrSessionExpired)
	assert.ErrorIs(t, e.db.ExpireSession(ctx, 12345), zkembed.ErrSessionExpired)
}

// By default a reopened engine closes the sessions of the previous process,
// each in a logged closeSession, so their ephemerals go at once.
func TestRestoredSessionsClosedAtOpen(t *testing.T) {
	e := newEnv(t)
	s := e.session(t)
	_, err := s.Create(ctx, "/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)
	mustCreate(t, s, "/kept", "")
	o := e.opts
	o.Clock = clock.NewVirtual(t0)
	o.Log = newMemLog(t, e.log.Records()...)
	db, err := zkembed.Open("", &o)
	require.NoError(t, err)
	defer db.Close()
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	ok, _, err := s2.Exists(ctx, "/eph")
	require.NoError(t, err)
	assert.False(t, ok, "the previous process's ephemeral is gone")
	ok, _, _ = s2.Exists(ctx, "/kept")
	assert.True(t, ok)
	recs := o.Log.(*txnlog.Mem).Records()
	assert.Equal(t, txn.TypeCloseSession, recs[len(e.log.Records())].Ops[0].Type, "the close is logged")
	require.NoError(t, db.Check())
}

// With ResumeSessions, sessions restored from the log have no client yet:
// like ZooKeeper after a restart, they get one full timeout to come back,
// then expire.
func TestRestoredSessionsExpire(t *testing.T) {
	e := newEnv(t)
	s, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 10 * time.Second})
	require.NoError(t, err)
	_, err = s.Create(ctx, "/eph", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)

	clk := clock.NewVirtual(t0.Add(time.Minute))
	o := e.opts
	o.Clock = clk
	o.Log = txnlog.NewMem() // a copy: the restarted engine's writes stay out of e's log
	require.NoError(t, o.Log.Append(e.log.Records()...))
	o.ResumeSessions = true
	db, err := zkembed.Open("", &o)
	require.NoError(t, err)
	defer db.Close()
	s2, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	assert.NotEqual(t, s.ID(), s2.ID(), "ids continue after the restored ones")
	ok, _, err := s2.Exists(ctx, "/eph")
	require.NoError(t, err)
	require.True(t, ok, "the ephemeral survives a quick restart")
	clk.Advance(11999 * time.Millisecond)
	ok, _, _ = s2.Exists(ctx, "/eph")
	require.True(t, ok)
	clk.Advance(time.Millisecond)
	ok, _, _ = s2.Exists(ctx, "/eph")
	assert.False(t, ok, "expired one timeout (rounded up to the tick) after the restart")
	require.NoError(t, db.Check())
}

func TestManySessionsExpireInOrder(t *testing.T) {
	e := newEnv(t)
	var sessions []*zkembed.Session
	for i := range 50 {
		s, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: time.Duration(4+i%5) * time.Second, IdleExpiry: true})
		require.NoError(t, err)
		_, err = s.Create(ctx, "/e", nil, zkembed.ModeEphemeralSequential, zkembed.OpenACL())
		require.NoError(t, err)
		sessions = append(sessions, s)
		e.clk.Advance(100 * time.Millisecond)
	}
	e.clk.Advance(time.Minute)
	for _, s := range sessions {
		assert.ErrorIs(t, s.Ping(ctx), zkembed.ErrSessionExpired)
	}
	var closed []int64
	for _, r := range e.log.Records() {
		if r.Ops[0].Type == txn.TypeCloseSession {
			closed = append(closed, r.Ops[0].Session)
			assert.Len(t, r.Ops[0].Paths, 1)
		}
	}
	assert.Len(t, closed, 50)
}

// An expiry pass that re-files a session to a later bucket must still arm
// the timer for an earlier bucket (found in review: an idle session then
// lived up to a whole timeout too long).
func TestExpiryRearmsForEarlierBucket(t *testing.T) {
	e := newEnv(t)
	_, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 40 * time.Second}) // kept alive by the engine
	require.NoError(t, err)
	e.clk.Advance(10 * time.Second)
	y, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 40 * time.Second, IdleExpiry: true})
	require.NoError(t, err)
	e.clk.Advance(50 * time.Second) // y idle 50 s > 40 s + a tick
	_, _, err = y.Exists(ctx, "/")
	require.ErrorIs(t, err, zkembed.ErrSessionExpired)
}
