package zktest_test

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed/zktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConnect(t *testing.T) {
	conn := zktest.Connect(t)
	_, err := conn.Create("/app", []byte("v"), 0, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	data, _, err := conn.Get("/app")
	require.NoError(t, err)
	assert.Equal(t, "v", string(data))
}

// Two connections of one engine see each other's ephemerals and watches;
// closing one deletes its ephemerals and fires the other's watch.
func TestTwoConnections(t *testing.T) {
	e := zktest.New(t, nil)
	a, b := e.Connect(t), e.Connect(t)
	_, err := a.Create("/lock", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	ok, _, ch, err := b.ExistsW("/lock")
	require.NoError(t, err)
	require.True(t, ok)
	a.Close()
	select {
	case ev := <-ch:
		assert.Equal(t, zk.EventNodeDeleted, ev.Type)
	case <-time.After(5 * time.Second):
		t.Fatal("no NodeDeleted after the owner closed")
	}
}
