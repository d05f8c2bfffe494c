package zkembed_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/wire"
	"github.com/zkembed/zkembed/zktest"
	"github.com/zkembed/zkembed/znode"
)

// rawConn is a wire client that shows what go-zookeeper hides: the zxid in
// each reply's header. Its methods may run on any goroutine: they return
// errors rather than fail the test.
type rawConn struct {
	nc  net.Conn
	xid int32
	buf []byte
}

// dialRaw connects to srv in process and opens a new session.
func dialRaw(t testing.TB, srv *zkembed.Server) *rawConn {
	c, hello := dialRawSession(t, srv, 0, make([]byte, 16))
	require.NotZero(t, hello.SessionID)
	return c
}

// dialRawSession connects to srv in process with a connect request for
// session id (0: a new one) and password, and returns the connection and
// the server's answer.
func dialRawSession(t testing.TB, srv *zkembed.Server, id int64, password []byte) (*rawConn, wire.ConnectResponse) {
	nc, err := srv.Dial("tcp", "127.0.0.1:2181", time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{nc: nc}
	require.NoError(t, c.write(func(e *wire.Encoder) {
		(&wire.ConnectRequest{Timeout: 10000, SessionID: id, Password: password}).Encode(e)
	}))
	d, err := c.frame()
	require.NoError(t, err)
	hello, err := wire.DecodeConnectResponse(d.Rest())
	require.NoError(t, err)
	hello.Password = bytes.Clone(hello.Password) // not the read buffer's
	return c, hello
}

func (c *rawConn) write(fill func(e *wire.Encoder)) error {
	var enc wire.Encoder
	start := wire.BeginFrame(&enc)
	fill(&enc)
	wire.EndFrame(&enc, start)
	_, err := c.nc.Write(enc.B)
	return err
}

func (c *rawConn) frame() (*wire.Decoder, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	b, err := wire.ReadFrame(c.nc, c.buf, 1<<20)
	if err != nil {
		return nil, err
	}
	c.buf = b
	return wire.NewDecoder(b), nil
}

// call sends one request and returns its reply's zxid and error code, and
// the decoder at the reply's body. The session sets no watches, so no
// notification comes before the reply.
func (c *rawConn) call(op int32, req wire.Request) (zxid int64, code znode.Code, body *wire.Decoder, err error) {
	c.xid++
	if err := c.write(func(e *wire.Encoder) { wire.EncodeRequest(e, wire.RequestHeader{Xid: c.xid, Type: op}, req) }); err != nil {
		return 0, 0, nil, err
	}
	d, err := c.frame()
	if err != nil {
		return 0, 0, nil, err
	}
	if xid := d.Int(); xid != c.xid {
		return 0, 0, nil, fmt.Errorf("reply to xid %d, want %d", xid, c.xid)
	}
	zxid, code = d.Long(), znode.Code(d.Int())
	return zxid, code, d, d.Err()
}

// The reply to a successful write carries the zxid of that write, as
// ZooKeeper's FinalRequestProcessor sends it, not the engine's last zxid:
// with several connections writing at once, writes of others are applied
// (and, in a group commit, published with it) between a write and its
// reply. Each reply's zxid must be the zxid of the log record of that very
// write: the czxid or mzxid of the Stat in the same reply, and for delete
// and setACL, whose replies show none, the record the log holds at that
// zxid. A failed write has no zxid of its own (it is not logged): its
// reply carries the last zxid, as a read's does. Per connection, reply
// zxids never go back. The closeSession that ends each connection is a
// write like the others.
func TestWireWriteReplyZxidIsTheWrites(t *testing.T) {
	log := txnlog.NewMem() // a log: group commit publishes batches of writes
	e := zktest.New(t, &zkembed.Options{Log: log})
	const conns, rounds = 8, 60
	got := make([][]wrote, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		c := dialRaw(t, e.Server)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = writeRounds(c, i, rounds, &got[i])
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	records := recordsByZxid(log)
	for i := range got {
		for _, w := range got[i] {
			x := records[w.zxid]
			require.NotNil(t, x, "%v %s: no record at the reply's zxid %#x", w.typ, w.path, w.zxid)
			require.Equal(t, w.typ, x.Ops[0].Type, "%v %s: the record at the reply's zxid is %v", w.typ, w.path, x)
			require.Equal(t, w.path, x.Ops[0].Path, "%v %s: the record at the reply's zxid is %v", w.typ, w.path, x)
		}
	}
}

// wrote is a successful write seen by TestWireWriteReplyZxidIsTheWrites:
// its reply's zxid, and the first op and path of the record it should be.
type wrote struct {
	zxid int64
	typ  txn.Type
	path string
}

// writeRounds runs rounds of writes on c, under paths of its own, checks
// every reply's zxid against the Stat in it and against the connection's
// earlier replies, and appends the successful writes to got.
func writeRounds(c *rawConn, i, rounds int, got *[]wrote) error {
	var last int64
	// call runs one request that should end with code want. typ is the
	// first op of the record a successful write makes, 0 for a failed one
	// (which makes none).
	call := func(op int32, req wire.Request, want znode.Code, typ txn.Type, path string) (*wire.Decoder, int64, error) {
		z, code, d, err := c.call(op, req)
		switch {
		case err != nil:
			return nil, 0, fmt.Errorf("op %d %s: %w", op, path, err)
		case code != want:
			return nil, 0, fmt.Errorf("op %d %s: code %v, want %v", op, path, code, want)
		case z < last:
			return nil, 0, fmt.Errorf("op %d %s: reply zxid %#x after %#x", op, path, z, last)
		case typ != 0 && z == last:
			return nil, 0, fmt.Errorf("op %d %s: a write's reply zxid %#x is not new", op, path, z)
		}
		last = z
		if typ != 0 {
			*got = append(*got, wrote{z, typ, path})
		}
		return d, z, nil
	}
	same := func(what, path string, reply int64, stat znode.Zxid) error {
		if reply != int64(stat) {
			return fmt.Errorf("%s %s: reply zxid %#x, the Stat says %#x", what, path, reply, int64(stat))
		}
		return nil
	}
	acl := znode.OpenACL()
	for k := range rounds {
		p := fmt.Sprintf("/c%d-%d", i, k)
		d, z, err := call(wire.OpCreate2, &wire.CreateRequest{Path: p, Data: []byte("x"), ACL: acl}, znode.CodeOK, txn.TypeCreate, p)
		if err != nil {
			return err
		}
		_ = d.String() // the path
		if err := same("create2", p, z, d.Stat().Czxid); err != nil {
			return err
		}
		if _, _, err := call(wire.OpCreate2, &wire.CreateRequest{Path: p, ACL: acl}, znode.CodeNodeExists, 0, p); err != nil {
			return err
		}
		d, z, err = call(wire.OpSetData, &wire.SetDataRequest{Path: p, Data: []byte("y"), Version: -1}, znode.CodeOK, txn.TypeSetData, p)
		if err != nil {
			return err
		}
		if err := same("setData", p, z, d.Stat().Mzxid); err != nil {
			return err
		}
		if _, _, err := call(wire.OpSetACL, &wire.SetACLRequest{Path: p, ACL: acl, Version: -1}, znode.CodeOK, txn.TypeSetACL, p); err != nil {
			return err
		}
		check := func(v int32) wire.MultiOp {
			return wire.MultiOp{Type: wire.OpCheck, Request: &wire.CheckVersionRequest{Path: p, Version: v}}
		}
		set := wire.MultiOp{Type: wire.OpSetData, Request: &wire.SetDataRequest{Path: p, Data: []byte("z"), Version: 1}}
		// A failed multi: the reply's code is 0, its results fail.
		if _, _, err := call(wire.OpMulti, &wire.MultiRequest{Ops: []wire.MultiOp{check(7), set}}, znode.CodeOK, 0, p); err != nil {
			return err
		}
		d, z, err = call(wire.OpMulti, &wire.MultiRequest{Ops: []wire.MultiOp{check(1), set}}, znode.CodeOK, txn.TypeCheck, p)
		if err != nil {
			return err
		}
		d.Int() // the check's result: type, done, err
		d.Bool()
		d.Int()
		if typ, _, code := d.Int(), d.Bool(), d.Int(); typ != wire.OpSetData || code != 0 {
			return fmt.Errorf("multi %s: setData result type %d code %d", p, typ, code)
		}
		if err := same("multi", p, z, d.Stat().Mzxid); err != nil {
			return err
		}
		if _, _, err := call(wire.OpDelete, &wire.DeleteRequest{Path: p, Version: 7}, znode.CodeBadVersion, 0, p); err != nil {
			return err
		}
		if _, _, err := call(wire.OpDelete, &wire.DeleteRequest{Path: p, Version: -1}, znode.CodeOK, txn.TypeDelete, p); err != nil {
			return err
		}
	}
	// Ending the session is a logged write too; its reply carries the
	// zxid of the closeSession record (others are still writing).
	_, _, err := call(wire.OpCloseSession, &wire.EmptyRequest{}, znode.CodeOK, txn.TypeCloseSession, "")
	return err
}

// A closeSession's reply carries the zxid of its closeSession record, not
// the last zxid: with writers on other connections, the engine's last
// zxid may already be theirs when the close is answered.
func TestWireCloseReplyZxidIsTheCloses(t *testing.T) {
	log := txnlog.NewMem()
	e := zktest.New(t, &zkembed.Options{Log: log})
	const workers, sessions = 8, 30
	conns := make([][]*rawConn, workers)
	for i := range conns {
		for range sessions {
			conns[i] = append(conns[i], dialRaw(t, e.Server))
		}
	}
	zxids := make([][]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, c := range conns[i] {
				p := fmt.Sprintf("/w%d-%d", i, k)
				if _, code, _, err := c.call(wire.OpCreate, &wire.CreateRequest{Path: p, ACL: znode.OpenACL()}); err != nil || code != znode.CodeOK {
					errs[i] = fmt.Errorf("create %s: %v %v", p, code, err)
					return
				}
				z, code, _, err := c.call(wire.OpCloseSession, &wire.EmptyRequest{})
				if err != nil || code != znode.CodeOK {
					errs[i] = fmt.Errorf("close after %s: %v %v", p, code, err)
					return
				}
				zxids[i] = append(zxids[i], z)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	records := recordsByZxid(log)
	for i := range zxids {
		for _, z := range zxids[i] {
			x := records[z]
			require.NotNil(t, x, "no record at a close's reply zxid %#x", z)
			require.Equal(t, txn.TypeCloseSession, x.Ops[0].Type, "the record at a close's reply zxid %#x is %v", z, x)
		}
	}
}

// recordsByZxid indexes the records of log by their zxid.
func recordsByZxid(log *txnlog.Mem) map[int64]*txn.Txn {
	records := map[int64]*txn.Txn{}
	for _, x := range log.Records() {
		records[int64(x.Zxid)] = x
	}
	return records
}
