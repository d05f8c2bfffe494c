package shell

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// embedded is a Client on an in-process zkembed session. It listens to the
// session's notification stream, as a ZooKeeper connection does; the
// channels of single watches go unread (a one-shot watch's channel holds
// its one event), and those of persistent watches are drained so that
// they never fill.
type embedded struct {
	s          *zkembed.Session
	authFailed atomic.Bool
	drains     sync.WaitGroup

	mu     sync.Mutex
	stream <-chan znode.Event
}

// Embedded returns a Client on s. Close closes s.
func Embedded(s *zkembed.Session) Client {
	return &embedded{s: s, stream: s.Events()}
}

func (c *embedded) Create(ctx context.Context, path string, data []byte, mode znode.CreateMode, acl []znode.ACL, ttl int64) (string, error) {
	if mode.IsTTL() {
		p, _, err := c.s.CreateTTL(ctx, path, data, mode, acl, time.Duration(ttl)*time.Millisecond)
		return p, err
	}
	return c.s.Create(ctx, path, data, mode, acl)
}

func (c *embedded) Delete(ctx context.Context, path string, version int32) error {
	return c.s.Delete(ctx, path, version)
}

func (c *embedded) DeleteMulti(ctx context.Context, paths []string) error {
	ops := make([]zkembed.Op, len(paths))
	for i, p := range paths {
		ops[i] = &zkembed.DeleteOp{Path: p, Version: -1}
	}
	_, err := c.s.Multi(ctx, ops...)
	return err
}

func (c *embedded) Exists(ctx context.Context, path string, watch bool) (bool, znode.Stat, error) {
	if watch {
		ok, st, _, err := c.s.ExistsW(ctx, path)
		return ok, st, err
	}
	return c.s.Exists(ctx, path)
}

func (c *embedded) Get(ctx context.Context, path string, watch bool) ([]byte, znode.Stat, error) {
	if watch {
		data, st, _, err := c.s.GetW(ctx, path)
		return data, st, err
	}
	return c.s.GetData(ctx, path)
}

func (c *embedded) Set(ctx context.Context, path string, data []byte, version int32) (znode.Stat, error) {
	return c.s.SetData(ctx, path, data, version)
}

func (c *embedded) Children(ctx context.Context, path string, watch bool) ([]string, znode.Stat, error) {
	if watch {
		kids, st, _, err := c.s.ChildrenW(ctx, path)
		return kids, st, err
	}
	return c.s.GetChildren(ctx, path)
}

func (c *embedded) GetACL(ctx context.Context, path string) ([]znode.ACL, znode.Stat, error) {
	return c.s.GetACL(ctx, path)
}

func (c *embedded) SetACL(ctx context.Context, path string, acl []znode.ACL, version int32) (znode.Stat, error) {
	return c.s.SetACL(ctx, path, acl, version)
}

func (c *embedded) Sync(ctx context.Context, path string) error {
	_, err := c.s.Sync(ctx, path)
	return err
}

func (c *embedded) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	err := c.s.AddAuth(ctx, scheme, auth)
	if errors.Is(err, zkembed.ErrAuthFailed) {
		c.authFailed.Store(true) // as ZooKeeper closes the connection
	}
	return err
}

func (c *embedded) WhoAmI(ctx context.Context) ([]zkembed.ClientInfo, error) {
	return c.s.WhoAmI(ctx)
}

func (c *embedded) Ephemerals(ctx context.Context, prefix string) ([]string, error) {
	return c.s.GetEphemerals(ctx, prefix)
}

func (c *embedded) AllChildrenNumber(ctx context.Context, path string) (int, error) {
	return c.s.GetAllChildrenNumber(ctx, path)
}

func (c *embedded) AddWatch(ctx context.Context, path string, recursive bool) error {
	w, err := c.s.AddWatch(ctx, path, recursive)
	if err != nil {
		return err
	}
	// The stream carries the watch's events; its own channel is drained
	// until the watch ends (removed, or the session closed).
	c.drains.Add(1)
	go func() {
		defer c.drains.Done()
		for range w.Events() {
		}
	}()
	return nil
}

func (c *embedded) RemoveWatches(ctx context.Context, path string, kind zkembed.WatcherType) error {
	return c.s.RemoveWatches(ctx, path, kind)
}

// Events returns the session's stream. A stream that overflowed (its
// consumer fell Options.WatchBacklog events behind) ends with an event
// carrying ErrWatchOverflow; the next call starts a new one.
func (c *embedded) Events() <-chan znode.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream == nil {
		c.stream = c.s.Events()
	}
	return c.stream
}

// restart forgets an ended stream, so that Events starts a new one.
func (c *embedded) restart() {
	c.mu.Lock()
	c.stream = nil
	c.mu.Unlock()
}

func (c *embedded) Alive() bool {
	select {
	case <-c.s.Done():
		return false
	default:
		return !c.authFailed.Load()
	}
}

func (c *embedded) Close() error {
	err := c.s.Close(context.Background())
	c.drains.Wait()
	return err
}
