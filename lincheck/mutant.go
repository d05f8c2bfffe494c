package lincheck

import (
	"context"
	"math/rand/v2"
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// Stale wraps c into a deliberately broken client, to prove that the
// checkers catch what they claim to: GetData may answer from the last
// value this client read of the path, without asking, as a cache that is
// never invalidated would. Everything else passes through.
//
// A cached answer is a detectable violation only if the node changed after
// it was read. Whether another client's write lands in between depends on
// the scheduling: on a loaded machine, or with one CPU, clients may run
// one after another, and every cached answer happens to be current. So
// the cache also ignores the client's own writes, the failure of a client
// without read-your-writes: once the client has changed a path, its cached
// answer is stale for certain (the write was acknowledged before the read
// began), and it is always given. Otherwise a cached answer is given with
// probability prob.
func Stale(c Client, prob float64, seed uint64) Client {
	return &stale{Client: c, prob: prob, rng: rand.New(rand.NewPCG(seed, 0x57a1e)), cache: map[string]cached{}}
}

type cached struct {
	data    []byte
	stat    znode.Stat
	written bool // the client has changed the path since it read it
}

type stale struct {
	Client
	prob float64
	mu   sync.Mutex
	rng  *rand.Rand
	// cache holds the last answer per path; guarded by mu.
	cache map[string]cached
}

func (s *stale) GetData(ctx context.Context, path string) ([]byte, znode.Stat, error) {
	s.mu.Lock()
	e, ok := s.cache[path]
	useCache := ok && (e.written || s.rng.Float64() < s.prob)
	s.mu.Unlock()
	if useCache {
		return e.data, e.stat, nil
	}
	data, st, err := s.Client.GetData(ctx, path)
	if err == nil {
		s.mu.Lock()
		s.cache[path] = cached{data: data, stat: st}
		s.mu.Unlock()
	}
	return data, st, err
}

// wrote marks the cached answers for paths as stale for certain.
func (s *stale) wrote(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range paths {
		if e, ok := s.cache[p]; ok {
			e.written = true
			s.cache[p] = e
		}
	}
}

func (s *stale) Create(ctx context.Context, path string, data []byte) (znode.Stat, error) {
	st, err := s.Client.Create(ctx, path, data)
	if err == nil {
		s.wrote(path)
	}
	return st, err
}

func (s *stale) Delete(ctx context.Context, path string, version int32) error {
	err := s.Client.Delete(ctx, path, version)
	if err == nil {
		s.wrote(path)
	}
	return err
}

func (s *stale) SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	st, err := s.Client.SetData(ctx, path, data, version)
	if err == nil {
		s.wrote(path)
	}
	return st, err
}

func (s *stale) Multi(ctx context.Context, ops []Op) ([]SubResult, error) {
	res, err := s.Client.Multi(ctx, ops)
	if err == nil {
		for _, op := range ops {
			if op.Kind != KindCheck {
				s.wrote(op.Path)
			}
		}
	}
	return res, err
}

// LostWrite wraps c into a deliberately broken client: with probability
// prob, SetData (unconditional or not) acknowledges without doing
// anything, answering the Stat the write would have had if it had been
// applied after the client's last look at the node. Everything else
// passes through.
func LostWrite(c Client, prob float64, seed uint64) Client {
	return &lostWrite{Client: c, prob: prob, rng: rand.New(rand.NewPCG(seed, 0x105e))}
}

type lostWrite struct {
	Client
	prob float64
	mu   sync.Mutex
	rng  *rand.Rand // guarded by mu
}

func (l *lostWrite) SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	l.mu.Lock()
	lose := l.rng.Float64() < l.prob
	l.mu.Unlock()
	if lose {
		ok, st, err := l.Client.Exists(ctx, path)
		if err != nil {
			return znode.Stat{}, err
		}
		if !ok {
			return znode.Stat{}, znode.ErrNoNode
		}
		if version != -1 && version != st.Version {
			return znode.Stat{}, znode.ErrBadVersion
		}
		st.Version++
		st.DataLength = int32(len(data))
		return st, nil
	}
	return l.Client.SetData(ctx, path, data, version)
}
