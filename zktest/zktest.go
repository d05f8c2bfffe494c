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
	"context"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// An IP literal, so that go-zookeeper does not resolve a name.
	c, err := recipe.Connect(ctx, []string{"127.0.0.1:2181"}, 10*time.Second, e.Server.Dial)
	if err != nil {
		tb.Fatalf("zktest: connect: %v", err)
	}
	tb.Cleanup(c.Close)
	return c.Conn()
}

// Connect starts a fresh engine and returns one connection to it: the one
// call most tests need.
func Connect(tb testing.TB) *zk.Conn {
	tb.Helper()
	return New(tb, nil).Connect(tb)
}
