package zkserver_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	zkacl "github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/internal/zkserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	zkserver.StopShared()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err) // every goroutine a test starts has ended
		code = 1
	}
	os.Exit(code)
}

// quietLogger drops go-zookeeper's log output (e.g. "recv loop terminated"
// when a test stops the server under an open connection).
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func connect(t *testing.T, srv *zkserver.Server) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect(srv.Servers(), 10*time.Second, zk.WithLogger(quietLogger{}))
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn
			}
		case <-deadline:
			t.Fatalf("no session with %s", srv.Addr)
		}
	}
}

// waitGone polls until path no longer exists.
func waitGone(t *testing.T, conn *zk.Conn, path string, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		ok, _, err := conn.Exists(path)
		return err == nil && !ok
	}, within, 50*time.Millisecond, "%s was not deleted", path)
}

func TestStart(t *testing.T) {
	begin := time.Now()
	srv := zkserver.Start(t,
		zkserver.WithContainerCheckInterval(100*time.Millisecond),
		zkserver.WithSuperDigest(zkacl.Digest("super", "secret")),
	)
	t.Logf("server %s ready in %v (log %s)", srv.Addr, time.Since(begin), srv.LogFile)
	require.True(t, strings.HasPrefix(srv.Addr, "127.0.0.1:"), srv.Addr)

	out, err := srv.FourLetter("srvr")
	require.NoError(t, err)
	require.Contains(t, out, "Mode: standalone")
	require.Contains(t, out, "Zookeeper version: 3.8")

	conn := connect(t, srv)
	acl := zk.WorldACL(zk.PermAll)

	// Plain create and read back.
	p, err := conn.Create("/hello", []byte("world"), 0, acl)
	require.NoError(t, err)
	require.Equal(t, "/hello", p)
	data, stat, err := conn.Get("/hello")
	require.NoError(t, err)
	require.Equal(t, "world", string(data))
	require.EqualValues(t, 0, stat.Version)

	// TTL node: only accepted with zookeeper.extendedTypesEnabled=true; with
	// the short check interval it is reaped soon after the TTL passes.
	_, err = conn.CreateTTL("/ttl", []byte("x"), zk.FlagTTL, acl, 500*time.Millisecond)
	require.NoError(t, err)
	ok, _, err := conn.Exists("/ttl")
	require.NoError(t, err)
	require.True(t, ok)
	waitGone(t, conn, "/ttl", 10*time.Second)

	// Container: reaped once its last child goes.
	_, err = conn.CreateContainer("/box", nil, zk.FlagContainer, acl)
	require.NoError(t, err)
	_, err = conn.Create("/box/item", nil, 0, acl)
	require.NoError(t, err)
	require.NoError(t, conn.Delete("/box/item", -1))
	waitGone(t, conn, "/box", 10*time.Second)

	// Super digest: a node nobody else may read is readable by super.
	_, err = conn.Create("/locked", []byte("s3cr3t"), 0, zk.DigestACL(zk.PermAll, "alice", "pw"))
	require.NoError(t, err)
	_, _, err = conn.Get("/locked")
	require.True(t, errors.Is(err, zk.ErrNoAuth), "got %v", err)
	require.NoError(t, conn.AddAuth("digest", []byte("super:secret")))
	data, _, err = conn.Get("/locked")
	require.NoError(t, err)
	require.Equal(t, "s3cr3t", string(data))

	// Stop is idempotent and really stops the server.
	srv.Stop()
	srv.Stop()
	_, err = srv.FourLetter("ruok")
	require.Error(t, err)
}

func TestParallelStarts(t *testing.T) {
	addrs := make(chan string, 2)
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := zkserver.Start(t)
			conn := connect(t, srv)
			_, err := conn.Create("/only-on-"+name, nil, 0, zk.WorldACL(zk.PermAll))
			require.NoError(t, err)
			children, _, err := conn.Children("/")
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"zookeeper", "only-on-" + name}, children)
			addrs <- srv.Addr
		})
	}
	t.Cleanup(func() {
		close(addrs)
		seen := map[string]bool{}
		for a := range addrs {
			require.False(t, seen[a], "address %s used twice", a)
			seen[a] = true
		}
	})
}

func TestShared(t *testing.T) {
	a := zkserver.Shared(t)
	b := zkserver.Shared(t)
	require.Same(t, a, b)
	require.Equal(t, a.Addr, b.Addr)

	conn := connect(t, a)
	// Shared servers outlive tests (and -count=N repeats): use a unique path.
	p, err := conn.Create("/"+t.Name()+"-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(p, "/TestShared-"), p)

	t.Run("sub", func(t *testing.T) {
		require.Equal(t, a.Addr, zkserver.Shared(t).Addr)
	})
}

func TestExternalAddr(t *testing.T) {
	sh := zkserver.Shared(t)
	t.Setenv(zkserver.EnvAddr, sh.Addr)

	ext := zkserver.Start(t, zkserver.WithContainerCheckInterval(time.Second))
	require.Equal(t, sh.Addr, ext.Addr)
	require.Empty(t, ext.LogFile)
	ext.Stop() // no-op: the shared server must still answer

	out, err := sh.FourLetter("ruok")
	require.NoError(t, err)
	require.Equal(t, "imok", out)
	require.Equal(t, sh.Addr, zkserver.Shared(t).Addr)
}
