package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"

	"github.com/zkembed/zkembed/recipe"
	"github.com/zkembed/zkembed/znode"
)

// TargetEtcd is the name of EtcdTarget's results, and what -vs etcd asks
// for.
const TargetEtcd = "etcd"

// EtcdVersion is the version of the etcd server EtcdTarget embeds.
var EtcdVersion = version.Version

// EtcdNote says how each workload maps onto etcd, and what etcd's figures
// pay for: printed beside them.
var EtcdNote = `etcd ` + EtcdVersion + `: a server embedded in the process (go.etcd.io/etcd/server/v3/embed), one for the whole
  command (each run under its own key prefix, compacted after it: etcd keeps every revision until then),
  data in a temp dir, default settings: its WAL is fsynced on every raft commit (UnsafeNoFsync off);
  each client is its own in-process clientv3 (v3client.New: direct calls to the server's gRPC handlers,
  no socket). A znode path is a key.
  create: Txn, Put if CreateRevision == 0; set: Put; get: Get; exists: Get WithCountOnly;
  children: Get of the prefix path+"/" WithKeysOnly, direct children kept; mixed: Get or Put.
  multi: one Txn: if the new key is absent, Put it, Put the parent, Delete the previous turn's key
    (etcd refuses a Put and a Delete of one key in one Txn: ZooKeeper's create+set+delete of one node
    cannot be copied).
  watch: one persistent Watch per client, made before the first write: etcd has no one-shot watch,
    so there is no re-arming round trip.
  lock: concurrency.Mutex on a concurrency.Session per client (etcd's lock recipe: the same
    queue-and-wait-for-the-predecessor algorithm as recipe.Lock).`

// EtcdTarget is an etcd server embedded in the process, started on a new
// data directory under dir (default os.TempDir()) by the first Open and
// kept for the later ones, as a server stays up between runs; CloseTargets
// stops it and removes its directory. It listens on
// 127.0.0.1 only, on ports the kernel chooses, and its clients do not use
// those: each is an in-process clientv3 (v3client.New). See EtcdNote for
// how the workloads map onto etcd.
func EtcdTarget(dir string) Target { return &etcdTarget{dir: dir} }

type etcdTarget struct {
	dir  string
	kept kept[*embed.Etcd] // the server, kept between runs
}

func (t *etcdTarget) Name() string { return TargetEtcd }

// Close stops the kept server, if any.
func (t *etcdTarget) Close() error { return t.kept.Close() }

// etcdStartTimeout bounds the wait for the server to elect itself leader.
const etcdStartTimeout = time.Minute

func (t *etcdTarget) Open(ctx context.Context, n int) ([]Client, func(), error) {
	srv, err := t.kept.get(func() (*embed.Etcd, func() error, error) { return t.start(ctx) })
	if err != nil {
		return nil, nil, err
	}
	clients := make([]Client, 0, n)
	closeAll := func() {
		// etcd keeps every revision of every key until compacted; on a
		// kept server, one run's history would weigh on the next, where
		// ZooKeeper keeps current state only. Compact to now, physically,
		// before the next run starts.
		if len(clients) > 0 {
			c := clients[0].(*etcdClient).c
			if resp, err := c.Get(context.Background(), "compact-probe"); err == nil {
				c.Compact(context.Background(), resp.Header.Revision, clientv3.WithCompactPhysical())
			}
		}
		for _, c := range clients {
			c.Close()
		}
	}
	for range n {
		clients = append(clients, &etcdClient{c: v3client.New(srv.Server), done: make(chan struct{})})
	}
	return clients, closeAll, nil
}

// start starts an etcd server on a new data directory and waits until it
// is ready; the function returned stops it and removes the directory.
func (t *etcdTarget) start(ctx context.Context) (*embed.Etcd, func() error, error) {
	parent, err := os.MkdirTemp(t.dir, "zkembed-bench-etcd-")
	if err != nil {
		return nil, nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(parent, "data")
	loopback := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{loopback}, []url.URL{loopback}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{loopback}, []url.URL{loopback}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Quiet: etcd logs every start and, at error level, its listeners
	// closing on a normal stop.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		os.RemoveAll(parent)
		return nil, nil, fmt.Errorf("etcd: start: %w", err)
	}
	stop := func() error {
		srv.Close() // waits for the server and its listeners to stop
		<-srv.Server.StopNotify()
		return os.RemoveAll(parent)
	}
	timer := time.NewTimer(etcdStartTimeout)
	defer timer.Stop()
	select {
	case <-srv.Server.ReadyNotify():
		return srv, stop, nil
	case err = <-srv.Err():
		err = fmt.Errorf("etcd: %w", err)
	case <-timer.C:
		err = fmt.Errorf("etcd: not ready after %v", etcdStartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	return nil, nil, err
}

// etcdWorkloads replace the workloads whose ZooKeeper operations etcd
// cannot run as they are (see EtcdNote); the others run unchanged through
// etcdClient.
var etcdWorkloads = map[string]workload{
	WorkMulti: {setup: setupTree, op: etcdMulti},
	WorkWatch: {extra: 1, setup: setupWatch, loop: etcdWatchLoop},
	WorkLock:  {setup: setupEtcdLock, loop: etcdLockLoop},
}

func (t *etcdTarget) workload(name string) (workload, bool) {
	w, ok := etcdWorkloads[name]
	return w, ok
}

// errNoEtcdEquivalent is what etcdClient returns for the ZooKeeper
// operations it does not map (ephemeral and sequential nodes, one-shot
// watches): never faked.
var errNoEtcdEquivalent = fmt.Errorf("bench: no etcd equivalent: %w", errors.ErrUnsupported)

// etcdClient is an etcd client as a Client, a znode path used as its key;
// only the operations the key-value workloads use are mapped.
type etcdClient struct {
	c    *clientv3.Client
	s    *concurrency.Session // lock workload only, made by setupEtcdLock
	done chan struct{}
}

func etcdOf(e *env, c int) *etcdClient { return e.clients[c].(*etcdClient) }

// Create puts path if it has never been created (CreateRevision 0).
// Parents are not checked: etcd has none.
func (c *etcdClient) Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, _ []znode.ACL) (string, error) {
	if mode != znode.ModePersistent {
		return "", fmt.Errorf("create %s mode %v: %w", path, mode, errNoEtcdEquivalent)
	}
	r, err := c.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(path), "=", 0)).Then(clientv3.OpPut(path, string(data))).Commit()
	if err != nil {
		return "", err
	}
	if !r.Succeeded {
		return "", fmt.Errorf("create %s: %w", path, znode.ErrNodeExists)
	}
	return path, nil
}

func (c *etcdClient) Delete(ctx context.Context, path string, version int32) error {
	if version != -1 {
		return fmt.Errorf("delete %s version %d: %w", path, version, errNoEtcdEquivalent)
	}
	r, err := c.c.Delete(ctx, path)
	if err == nil && r.Deleted == 0 {
		err = fmt.Errorf("delete %s: %w", path, znode.ErrNoNode)
	}
	return err
}

func (c *etcdClient) Exists(ctx context.Context, path string) (bool, znode.Stat, error) {
	r, err := c.c.Get(ctx, path, clientv3.WithCountOnly())
	if err != nil {
		return false, znode.Stat{}, err
	}
	return r.Count > 0, znode.Stat{}, nil
}

func (c *etcdClient) GetData(ctx context.Context, path string) ([]byte, znode.Stat, error) {
	r, err := c.c.Get(ctx, path)
	if err != nil {
		return nil, znode.Stat{}, err
	}
	if len(r.Kvs) == 0 {
		return nil, znode.Stat{}, fmt.Errorf("get %s: %w", path, znode.ErrNoNode)
	}
	return r.Kvs[0].Value, znode.Stat{}, nil
}

// SetData is a Put: it would also create a missing key, which the
// workloads never ask for.
func (c *etcdClient) SetData(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	if version != -1 {
		return znode.Stat{}, fmt.Errorf("set %s version %d: %w", path, version, errNoEtcdEquivalent)
	}
	_, err := c.c.Put(ctx, path, string(data))
	return znode.Stat{}, err
}

// GetChildren lists the keys under path+"/" and keeps the direct
// children's names: etcd ranges over the whole subtree.
func (c *etcdClient) GetChildren(ctx context.Context, path string) ([]string, znode.Stat, error) {
	prefix := path + "/"
	r, err := c.c.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, znode.Stat{}, err
	}
	kids := make([]string, 0, len(r.Kvs))
	for _, kv := range r.Kvs {
		if name := string(kv.Key[len(prefix):]); !strings.Contains(name, "/") {
			kids = append(kids, name)
		}
	}
	return kids, znode.Stat{}, nil
}

func (c *etcdClient) ExistsW(ctx context.Context, path string) (bool, znode.Stat, <-chan znode.Event, error) {
	return false, znode.Stat{}, nil, fmt.Errorf("exists watch %s: %w", path, errNoEtcdEquivalent)
}

func (c *etcdClient) GetW(ctx context.Context, path string) ([]byte, znode.Stat, <-chan znode.Event, error) {
	return nil, znode.Stat{}, nil, fmt.Errorf("get watch %s: %w", path, errNoEtcdEquivalent)
}

func (c *etcdClient) ChildrenW(ctx context.Context, path string) ([]string, znode.Stat, <-chan znode.Event, error) {
	return nil, znode.Stat{}, nil, fmt.Errorf("children watch %s: %w", path, errNoEtcdEquivalent)
}

func (c *etcdClient) AddWatch(ctx context.Context, path string, recursive bool) (recipe.PersistentWatch, error) {
	return nil, fmt.Errorf("addWatch %s: %w", path, errNoEtcdEquivalent)
}

// Multi is not mapped generically: see etcdMulti.
func (c *etcdClient) Multi(ctx context.Context, ops ...MultiOp) error {
	return fmt.Errorf("multi: %w", errNoEtcdEquivalent)
}

// SessionID is 0: an etcd client has no session (leases stand for them).
func (c *etcdClient) SessionID() int64 { return 0 }

func (c *etcdClient) Done() <-chan struct{} { return c.done }

func (c *etcdClient) Close() error {
	if c.s != nil {
		c.s.Close() // revokes the lease
	}
	err := c.c.Close()
	close(c.done)
	return err
}

// etcdMulti is the multi workload's turn on etcd: one Txn that, if the
// turn's key is absent, puts it, puts the client's node and deletes the
// previous turn's key (absent on the first turn: a no-op). Three writes
// and a compare, as ZooKeeper's create, setData and delete are three
// writes and an existence check.
func etcdMulti(ctx context.Context, e *env, c, i int) error {
	node := e.clientNode(c)
	key := fmt.Sprintf("%s/m%d", node, i)
	r, err := etcdOf(e, c).c.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(e.data)), clientv3.OpPut(node, string(e.data)), clientv3.OpDelete(fmt.Sprintf("%s/m%d", node, i-1))).
		Commit()
	if err == nil && !r.Succeeded {
		err = fmt.Errorf("multi %s: %w", key, znode.ErrNodeExists)
	}
	return err
}

// etcdWatchLoop is watchLoop with etcd's watches: clients 0..Clients-1
// each hold one persistent Watch on the node, the last client writes it.
// Each round the writer waits until every watcher has seen the previous
// write's event (or its watch's creation), writes, and each watcher
// records the time from the write's start to its event.
func etcdWatchLoop(ctx context.Context, e *env) {
	n := e.cfg.Clients
	key := e.fanNode()
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	ready := make(chan error, n)
	send := func(err error) bool {
		select {
		case ready <- err:
			return true
		case <-wctx.Done():
			return false
		}
	}
	var writeStart atomic.Int64 // unix nanos of the current write
	var wg sync.WaitGroup
	for c := range n {
		wch := etcdOf(e, c).c.Watch(wctx, key, clientv3.WithCreatedNotify())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for resp := range wch {
				switch {
				case resp.Err() != nil:
					send(fmt.Errorf("watcher %d: %w", c, resp.Err()))
					return
				case resp.Created:
					if !send(nil) {
						return
					}
				}
				for _, ev := range resp.Events {
					if ev.Type != mvccpb.PUT {
						send(fmt.Errorf("watcher %d: unexpected event %v", c, ev.Type))
						return
					}
					e.record(c, time.Unix(0, writeStart.Load()), nil)
					if !send(nil) {
						return
					}
				}
			}
		}()
	}
	defer func() {
		cancel() // closes every watch channel
		wg.Wait()
	}()
	writer := etcdOf(e, n).c
	fireRounds(e, n, ready, &writeStart, func() error {
		_, err := writer.Put(ctx, key, string(e.data))
		return err
	})
}

// setupEtcdLock gives every client a concurrency.Session (a lease kept
// alive), as each ZooKeeper client has its session before the run.
func setupEtcdLock(ctx context.Context, e *env) error {
	for c := range e.clients {
		s, err := concurrency.NewSession(etcdOf(e, c).c, concurrency.WithContext(ctx))
		if err != nil {
			return err
		}
		etcdOf(e, c).s = s
	}
	return nil
}

// etcdLockLoop is lockLoop with etcd's concurrency.Mutex.
func etcdLockLoop(ctx context.Context, e *env) {
	contend(ctx, e, func(c int) locker { return concurrency.NewMutex(etcdOf(e, c).s, e.root+"/lock") })
}
