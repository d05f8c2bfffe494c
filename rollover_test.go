package zkembed_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// zxid rollover is an epoch change, not an outage: with a tiny counter the
// engine changes epoch every few transactions while 8 sessions write
// concurrently, and no request fails, no session or ephemeral is lost, and
// zxids stay strictly increasing.
func TestRolloverUnderConcurrentLoad(t *testing.T) {
	for _, bits := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("counterBits=%d", bits), func(t *testing.T) {
			e := newEnv(t, func(o *zkembed.Options) { o.ZxidCounterBits = bits })
			layout := znode.Layout{CounterBits: uint(bits)}
			const workers, rounds = 8, 60
			sessions := make([]*zkembed.Session, workers)
			for w := range sessions {
				s, err := e.db.NewSession(ctx, nil)
				require.NoError(t, err)
				sessions[w] = s
			}
			var wg sync.WaitGroup
			seen := make([][]znode.Zxid, workers)
			for w, s := range sessions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					base := fmt.Sprintf("/w%d", w)
					_, st, err := s.Create2(ctx, base, nil, zkembed.ModePersistent, zkembed.OpenACL())
					if !assert.NoError(t, err) {
						return
					}
					seen[w] = append(seen[w], st.Czxid)
					for i := range rounds {
						_, st, err := s.Create2(ctx, fmt.Sprintf("%s/e%d", base, i), nil, zkembed.ModeEphemeral, zkembed.OpenACL())
						if !assert.NoError(t, err) {
							return
						}
						seen[w] = append(seen[w], st.Czxid)
						st, err = s.SetData(ctx, base, []byte{byte(i)}, -1)
						if !assert.NoError(t, err) {
							return
						}
						seen[w] = append(seen[w], st.Mzxid)
						res, err := s.Multi(ctx, &zkembed.CheckOp{Path: base, Version: st.Version},
							&zkembed.SetDataOp{Path: base, Data: []byte("m"), Version: st.Version})
						if !assert.NoError(t, err) {
							return
						}
						seen[w] = append(seen[w], res[1].Stat.Mzxid)
					}
				}()
			}
			wg.Wait()

			// Every zxid a worker saw is new, increasing, and never uses the
			// counter's all-ones value or counter 0 (the epoch record's).
			all := map[znode.Zxid]bool{}
			for w := range seen {
				require.Len(t, seen[w], 1+3*rounds, "no request failed")
				for i, z := range seen[w] {
					assert.False(t, all[z], "zxid %v handed out twice", z)
					all[z] = true
					c := layout.Counter(z)
					assert.True(t, c >= 1 && c < layout.MaxCounter(), "zxid %v has counter %d", z, c)
					if i > 0 {
						assert.Greater(t, z, seen[w][i-1])
					}
				}
			}
			// The log: strictly increasing, each epoch opened by an epoch
			// record at counter 0, counters contiguous within an epoch.
			var prev znode.Zxid
			epochs := 0
			for _, r := range e.log.Records() {
				require.Greater(t, r.Zxid, prev)
				if r.Ops[0].Type == txn.TypeEpoch {
					epochs++
					assert.Equal(t, int64(0), layout.Counter(r.Zxid))
					assert.Equal(t, layout.Epoch(prev)+1, r.Ops[0].Epoch)
					assert.Equal(t, layout.MaxCounter()-1, layout.Counter(prev), "an epoch starts only when the counter is spent")
				} else if prev != 0 {
					assert.Equal(t, prev+1, r.Zxid, "counters are contiguous within an epoch")
				}
				prev = r.Zxid
			}
			txns := 1 + workers*(1+3*rounds) // session creates counted below
			assert.GreaterOrEqual(t, epochs, txns/int(layout.MaxCounter()-1)-1)
			// Sessions and ephemerals all survived.
			for w, s := range sessions {
				kids, _, err := s.GetChildren(ctx, fmt.Sprintf("/w%d", w))
				require.NoError(t, err)
				assert.Len(t, kids, rounds)
				require.NoError(t, s.Ping(ctx))
			}
		})
	}
}

// With ZooKeeper's 32-bit counter, the epoch changes after 0xFFFFFFFE, and
// an engine reopened on a log that ends there starts the next epoch first.
func TestRolloverAt32Bits(t *testing.T) {
	e := newEnv(t, func(o *zkembed.Options) {
		require.NoError(t, o.Log.Append(&txn.Txn{Zxid: 0xfffffffd, Ops: []txn.Op{{Type: txn.TypeCreate, Path: "/x", ACL: znode.OpenACL(), ParentCversion: 1}}}))
	})
	s := e.session(t) // takes 0xfffffffe, then the epoch record takes 0x100000000
	_, st, err := s.Create2(ctx, "/a", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	assert.Equal(t, znode.Zxid(0x100000001), st.Czxid)
	assert.Equal(t, znode.Zxid(0x100000001), e.db.LastZxid())

	// Reopened with a 4-bit counter, the same log is mid-epoch at counter 1
	// of epoch 0x10000000: fine. A log ending at counter 14 is not.
	o := e.opts
	o.ZxidCounterBits = 4
	o.Log = nil
	for _, last := range []znode.Zxid{0x1e, 0x1f} {
		log := newMemLog(t, &txn.Txn{Zxid: last, Ops: []txn.Op{{Type: txn.TypeCreate, Path: "/y", ACL: znode.OpenACL(), ParentCversion: 1}}})
		o.Log = log
		db, err := zkembed.Open("", &o)
		require.NoError(t, err)
		s, err := db.NewSession(ctx, nil)
		require.NoError(t, err)
		_, st, err := s.Create2(ctx, "/b", nil, zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
		assert.Equal(t, znode.Zxid(0x22), st.Czxid, "epoch 2 record at 0x20, session 0x21, create 0x22 (log ended at %v)", last)
		require.NoError(t, db.Check())
		require.NoError(t, db.Close())
	}
}

// The zxid layout is part of a data directory: reopening without the
// option adopts it (epoch records still follow), and reopening with another
// width is a clear error that leaves the data as it was.
func TestCounterBitsRecordedInDirectory(t *testing.T) {
	dir := t.TempDir()
	db, err := zkembed.Open(dir, &zkembed.Options{ZxidCounterBits: 3})
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	for i := range 20 { // several epochs at 3 bits
		mustCreate(t, s, fmt.Sprintf("/n%d", i), "")
	}
	last := db.LastZxid()
	require.Greater(t, (znode.Layout{CounterBits: 3}).Epoch(last), int64(2))
	require.NoError(t, db.Close())

	_, err = zkembed.Open(dir, &zkembed.Options{ZxidCounterBits: 8})
	require.ErrorIs(t, err, zkembed.ErrBadArguments)
	assert.ErrorContains(t, err, "created with 3")

	db, err = zkembed.Open(dir, nil) // adopts 3 bits
	require.NoError(t, err)
	s, err = db.NewSession(ctx, nil)
	require.NoError(t, err)
	for i := range 10 {
		mustCreate(t, s, fmt.Sprintf("/m%d", i), "")
	}
	require.NoError(t, db.Check())
	require.NoError(t, db.Close())

	db, err = zkembed.Open(dir, &zkembed.Options{ZxidCounterBits: 3})
	require.NoError(t, err)
	require.NoError(t, db.Check())
	require.NoError(t, db.Close())

	require.NoError(t, os.WriteFile(filepath.Join(dir, "FORMAT"), []byte("zkembed data directory\nzxid-counter-bits x\n"), 0o644))
	_, err = zkembed.Open(dir, nil)
	require.ErrorIs(t, err, znode.ErrDataInconsistency)
	assert.ErrorContains(t, err, "FORMAT")
}
