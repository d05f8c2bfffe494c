package zkembed_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
)

// Many sessions race on shared paths while readers check that every read
// is internally consistent (it comes from one snapshot). A version-checked
// counter proves that no write is lost or applied twice.
func TestConcurrentSessions(t *testing.T) {
	e := newEnv(t)
	setup := e.session(t)
	mustCreate(t, setup, "/shared", "")
	mustCreate(t, setup, "/counter", "0")
	const writers, readers, ops = 6, 2, 300
	var increments atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		s := e.session(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range ops {
				p := fmt.Sprintf("/shared/n%d", rng.IntN(20))
				var err error
				switch rng.IntN(6) {
				case 0:
					_, err = s.Create(ctx, p, []byte("x"), zkembed.ModePersistent, zkembed.OpenACL())
				case 1:
					_, err = s.Create(ctx, p, nil, zkembed.ModeEphemeral, zkembed.OpenACL())
				case 2:
					err = s.Delete(ctx, p, -1)
				case 3:
					_, err = s.SetData(ctx, p, []byte(strconv.Itoa(i)), -1)
				case 4:
					_, err = s.Multi(ctx, &zkembed.CreateOp{Path: p + "-m", ACL: zkembed.OpenACL()}, &zkembed.DeleteOp{Path: p + "-m", Version: -1})
				case 5:
					if incrementCounter(t, s) {
						increments.Add(1)
					}
				}
				if err != nil && !errors.Is(err, zkembed.ErrNodeExists) && !errors.Is(err, zkembed.ErrNoNode) {
					t.Errorf("unexpected error: %v", err)
					return
				}
			}
		}()
	}
	var readWG sync.WaitGroup
	for range readers {
		s := e.session(t)
		readWG.Add(1)
		go func() {
			defer readWG.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				kids, st, err := s.GetChildren(ctx, "/shared")
				if !assert.NoError(t, err) {
					return
				}
				assert.Len(t, kids, int(st.NumChildren), "children and Stat come from one snapshot")
				res, err := s.MultiRead(ctx, &zkembed.GetChildrenOp{Path: "/shared"}, &zkembed.GetDataOp{Path: "/shared"})
				if !assert.NoError(t, err) {
					return
				}
				assert.Len(t, res[0].Children, int(res[1].Stat.NumChildren), "a MultiRead sees one snapshot")
			}
		}()
	}
	wg.Wait()
	close(stop)
	readWG.Wait()
	data, st, err := setup.GetData(ctx, "/counter")
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatInt(increments.Load(), 10), string(data))
	assert.Equal(t, int32(increments.Load()), st.Version)
}

// incrementCounter does one optimistic read-modify-write of /counter and
// reports whether it won.
func incrementCounter(t *testing.T, s *zkembed.Session) bool {
	data, st, err := s.GetData(ctx, "/counter")
	if !assert.NoError(t, err) {
		return false
	}
	n, _ := strconv.Atoi(string(data))
	_, err = s.SetData(ctx, "/counter", []byte(strconv.Itoa(n+1)), st.Version)
	if errors.Is(err, zkembed.ErrBadVersion) {
		return false
	}
	return assert.NoError(t, err)
}
