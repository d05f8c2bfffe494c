package zkembed_test

import (
	"io"
	"testing"
	"time"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/wire"
)

// FuzzServerFrames sends a valid handshake, then arbitrary bytes, to the
// wire server: nothing may panic, the engine's invariants must hold after
// the connection ends, and the server must close it when asked to.
func FuzzServerFrames(f *testing.F) {
	frame := func(build func(e *wire.Encoder)) []byte {
		var e wire.Encoder
		start := wire.BeginFrame(&e)
		build(&e)
		wire.EndFrame(&e, start)
		return e.B
	}
	req := func(xid, op int32, r wire.Request) []byte {
		return frame(func(e *wire.Encoder) { wire.EncodeRequest(e, wire.RequestHeader{Xid: xid, Type: op}, r) })
	}
	f.Add(req(1, wire.OpCreate, &wire.CreateRequest{Path: "/a", Data: []byte("x"), Flags: 1, TTL: -1}))
	f.Add(append(req(1, wire.OpMulti, &wire.MultiRequest{Ops: []wire.MultiOp{
		{Type: wire.OpCreate, Request: &wire.CreateRequest{Path: "/m", TTL: -1}},
		{Type: wire.OpDelete, Request: &wire.DeleteRequest{Path: "/m", Version: -1}}}}),
		req(2, wire.OpAddWatch, &wire.WatchModeRequest{Path: "/", Mode: 1})...))
	f.Add(req(3, wire.OpSetWatches2, &wire.SetWatchesRequest{Data: []string{"/a"}, Exist: []string{}, Child: []string{},
		Persistent: []string{"/"}, PersistentRecursive: []string{}}))
	f.Add([]byte{0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 99})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	hello := frame(func(e *wire.Encoder) {
		(&wire.ConnectRequest{Timeout: 30000, Password: make([]byte, 16)}).Encode(e)
	})
	f.Fuzz(func(t *testing.T, input []byte) {
		db, err := zkembed.Open("", &zkembed.Options{ExtendedTypes: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		srv := zkembed.NewServer(db, nil)
		defer srv.Close()
		nc, err := srv.Dial("tcp", "", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, nc) // a client that reads everything
		if _, err := nc.Write(hello); err != nil {
			t.Fatal(err)
		}
		_, _ = nc.Write(input) // the server may close mid-way
		// A request after the input shows whether the connection still
		// works; either way the engine must be intact.
		_, _ = nc.Write(req(1<<20, wire.OpPing, &wire.EmptyRequest{}))
		nc.Close()
		srv.Close()
		if err := db.Check(); err != nil {
			t.Fatalf("engine invariants broken: %v", err)
		}
	})
}
