package zkembed_test

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
)

// newWireConn serves a fresh in-memory engine and connects go-zookeeper to
// it in process.
func newWireConn(t *testing.T) (*zkembed.DB, *zkembed.Server, *zk.Conn, <-chan zk.Event) {
	t.Helper()
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	srv := zkembed.NewServer(db, nil)
	c, events, err := zk.Connect([]string{"127.0.0.1:2181"}, 10*time.Second, zk.WithDialer(srv.Dial), zk.WithLogger(zkQuiet{}))
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Close()
		srv.Close()
		db.Close()
	})
	waitConnected(t, events)
	return db, srv, c, events
}

type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}

func waitConnected(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.State == zk.StateHasSession {
				return
			}
		case <-timeout:
			t.Fatal("no session within 10s")
		}
	}
}

func TestWireBasics(t *testing.T) {
	_, _, c, _ := newWireConn(t)
	p, err := c.Create("/a", []byte("x"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	assert.Equal(t, "/a", p)
	data, st, err := c.Get("/a")
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
	assert.Equal(t, int32(0), st.Version)
	ok, _, err := c.Exists("/nope")
	require.NoError(t, err)
	assert.False(t, ok)
	_, _, err = c.Get("/nope")
	assert.ErrorIs(t, err, zk.ErrNoNode)

	_, _, ch, err := c.GetW("/a")
	require.NoError(t, err)
	_, err = c.Set("/a", []byte("y"), 0)
	require.NoError(t, err)
	select {
	case e := <-ch:
		assert.Equal(t, zk.EventNodeDataChanged, e.Type)
		assert.Equal(t, "/a", e.Path)
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}
	seq, err := c.Create("/a/s-", nil, zk.FlagSequence|zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	assert.Equal(t, "/a/s-0000000000", seq)
	kids, _, err := c.Children("/a")
	require.NoError(t, err)
	assert.Equal(t, []string{"s-0000000000"}, kids)
	res, err := c.Multi(&zk.CreateRequest{Path: "/m", Data: []byte("1"), Acl: zk.WorldACL(zk.PermAll)},
		&zk.SetDataRequest{Path: "/m", Data: []byte("2"), Version: 0})
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, "/m", res[0].String)
	assert.Equal(t, int32(1), res[1].Stat.Version)
	_, err = c.Multi(&zk.CheckVersionRequest{Path: "/m", Version: 7}, &zk.DeleteRequest{Path: "/m", Version: -1})
	assert.ErrorIs(t, err, zk.ErrBadVersion)
	require.NoError(t, c.AddAuth("digest", []byte("u:p")))
	_, err = c.Create("/d", nil, 0, zk.DigestACL(zk.PermAll, "u", "p"))
	require.NoError(t, err)
	acl, _, err := c.GetACL("/d")
	require.NoError(t, err)
	assert.Equal(t, zk.DigestACL(zk.PermAll, "u", "p"), acl)
}
