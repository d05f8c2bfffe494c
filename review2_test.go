package zkembed_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/znode"
)

// Regression tests for the findings of the durability review.

// gateLog is an in-memory log whose Append, once armed, waits for release
// and then fails: a sync that hangs, then reports an I/O error.
type gateLog struct {
	*txnlog.Mem
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (g *gateLog) Append(records ...*txn.Txn) error {
	g.mu.Lock()
	armed := g.armed
	g.mu.Unlock()
	if !armed {
		return g.Mem.Append(records...)
	}
	close(g.entered)
	<-g.release
	return errors.New("injected EIO")
}

// No answer may reveal a write that could still be lost: while A's create
// of /x waits for the log, B's create of /x must not come back with
// NodeExists; once A's append fails, B learns that the engine failed.
func TestNoAnswerBeforeDurability(t *testing.T) {
	log := &gateLog{Mem: txnlog.NewMem(), entered: make(chan struct{}), release: make(chan struct{})}
	db, err := zkembed.Open("", &zkembed.Options{Log: log})
	require.NoError(t, err)
	defer db.Close()
	a, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	b, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	log.mu.Lock()
	log.armed = true
	log.mu.Unlock()

	aErr := make(chan error, 1)
	go func() { _, err := a.Create(ctx, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL()); aErr <- err }()
	<-log.entered
	bErr := make(chan error, 1)
	go func() { _, err := b.Create(ctx, "/x", nil, zkembed.ModePersistent, zkembed.OpenACL()); bErr <- err }()
	select {
	case err := <-bErr:
		close(log.release) // let A finish, so that Close does not wait forever
		<-aErr
		t.Fatalf("B answered while A's record was not durable: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ok, _, err := b.Exists(ctx, "/x")
	require.NoError(t, err)
	assert.False(t, ok, "readers see only durable state")
	close(log.release)
	assert.ErrorIs(t, <-aErr, zkembed.ErrFailed)
	err = <-bErr
	assert.ErrorIs(t, err, zkembed.ErrFailed)
	assert.NotErrorIs(t, err, zkembed.ErrNodeExists, "NodeExists would describe a create that never became durable")
}

// A lost block of records right before an epoch record is a gap too.
func TestReplayRefusesGapBeforeEpoch(t *testing.T) {
	session := func(z znode.Zxid) *txn.Txn {
		return &txn.Txn{Zxid: z, Ops: []txn.Op{{Type: txn.TypeCreateSession, Session: int64(z), Timeout: 4000}}}
	}
	epoch := &txn.Txn{Zxid: 8, Ops: []txn.Op{{Type: txn.TypeEpoch, Epoch: 1}}} // counter bits 3: epoch 1 at 0x8
	open := func(records ...*txn.Txn) error {
		db, err := zkembed.Open("", &zkembed.Options{ZxidCounterBits: 3, Log: newMemLog(t, records...), ResumeSessions: true})
		if err == nil {
			db.Close()
		}
		return err
	}
	require.NoError(t, open(session(1), session(2), session(3), session(4), session(5), session(6), epoch, session(9)))
	assert.ErrorIs(t, open(session(1), session(2), session(3), session(4), epoch, session(9)), znode.ErrDataInconsistency, "0x5 and 0x6 are missing")
	assert.ErrorIs(t, open(session(1), session(2), session(3), session(4), session(5), session(6), &txn.Txn{Zxid: 16, Ops: epoch.Ops}), znode.ErrDataInconsistency, "an epoch record must open the next epoch")
}

// A multi too big for one log record is refused; it must not stop the engine.
func TestOversizedMultiIsRefused(t *testing.T) {
	db, err := zkembed.Open(t.TempDir(), &zkembed.Options{NoSync: true})
	require.NoError(t, err)
	defer db.Close()
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	big := make([]byte, 1<<19)
	var ops []zkembed.Op
	for i := range 3 {
		ops = append(ops, &zkembed.CreateOp{Path: "/big" + string(rune('a'+i)), Data: big, ACL: zkembed.OpenACL()})
	}
	_, err = s.Multi(ctx, ops...)
	require.ErrorIs(t, err, zkembed.ErrBadArguments, "1.5 MiB in one request, over jute.maxbuffer's 1 MiB")
	_, err = s.Create(ctx, "/after", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err, "the engine goes on")
	_, err = zkembed.Open("", &zkembed.Options{MaxDataSize: txn.MaxRecordSize})
	assert.ErrorIs(t, err, zkembed.ErrBadArguments, "a data limit the log cannot hold is refused")
}
