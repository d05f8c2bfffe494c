package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
)

// Client is one session a workload drives: the recipe client interface
// (so the lock workload runs recipe.Lock on it, and the watch workload its
// one-shot watches), plus a multi-op transaction and Close. Every target
// hands out the same kind of client, so a workload is one piece of code
// whichever server answers it.
type Client interface {
	recipe.Client
	// Multi runs ops as one transaction.
	Multi(ctx context.Context, ops ...MultiOp) error
	// Close ends the session.
	Close() error
}

// MultiOpKind says what a MultiOp does.
type MultiOpKind int

// The operations a MultiOp can be.
const (
	MultiCreate MultiOpKind = iota // create a persistent node with open ACL
	MultiSet                       // set a node's data, any version
	MultiDelete                    // delete a node, any version
	MultiCheck                     // require the node to exist
)

// MultiOp is one operation of Client.Multi.
type MultiOp struct {
	Kind MultiOpKind
	Path string
	Data []byte
}

// Target is a place workloads run: an embedded engine, or a ZooKeeper
// server reached through go-zookeeper. Every run works under its own new
// root. A target with a data directory (durable, dialer, serve, etcd)
// keeps its engine or server from its first Open until CloseTargets, as a
// ZooKeeper server stays up between runs (see kept); the in-memory target
// starts a fresh engine for each run, which has no log to warm and would
// otherwise grow by millions of nodes a second of creates.
type Target interface {
	// Name identifies the target in results ("mem", "durable",
	// "zookeeper", ...).
	Name() string
	// Open returns n clients, each its own session, and a function that
	// closes them (and whatever Open started for this run only). The
	// clients are ready to use; the close function waits until every
	// goroutine of the run's clients has ended. What a target keeps
	// between runs ends in CloseTargets.
	Open(ctx context.Context, n int) ([]Client, func(), error)
}

// Target names accepted by NewTarget.
const (
	TargetMem     = "mem"       // embedded engine in memory, Session methods directly
	TargetDurable = "durable"   // embedded engine on a data directory (fsync per write batch)
	TargetDialer  = "dialer"    // go-zookeeper to a durable engine through the in-process dialer
	TargetServe   = "serve"     // go-zookeeper to a durable engine's wire server on loopback TCP
	TargetZK      = "zookeeper" // the name -vs gives a ZooKeeper at HOST:PORT (see ZooKeeperTarget)
)

// TargetNames lists the embedded targets NewTarget knows, in order.
var TargetNames = []string{TargetMem, TargetDurable, TargetDialer, TargetServe}

// NewTarget returns the embedded target called name (see TargetNames).
// Durable targets make their data directories under dir (default
// os.TempDir()) and remove them in CloseTargets. opts configure the
// engines (nil: defaults).
func NewTarget(name, dir string, opts *zkembed.Options) (Target, error) {
	switch name {
	case TargetMem:
		return &engineTarget{name: name, opts: opts}, nil
	case TargetDurable:
		return &engineTarget{name: name, dir: dir, durable: true, opts: opts}, nil
	case TargetDialer, TargetServe:
		return &serverTarget{name: name, dir: dir, tcp: name == TargetServe, opts: opts}, nil
	}
	return nil, fmt.Errorf("bench: unknown target %q (known: %s, or %s=HOST:PORT)", name, strings.Join(TargetNames, ", "), TargetZK)
}

// ZooKeeperTarget is a ZooKeeper server at addr (host:port, an IP
// literal: go-zookeeper resolves names itself), named name in results.
// Each run works under a new root, /zkbench-<time>-<n>, and leaves it
// behind (deleting what a create workload made would take longer than the
// run): point it at a throw-away server.
func ZooKeeperTarget(name, addr string) Target {
	return &zkTarget{name: name, addr: addr}
}

// engineTarget is an embedded engine, its clients sessions called directly.
// A durable one is kept between runs.
type engineTarget struct {
	name    string
	dir     string
	durable bool
	opts    *zkembed.Options
	kept    kept[*zkembed.DB]
}

func (t *engineTarget) Name() string { return t.name }

// Close closes the kept engine, if any.
func (t *engineTarget) Close() error { return t.kept.Close() }

func (t *engineTarget) Open(ctx context.Context, n int) ([]Client, func(), error) {
	db, end, err := t.engine()
	if err != nil {
		return nil, nil, err
	}
	var sessions []*zkembed.Session
	closeAll := func() {
		for _, s := range sessions {
			s.Close(context.Background())
		}
		end()
	}
	clients := make([]Client, n)
	for i := range clients {
		s, err := db.NewSession(ctx, nil)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		sessions = append(sessions, s)
		clients[i] = sessionClient{Client: s.RecipeClient(), s: s}
	}
	return clients, closeAll, nil
}

// engine returns the engine of one run and what ends it with the run: a
// fresh one, closed then, in memory; the kept one, left open, on disk.
func (t *engineTarget) engine() (*zkembed.DB, func(), error) {
	if !t.durable {
		db, _, err := openEngine("", false, t.opts)
		return db, func() { db.Close() }, err
	}
	db, err := t.kept.get(func() (*zkembed.DB, func() error, error) {
		db, cleanup, err := openEngine(t.dir, true, t.opts)
		if err != nil {
			return nil, nil, err
		}
		return db, func() error {
			err := db.Close()
			cleanup()
			return err
		}, nil
	})
	return db, func() {}, err
}

// openEngine opens a fresh engine: in memory, or on a new data directory
// under dir that cleanup removes.
func openEngine(dir string, durable bool, opts *zkembed.Options) (*zkembed.DB, func(), error) {
	if !durable {
		db, err := zkembed.Open("", opts)
		return db, func() {}, err
	}
	parent, err := os.MkdirTemp(dir, "zkembed-bench-")
	if err != nil {
		return nil, nil, err
	}
	db, err := zkembed.Open(filepath.Join(parent, "data"), opts)
	if err != nil {
		os.RemoveAll(parent)
		return nil, nil, err
	}
	return db, func() { os.RemoveAll(parent) }, nil
}

// sessionClient is an embedded session as a Client.
type sessionClient struct {
	recipe.Client
	s *zkembed.Session
}

func (c sessionClient) Multi(ctx context.Context, ops ...MultiOp) error {
	zops := make([]zkembed.Op, len(ops))
	for i, o := range ops {
		switch o.Kind {
		case MultiCreate:
			zops[i] = &zkembed.CreateOp{Path: o.Path, Data: o.Data, Mode: zkembed.ModePersistent, ACL: zkembed.OpenACL()}
		case MultiSet:
			zops[i] = &zkembed.SetDataOp{Path: o.Path, Data: o.Data, Version: -1}
		case MultiDelete:
			zops[i] = &zkembed.DeleteOp{Path: o.Path, Version: -1}
		case MultiCheck:
			zops[i] = &zkembed.CheckOp{Path: o.Path, Version: -1}
		}
	}
	_, err := c.s.Multi(ctx, zops...)
	return err
}

func (c sessionClient) Close() error { return c.s.Close(context.Background()) }

// serverTarget is a durable engine behind zkembed's wire server, reached by
// go-zookeeper through the in-process dialer or loopback TCP. The engine
// and its server are kept between runs.
type serverTarget struct {
	name string
	dir  string
	tcp  bool
	opts *zkembed.Options
	kept kept[servedEngine]
}

// servedEngine is where a serverTarget's clients connect.
type servedEngine struct {
	addr   string
	dialer zk.Dialer // nil: TCP
}

func (t *serverTarget) Name() string { return t.name }

// Close stops the kept server and engine, if any.
func (t *serverTarget) Close() error { return t.kept.Close() }

func (t *serverTarget) Open(ctx context.Context, n int) ([]Client, func(), error) {
	se, err := t.kept.get(t.start)
	if err != nil {
		return nil, nil, err
	}
	clients, closeClients, err := connectZK(ctx, se.addr, se.dialer, n)
	if err != nil {
		closeClients()
		return nil, nil, err
	}
	return clients, closeClients, nil
}

// start opens a durable engine and its wire server.
func (t *serverTarget) start() (servedEngine, func() error, error) {
	db, cleanup, err := openEngine(t.dir, true, t.opts)
	if err != nil {
		return servedEngine{}, nil, err
	}
	srv := zkembed.NewServer(db, nil)
	se := servedEngine{addr: "127.0.0.1:2181", dialer: zk.Dialer(srv.Dial)}
	served := make(chan struct{})
	if t.tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			db.Close()
			cleanup()
			return servedEngine{}, nil, err
		}
		se = servedEngine{addr: l.Addr().String()}
		go func() {
			defer close(served)
			srv.Serve(l)
		}()
	} else {
		close(served)
	}
	return se, func() error {
		srv.Close()
		<-served
		err := db.Close()
		cleanup()
		return err
	}, nil
}

// zkTarget is an external ZooKeeper server.
type zkTarget struct{ name, addr string }

func (t *zkTarget) Name() string { return t.name }

func (t *zkTarget) Open(ctx context.Context, n int) ([]Client, func(), error) {
	clients, closeAll, err := connectZK(ctx, t.addr, nil, n)
	if err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("%s %s: %w", t.name, t.addr, err)
	}
	return clients, closeAll, nil
}

// connectZK opens n go-zookeeper sessions to addr. The close function
// closes those that were opened, also after an error.
func connectZK(ctx context.Context, addr string, dialer zk.Dialer, n int) ([]Client, func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	clients := make([]Client, 0, n)
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	for range n {
		c, err := recipe.Connect(ctx, []string{addr}, 30*time.Second, dialer)
		if err != nil {
			return nil, closeAll, err
		}
		clients = append(clients, zkClient{c})
	}
	return clients, closeAll, nil
}

// zkClient is a go-zookeeper connection as a Client.
type zkClient struct{ *recipe.ZK }

func (c zkClient) Multi(_ context.Context, ops ...MultiOp) error {
	reqs := make([]any, len(ops))
	for i, o := range ops {
		switch o.Kind {
		case MultiCreate:
			reqs[i] = &zk.CreateRequest{Path: o.Path, Data: o.Data, Acl: zk.WorldACL(zk.PermAll)}
		case MultiSet:
			reqs[i] = &zk.SetDataRequest{Path: o.Path, Data: o.Data, Version: -1}
		case MultiDelete:
			reqs[i] = &zk.DeleteRequest{Path: o.Path, Version: -1}
		case MultiCheck:
			reqs[i] = &zk.CheckVersionRequest{Path: o.Path, Version: -1}
		}
	}
	res, err := c.Conn().Multi(reqs...)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Error != nil {
			return r.Error
		}
	}
	return nil
}

func (c zkClient) Close() error {
	c.ZK.Close()
	return nil
}
