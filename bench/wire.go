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

// WireTarget is a server go-zookeeper clients are measured against.
type WireTarget struct {
	Name   string
	Addr   string    // host:port (an IP literal: go-zk resolves names)
	Dialer zk.Dialer // nil: TCP
}

// WireConfig sizes the client-protocol workloads.
type WireConfig struct {
	Targets  []WireTarget
	Clients  []int         // concurrent connections (default 1 and 16)
	Duration time.Duration // per workload, target and client count (default 2s)
	DataSize int           // bytes per znode (default 100)
}

// WireResult is one workload's throughput on one target.
type WireResult struct {
	Target, Workload string
	Clients          int
	OpsPerSec        float64
}

// String renders the result on one line.
func (r WireResult) String() string {
	return fmt.Sprintf("%-28s %-8s %3d clients %9.0f ops/s", r.Target, r.Workload, r.Clients, r.OpsPerSec)
}

// Wire measures getData, setData and create through go-zookeeper on each
// target with each client count, one after the other, each client its own
// connection working in its own subtree.
func Wire(cfg WireConfig) ([]WireResult, error) {
	if len(cfg.Clients) == 0 {
		cfg.Clients = []int{1, 16}
	}
	if cfg.Duration == 0 {
		cfg.Duration = 2 * time.Second
	}
	if cfg.DataSize == 0 {
		cfg.DataSize = 100
	}
	var out []WireResult
	for _, tg := range cfg.Targets {
		for _, n := range cfg.Clients {
			rs, err := wireTarget(tg, n, cfg)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", tg.Name, err)
			}
			out = append(out, rs...)
		}
	}
	return out, nil
}

// wireConnect opens one go-zookeeper connection to tg and waits for its
// session.
func wireConnect(tg WireTarget) (*zk.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := recipe.Connect(ctx, []string{tg.Addr}, 30*time.Second, tg.Dialer)
	if err != nil {
		return nil, err
	}
	return c.Conn(), nil
}

func wireTarget(tg WireTarget, clients int, cfg WireConfig) ([]WireResult, error) {
	conns := make([]*zk.Conn, clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	root := fmt.Sprintf("/bench-%d", time.Now().UnixNano())
	acl := zk.WorldACL(zk.PermAll)
	data := make([]byte, cfg.DataSize)
	for i := range conns {
		c, err := wireConnect(tg)
		if err != nil {
			return nil, err
		}
		conns[i] = c
	}
	if _, err := conns[0].Create(root, nil, 0, acl); err != nil {
		return nil, err
	}
	for i := range conns {
		if _, err := conns[i].Create(fmt.Sprintf("%s/c%d", root, i), data, 0, acl); err != nil {
			return nil, err
		}
	}
	var results []WireResult
	for _, w := range []struct {
		name string
		op   func(c, i int) error
	}{
		{"getData", func(c, _ int) error {
			_, _, err := conns[c].Get(fmt.Sprintf("%s/c%d", root, c))
			return err
		}},
		{"setData", func(c, _ int) error {
			_, err := conns[c].Set(fmt.Sprintf("%s/c%d", root, c), data, -1)
			return err
		}},
		{"create", func(c, i int) error {
			_, err := conns[c].Create(fmt.Sprintf("%s/c%d/n%d", root, c, i), data, 0, acl)
			return err
		}},
	} {
		tp, err := run(w.name, clients, cfg.Duration, w.op)
		if err != nil {
			return nil, err
		}
		results = append(results, WireResult{Target: tg.Name, Workload: w.name, Clients: clients, OpsPerSec: tp.OpsPerSec})
	}
	return results, nil
}

// WireEngine starts zkembed's wire server on loopback TCP over a durable
// data directory (so that writes are synced, as ZooKeeper's are) and
// returns the TCP target, the in-process target and a function that stops
// both and removes the directory.
func WireEngine(parent string) ([]WireTarget, func(), error) {
	dir, err := os.MkdirTemp(parent, "zkembed-wire-bench-")
	if err != nil {
		return nil, nil, err
	}
	db, err := zkembed.Open(filepath.Join(dir, "data"), nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	srv := zkembed.NewServer(db, nil)
	go srv.Serve(l)
	stop := func() {
		srv.Close()
		db.Close()
		os.RemoveAll(dir)
	}
	return []WireTarget{
		{Name: "zkembed serve (TCP)", Addr: l.Addr().String()},
		{Name: "zkembed in-process dialer", Addr: "127.0.0.1:2181", Dialer: srv.Dial},
	}, stop, nil
}

// WireRatios renders each zkembed result beside the same workload on the
// target named base, as ratios.
func WireRatios(results []WireResult, base string) string {
	ref := map[string]float64{}
	for _, r := range results {
		if r.Target == base {
			ref[fmt.Sprintf("%s/%d", r.Workload, r.Clients)] = r.OpsPerSec
		}
	}
	var b strings.Builder
	for _, r := range results {
		if r.Target == base {
			continue
		}
		if v := ref[fmt.Sprintf("%s/%d", r.Workload, r.Clients)]; v > 0 {
			fmt.Fprintf(&b, "%-28s %-8s %3d clients  %.2fx %s\n", r.Target, r.Workload, r.Clients, r.OpsPerSec/v, base)
		}
	}
	return b.String()
}
