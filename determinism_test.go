package zkembed_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
)

// scenario drives an engine through sessions, writes of every kind, idle
// expiry, reaping and zxid rollover, all on the virtual clock, and returns
// its canonical history: every log record, then the final dump.
func scenario(t *testing.T, seed uint64) string {
	e := newEnv(t, func(o *zkembed.Options) {
		o.Seed = seed
		o.ZxidCounterBits = 6
		o.ContainerCheckInterval = 3 * time.Second
	})
	rng := rand.New(rand.NewPCG(seed, 99))
	var sessions []*zkembed.Session
	for i := range 200 {
		if len(sessions) == 0 || rng.IntN(10) == 0 {
			s, err := e.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: time.Duration(4+rng.IntN(8)) * time.Second, IdleExpiry: rng.IntN(2) == 0})
			require.NoError(t, err)
			sessions = append(sessions, s)
		}
		s := sessions[rng.IntN(len(sessions))]
		p := fmt.Sprintf("/n%d", rng.IntN(8))
		switch rng.IntN(7) {
		case 0:
			_, _ = s.Create(ctx, p, []byte{byte(i)}, zkembed.CreateMode(rng.IntN(5)), zkembed.OpenACL())
		case 1:
			_, _, _ = s.CreateTTL(ctx, p+"/t", nil, zkembed.ModePersistentSequentialWithTTL, zkembed.OpenACL(), time.Second)
		case 2:
			_ = s.Delete(ctx, p, -1)
		case 3:
			_, _ = s.SetData(ctx, p, []byte(fmt.Sprint(i)), -1)
		case 4:
			_, _ = s.Multi(ctx, &zkembed.CreateOp{Path: p + "/m", Mode: zkembed.ModeEphemeralSequential, ACL: zkembed.OpenACL()},
				&zkembed.SetDataOp{Path: p, Version: -1})
		case 5:
			_ = s.Ping(ctx)
		case 6:
			e.clk.Advance(time.Duration(rng.IntN(3000)) * time.Millisecond)
		}
	}
	e.clk.Advance(time.Minute)
	var b strings.Builder
	for _, r := range e.log.Records() {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	b.WriteString(dump(t, e.db))
	return b.String()
}

func TestDeterminism(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		first, second := scenario(t, seed), scenario(t, seed)
		require.Equal(t, first, second, "seed %d: the same seed must give the same history, byte for byte", seed)
		for _, want := range []string{"closeSession", "deleteContainer", "epoch", "multi"} {
			assert.Contains(t, first, want, "seed %d: the scenario must exercise %s", seed, want)
		}
	}
	assert.NotEqual(t, scenario(t, 1), scenario(t, 2))
}
