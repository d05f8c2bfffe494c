package zkembed_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed"
)

// Close ends every goroutine the engine started, even with real-clock timers
// armed for expiry and reaping.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	db, err := zkembed.Open("", &zkembed.Options{TickTime: 10 * time.Millisecond, ContainerCheckInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	for range 5 {
		s, err := db.NewSession(ctx, &zkembed.SessionOptions{IdleExpiry: true})
		require.NoError(t, err)
		_, err = s.Create(ctx, "/e", nil, zkembed.ModeEphemeralSequential, zkembed.OpenACL())
		require.NoError(t, err)
	}
	_, err = db.NewSession(ctx, nil) // a kept-alive session re-arms its timer forever
	require.NoError(t, err)
	time.Sleep(60 * time.Millisecond) // let expiry and reaping run for real
	require.NoError(t, db.Check())
	require.NoError(t, db.Close())
}

// Close ends the goroutines of watch consumers that stopped reading (a
// persistent watch and a stream with a backlog), closing their channels.
func TestCloseEndsSlowWatchConsumers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	pw, err := s.AddWatch(ctx, "/", true)
	require.NoError(t, err)
	stream := s.Events()
	for i := range 100 {
		_, err := s.Create(ctx, fmt.Sprintf("/n%d", i), nil, zkembed.ModePersistent, zkembed.OpenACL())
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	for _, ch := range []<-chan zkembed.Event{pw.Events(), stream} {
		n := 0
		for range ch {
			n++
		}
		assert.Greater(t, n, 0)
	}
}

// Dependencies flow one way: no subpackage imports the root package.
func TestSubpackagesDoNotImportRoot(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Deps " "}}`, "./...").Output()
	require.NoError(t, err)
	const root = "github.com/zkembed/zkembed"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		if pkg == root || above(strings.TrimPrefix(pkg, root+"/")) {
			continue
		}
		for _, d := range strings.Fields(deps) {
			assert.NotEqual(t, root, d, "%s imports the root package", pkg)
		}
	}
}

// above reports whether a package sits above the root (STYLE.md: lock, wire,
// zktest, bench, cmd, and the shell; and the harnesses that drive an
// engine to check it, sim and lincheck). Every other package must stay below it;
// a new package is below unless it is named here.
func above(rel string) bool {
	for _, p := range []string{"bench", "cmd/", "internal/shell", "lincheck", "lock", "sim", "wire", "zktest"} {
		if rel == p || strings.HasPrefix(rel, p+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p)) {
			return true
		}
	}
	return false
}
