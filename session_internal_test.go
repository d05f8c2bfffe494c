package zkembed

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
)

// A touch that read the clock before a later touch stored its time must not
// move lastTouch back (found in review: it let a session expire early).
func TestTouchNeverMovesBack(t *testing.T) {
	s := newSessionState(1, 4000, nil)
	s.touch(3000)
	s.touch(1000)
	assert.Equal(t, int64(3000), s.lastTouch.Load())
	s.touch(5000)
	assert.Equal(t, int64(5000), s.lastTouch.Load())
}

// A session whose ephemerals would not fit in one closeSession record
// closes with a record that says "all of them" (nil Paths), and replay
// deletes the same nodes.
func TestCloseSessionTooManyEphemeralsToList(t *testing.T) {
	defer func(v int) { closeSessionPathsMax = v }(closeSessionPathsMax)
	closeSessionPathsMax = 200

	ctx := context.Background()
	mem := txnlog.NewMem()
	db, err := Open("", &Options{Log: mem, ResumeSessions: true})
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	_, err = s.Create(ctx, "/d", nil, ModePersistent, OpenACL())
	require.NoError(t, err)
	for i := range 50 {
		_, err := s.Create(ctx, fmt.Sprintf("/d/e%02d", i), nil, ModeEphemeral, OpenACL())
		require.NoError(t, err)
	}
	keep, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	_, err = keep.Create(ctx, "/d/other", nil, ModeEphemeral, OpenACL())
	require.NoError(t, err)
	require.NoError(t, s.Close(ctx))

	children, _, err := keep.GetChildren(ctx, "/d")
	require.NoError(t, err)
	assert.Equal(t, []string{"other"}, children)
	records := mem.Records()
	last := records[len(records)-1]
	require.Equal(t, txn.TypeCloseSession, last.Ops[0].Type)
	assert.Nil(t, last.Ops[0].Paths, "the record lists no paths")
	var want strings.Builder
	require.NoError(t, db.Dump(&want))
	require.NoError(t, db.Close())

	again, err := Open("", &Options{Log: mem, ResumeSessions: true})
	require.NoError(t, err)
	defer again.Close()
	var got strings.Builder
	require.NoError(t, again.Dump(&got))
	assert.Equal(t, want.String(), got.String())
	require.NoError(t, again.Check())
}
