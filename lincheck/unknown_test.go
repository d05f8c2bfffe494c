package lincheck_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/zkembed/zkembed/lincheck"
	"github.com/zkembed/zkembed/znode"
)

// flaky is a correct but unreliable client: with probability prob a
// write fails with a deadline, after being applied or not (half the time
// each), as a request can when a connection is lost.
type flaky struct {
	lincheck.Client
	prob float64
	mu   sync.Mutex
	rng  *rand.Rand // guarded by mu
}

// fate returns whether to fail the next write and whether to apply it
// first.
func (f *flaky) fate() (fail, apply bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < f.prob, f.rng.IntN(2) == 0
}

func (f *flaky) Create(ctx context.Context, path string, data []byte) (znode.Stat, error) {
	fail, apply := f.fate()
	if !fail || apply {
		st, err := f.Client.Create(ctx, path, data)
		if !fail {
			return st, err
		}
	}
	return znode.Stat{}, context.DeadlineExceeded
}

func (f *flaky) SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	fail, apply := f.fate()
	if !fail || apply {
		st, err := f.Client.SetData(ctx, path, data, version)
		if !fail {
			return st, err
		}
	}
	return znode.Stat{}, context.DeadlineExceeded
}

func (f *flaky) Delete(ctx context.Context, path string, version int32) error {
	fail, apply := f.fate()
	if !fail || apply {
		err := f.Client.Delete(ctx, path, version)
		if !fail {
			return err
		}
	}
	return context.DeadlineExceeded
}

func (f *flaky) Multi(ctx context.Context, ops []lincheck.Op) ([]lincheck.SubResult, error) {
	fail, apply := f.fate()
	if !fail || apply {
		r, err := f.Client.Multi(ctx, ops)
		if !fail {
			return r, err
		}
	}
	return nil, context.DeadlineExceeded
}

// Writes with an unknown outcome, applied or not, must not be reported as
// violations: both checkers treat them as possibly applied.
func TestUnknownOutcomesAreNotViolations(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		r := run(t, lincheck.Config{Seed: seed, OpsPerClient: 500}, func(c lincheck.Client, i int) lincheck.Client {
			return &flaky{Client: c, prob: 0.02, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		})
		t.Logf("seed %d: %s (%d paths not replayed)", seed, r, r.Zxid.SkippedPaths)
		if r.Unknown == 0 {
			t.Fatalf("seed %d: no unknown outcome", seed)
		}
		if !r.Zxid.Ok() {
			t.Errorf("seed %d: %s", seed, r.Zxid.Violation)
		}
		if r.Porcupine.Result != porcupine.Ok {
			t.Errorf("seed %d: porcupine: %s", seed, r.Porcupine.Result)
		}
	}
}
