package zkembed_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/txn"
)

func TestContainerReaping(t *testing.T) {
	e := newEnv(t, func(o *zkembed.Options) { o.ContainerCheckInterval = time.Second })
	s := e.session(t)
	for _, p := range []string{"/used", "/never", "/busy", "/ephkid"} {
		_, err := s.Create(ctx, p, nil, zkembed.ModeContainer, zkembed.OpenACL())
		require.NoError(t, err)
	}
	mustCreate(t, s, "/used/kid", "")
	require.NoError(t, s.Delete(ctx, "/used/kid", -1))
	mustCreate(t, s, "/busy/kid", "")
	owner := e.session(t)
	_, err := owner.Create(ctx, "/ephkid/e", nil, zkembed.ModeEphemeral, zkembed.OpenACL())
	require.NoError(t, err)

	before := e.db.LastZxid()
	e.clk.Advance(999 * time.Millisecond)
	assert.True(t, exists(t, s, "/used"), "reaping waits for the check interval")
	e.clk.Advance(time.Millisecond)
	assert.False(t, exists(t, s, "/used"), "a container that had a child and lost it is reaped")
	assert.Equal(t, before+1, e.db.LastZxid(), "one deleteContainer transaction")
	recs := e.log.Records()
	assert.Equal(t, txn.TypeDeleteContainer, recs[len(recs)-1].Ops[0].Type)
	assert.True(t, exists(t, s, "/busy"), "a container with children stays")

	require.NoError(t, owner.Close(ctx))
	e.clk.Advance(time.Second)
	assert.False(t, exists(t, s, "/ephkid"), "reaped once its only (ephemeral) child went")

	e.clk.Advance(time.Hour)
	assert.True(t, exists(t, s, "/never"), "a never-used container lives forever by default")
}

func TestNeverUsedContainerOption(t *testing.T) {
	e := newEnv(t, func(o *zkembed.Options) {
		o.ContainerCheckInterval = time.Second
		o.ContainerMaxNeverUsed = 10 * time.Second
	})
	s := e.session(t)
	_, err := s.Create(ctx, "/never", nil, zkembed.ModeContainer, zkembed.OpenACL())
	require.NoError(t, err)
	e.clk.Advance(10 * time.Second)
	assert.True(t, exists(t, s, "/never"), "not yet more than 10s old")
	e.clk.Advance(time.Second)
	assert.False(t, exists(t, s, "/never"))
}

func TestTTLReaping(t *testing.T) {
	e := newEnv(t, func(o *zkembed.Options) { o.ContainerCheckInterval = time.Second })
	s := e.session(t)
	for _, p := range []string{"/t", "/kept", "/parent"} {
		_, _, err := s.CreateTTL(ctx, p, nil, zkembed.ModePersistentWithTTL, zkembed.OpenACL(), 5*time.Second)
		require.NoError(t, err)
	}
	mustCreate(t, s, "/parent/kid", "")
	e.clk.Advance(3 * time.Second)
	_, err := s.SetData(ctx, "/kept", []byte("x"), -1) // setData restarts the TTL
	require.NoError(t, err)
	e.clk.Advance(2 * time.Second)
	assert.True(t, exists(t, s, "/t"), "5s after mtime is not more than the TTL")
	e.clk.Advance(time.Second)
	assert.False(t, exists(t, s, "/t"), "reaped at the first check after the TTL")
	assert.True(t, exists(t, s, "/kept"))
	e.clk.Advance(2 * time.Second)
	assert.True(t, exists(t, s, "/kept"), "5s after its setData at 3s")
	e.clk.Advance(time.Second)
	assert.False(t, exists(t, s, "/kept"), "6s after its setData")
	assert.True(t, exists(t, s, "/parent"), "a TTL node with children is never reaped")

	n, err := e.db.ReapNow()
	require.NoError(t, err)
	assert.Equal(t, 0, n)
}
