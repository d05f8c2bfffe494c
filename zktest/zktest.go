// Package zktest gives a Go test a real *zk.Conn (github.com/go-zookeeper/zk)
// backed by a fresh in-memory zkembed engine: code written against
// ZooKeeper runs unchanged, in process, with no Java and no sockets (the
// connection is a net.Pipe served by zkembed's wire server). Everything is
// closed when the test ends.
//
//	func TestMyCode(t *testing.T) {
//		conn := zktest.Connect(t)
//		conn.Create("/app", nil, 0, zk.WorldACL(zk.PermAll))
//		...
//	}
package zktest

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed"
)

// Engine is an in-memory engine with its wire server, for tests that need
// several connections or the engine itself (to expire a session, say).
type Engine struct {
	DB     *zkembed.DB
	Server *zkembed.Server
}

// New starts an engine with opts (nil: defaults, with ExtendedTypes so that
// TTL nodes work as on a server with extendedTypesEnabled). It is closed
// when the test ends.
func New(tb testing.TB, opts *zkembed.Options) *Engine {
	tb.Helper()
	if opts == nil {
		opts = &zkembed.Options{ExtendedTypes: true}
	}
	db, err := zkembed.Open("", opts)
	if err != nil {
		tb.Fatalf("zktest: open engine: %v", err)
	}
	srv := zkembed.NewServer(db, nil)
	tb.Cleanup(func() {
		_ = srv.Close()
		_ = db.Close()
	})
	return &Engine{DB: db, Server: srv}
}

// Connect opens a go-zookeeper connection to the engine, waits for its
// session and closes it when the test ends (before the engine).
func (e *Engine) Connect(tb testing.TB) *zk.Conn {
	tb.Helper()
	// An IP literal, so that go-zookeeper does not resolve a name.
	conn, events, err := zk.Connect([]string{"127.0.0.1:2181"}, 10*time.Second,
		zk.WithDialer(e.Server.Dial), zk.WithLogger(quiet{}), zk.WithLogInfo(false))
	if err != nil {
		tb.Fatalf("zktest: connect: %v", err)
	}
	tb.Cleanup(conn.Close)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() {
					for range events { //nolint:revive // drain: go-zk blocks on a full channel
					}
				}()
				return conn
			}
		case <-timeout:
			tb.Fatal("zktest: no session within 10s")
		}
	}
}

// Connect starts a fresh engine and returns one connection to it: the one
// call most tests need.
func Connect(tb testing.TB) *zk.Conn {
	tb.Helper()
	return New(tb, nil).Connect(tb)
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
