package zkembed_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/sim"
	"github.com/zkembed/zkembed/znode"
)

// TestAgainstModel checks the engine step by step against package sim's
// reference model, on the shared test engine (whose cleanup also replays
// the log and compares).

func TestAgainstModel(t *testing.T) {
	seeds, steps := 150, 150
	if testing.Short() {
		seeds = 20
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, steps) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	e := newEnv(t, func(o *zkembed.Options) { o.ContainerCheckInterval = 24 * time.Hour })
	rng := rand.New(rand.NewPCG(seed, 7))
	m := sim.NewModel()
	newSession := func() *zkembed.Session {
		m.Zxid++ // createSession
		return e.session(t)
	}
	s := newSession()
	for step := range steps {
		now := e.clk.Now().UnixMilli()
		where := fmt.Sprintf("seed %d step %d", seed, step)
		switch r := rng.IntN(20); {
		case r < 12: // a single write
			op := sim.RandomOp(rng, m)
			gotPath, err := op.Write(ctx, s)
			wantPath, code := m.Apply(op, m.Zxid+1, now, s.ID())
			require.Equal(t, code, znode.CodeOf(err), "%s: %+v: %v", where, op, err)
			if code == znode.CodeOK {
				m.Zxid++
				require.Equal(t, wantPath, gotPath, where)
			}
		case r < 15: // a multi of 1-3 writes (setACL becomes a check)
			var ops []sim.Op
			var mops []zkembed.Op
			for range 1 + rng.IntN(3) {
				op := sim.RandomOp(rng, m)
				ops = append(ops, op)
				mops = append(mops, op.MultiOp())
			}
			_, err := s.Multi(ctx, mops...)
			_, want := m.ApplyMulti(ops, m.Zxid+1, now, s.ID())
			require.Equal(t, want, znode.CodeOf(err), "%s: multi %+v: %v", where, ops, err)
		case r < 16: // a session ends; a new one starts
			require.NoError(t, s.Close(ctx))
			m.CloseSession(s.ID())
			s = newSession()
		case r < 17:
			e.clk.Advance(time.Duration(rng.IntN(5000)) * time.Millisecond)
		default: // reads
			p := []string{"/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/zookeeper/u", "/zookeeper/config/x"}[rng.IntN(8)]
			compareNode(t, where, s, m, p)
		}
	}
	// Finally the whole tree: the same paths, and every node equal.
	var walk func(p string)
	var enginePaths []string
	walk = func(p string) {
		enginePaths = append(enginePaths, p)
		kids, _, err := s.GetChildren(ctx, p)
		require.NoError(t, err)
		for _, k := range kids {
			walk(znode.Join(p, k))
		}
	}
	walk("/")
	require.Equal(t, m.Paths(), slices.Sorted(slices.Values(enginePaths)), "seed %d: the trees hold the same paths", seed)
	for _, p := range enginePaths {
		compareNode(t, fmt.Sprintf("seed %d end", seed), s, m, p)
	}
	require.Equal(t, m.Zxid, e.db.LastZxid(), "seed %d: the same number of transactions", seed)
}

func compareNode(t *testing.T, where string, s *zkembed.Session, m *sim.Model, p string) {
	t.Helper()
	want, wst, exists := m.Node(p)
	ok, st, err := s.Exists(ctx, p)
	require.NoError(t, err)
	require.Equal(t, exists, ok, "%s: exists %s", where, p)
	data, gst, err := s.GetData(ctx, p)
	if !exists {
		require.ErrorIs(t, err, zkembed.ErrNoNode, where)
		return
	}
	require.NoError(t, err, where)
	require.Equal(t, wst, st, "%s: stat of %s", where, p)
	require.Equal(t, wst, gst, "%s: getData stat of %s", where, p)
	require.Equal(t, want, data, "%s: data of %s", where, p)
	kids, _, err := s.GetChildren(ctx, p)
	require.NoError(t, err)
	require.Len(t, kids, int(wst.NumChildren), "%s: children of %s", where, p)
}
