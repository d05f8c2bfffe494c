package sim_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed/sim"
)

var (
	seedFlag  = flag.Int64("sim.seed", -1, "run only this seed")
	seedsFlag = flag.Int("sim.seeds", 24, "seeds to run (0 .. n-1)")
	stepsFlag = flag.Int("sim.steps", 400, "steps per seed")
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// regressions are seeds that once failed; each runs on every test run.
//   - 121, 183: a session's close deletes its ephemerals in reverse path
//     order, and their events come in that order;
//   - 192, 971: a one-shot watch fired by a closing session's own deletion
//     gives its stream one event, not one per matching deletion.
var regressions = []uint64{121, 183, 192, 971}

// TestSimulation runs the seeds and prints one summary line. A failing
// seed prints the command that replays it.
func TestSimulation(t *testing.T) {
	seeds := make([]uint64, 0, *seedsFlag+len(regressions))
	if *seedFlag >= 0 {
		seeds = append(seeds, uint64(*seedFlag))
	} else {
		for s := range *seedsFlag {
			seeds = append(seeds, uint64(s))
		}
		seeds = append(seeds, regressions...)
	}
	var total sim.Result
	violations, zeroTailSeeds := 0, 0
	for _, seed := range seeds {
		res, err := sim.Run(sim.Config{Seed: seed, Steps: *stepsFlag})
		require.NoError(t, err, "seed %d", seed)
		if testing.Verbose() || *seedFlag >= 0 {
			t.Log(res)
		}
		if res.Violation != "" {
			violations++
			t.Errorf("seed %d: %s\nreplay: %s", seed, res.Violation, res.ReplayCommand(*stepsFlag))
		}
		total.Steps += res.Steps
		total.Writes += res.Writes + res.Multis
		total.Watches += res.Watches
		total.Events += res.Events
		total.Crashes += res.Crashes
		total.Faults += res.Faults
		total.Reaped += res.Reaped
		total.Expiries += res.Expiries
		total.ClockJumps += res.ClockJumps
		total.ZeroTailReopens += res.ZeroTailReopens
		if res.ZeroTails {
			zeroTailSeeds++
		}
	}
	summary(t, fmt.Sprintf("sim: seeds=%d steps=%d writes=%d watches=%d events=%d crashes=%d faults=%d expiries=%d clock-jumps=%d reaped=%d zero-tail-seeds=%d zero-tail-reopens=%d violations=%d",
		len(seeds), total.Steps, total.Writes, total.Watches, total.Events, total.Crashes, total.Faults, total.Expiries, total.ClockJumps, total.Reaped, zeroTailSeeds, total.ZeroTailReopens, violations))
	if zeroTailSeeds > 0 && total.Crashes >= 10 && total.ZeroTailReopens == 0 {
		t.Errorf("no reopen in %d crashes found a WAL ending in zeros: the zero tails did not reach pebble", total.Crashes)
	}
}

// summary logs line, and appends it to the file $ZKEMBED_SUMMARY names,
// which CI prints at the end of its run.
func summary(t *testing.T, line string) {
	t.Log(line)
	if path := os.Getenv("ZKEMBED_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		defer f.Close()
		_, err = fmt.Fprintln(f, line)
		require.NoError(t, err)
	}
}

// The same seed gives the same canonical history, byte for byte, and
// another seed another one.
func TestDeterministic(t *testing.T) {
	for seed := range uint64(4) {
		a, err := sim.Run(sim.Config{Seed: seed, Steps: 300})
		require.NoError(t, err)
		b, err := sim.Run(sim.Config{Seed: seed, Steps: 300})
		require.NoError(t, err)
		require.Empty(t, a.Violation)
		require.Equal(t, string(a.History), string(b.History), "seed %d", seed)
		require.Equal(t, a.Hash, b.Hash)
		c, err := sim.Run(sim.Config{Seed: seed + 100, Steps: 300})
		require.NoError(t, err)
		require.NotEqual(t, a.Hash, c.Hash)
	}
}
