package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/znode"
)

// Golden encodings written out by hand from jute's rules, so that a change
// to the codec shows as a byte difference.
func TestEncodingGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  func(e *Encoder)
		want []byte
	}{
		{"int", func(e *Encoder) { e.Int(-2) }, []byte{0xff, 0xff, 0xff, 0xfe}},
		{"long", func(e *Encoder) { e.Long(1) }, []byte{0, 0, 0, 0, 0, 0, 0, 1}},
		{"bool", func(e *Encoder) { e.Bool(true); e.Bool(false) }, []byte{1, 0}},
		{"null buffer", func(e *Encoder) { e.Buffer(nil) }, []byte{0xff, 0xff, 0xff, 0xff}},
		{"empty buffer", func(e *Encoder) { e.Buffer([]byte{}) }, []byte{0, 0, 0, 0}},
		{"string", func(e *Encoder) { e.String("/a") }, []byte{0, 0, 0, 2, '/', 'a'}},
		{"null vector", func(e *Encoder) { e.Strings(nil) }, []byte{0xff, 0xff, 0xff, 0xff}},
		{"acl", func(e *Encoder) { e.ACLs(znode.OpenACL()) }, append([]byte{0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5},
			append([]byte("world"), append([]byte{0, 0, 0, 6}, []byte("anyone")...)...)...)},
		{"reply header", func(e *Encoder) { ReplyHeader{Xid: -1, Zxid: -1, Err: 0}.Encode(e) },
			[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoder
			tc.enc(&e)
			assert.Equal(t, tc.want, e.B)
		})
	}
	var e Encoder
	e.Stat(&znode.Stat{})
	assert.Len(t, e.B, 68, "a Stat is 68 bytes")
}

// Every request type survives an encode/decode round trip.
func TestRequestRoundTrip(t *testing.T) {
	acl := []znode.ACL{{Perms: znode.PermRead, ID: znode.ID{Scheme: "digest", ID: "u:x"}}}
	for _, tc := range []struct {
		op  int32
		req Request
	}{
		{OpCreate, &CreateRequest{Path: "/a", Data: []byte("d"), ACL: acl, Flags: 3, TTL: -1}},
		{OpCreateTTL, &CreateRequest{Path: "/a", Data: nil, ACL: acl, Flags: 5, TTL: 1000}},
		{OpDelete, &DeleteRequest{Path: "/a", Version: -1}},
		{OpExists, &PathRequest{Path: "/a", Watch: true}},
		{OpGetData, &PathRequest{Path: "/a"}},
		{OpSetData, &SetDataRequest{Path: "/a", Data: []byte{}, Version: 2}},
		{OpGetACL, &PathRequest{Path: "/a"}},
		{OpSetACL, &SetACLRequest{Path: "/a", ACL: acl, Version: 0}},
		{OpGetChildren2, &PathRequest{Path: "/", Watch: true}},
		{OpSync, &PathRequest{Path: "/"}},
		{OpAuth, &AuthRequest{Scheme: "digest", Auth: []byte("u:p")}},
		{OpSetWatches, &SetWatchesRequest{RelativeZxid: 7, Data: []string{"/a"}, Exist: []string{}, Child: []string{"/b", "/c"}}},
		{OpSetWatches2, &SetWatchesRequest{RelativeZxid: 7, Data: []string{}, Exist: []string{}, Child: []string{},
			Persistent: []string{"/p"}, PersistentRecursive: []string{"/r"}}},
		{OpAddWatch, &WatchModeRequest{Path: "/a", Mode: 1}},
		{OpRemoveWatches, &WatchModeRequest{Path: "/a", Mode: 3}},
		{OpGetEphemerals, &PathRequest{Path: "/"}},
		{OpWhoAmI, &EmptyRequest{}},
		{OpReconfig, &ReconfigRequest{JoiningServers: "server.4=h:2888:3888", CurConfigID: -1}},
		{OpMulti, &MultiRequest{Ops: []MultiOp{
			{Type: OpCreate, Request: &CreateRequest{Path: "/m", ACL: acl, TTL: -1}},
			{Type: OpCheck, Request: &CheckVersionRequest{Path: "/m", Version: 0}},
			{Type: OpDelete, Request: &DeleteRequest{Path: "/m", Version: 0}},
		}}},
		{OpMultiRead, &MultiRequest{Ops: []MultiOp{{Type: OpGetData, Request: &PathRequest{Path: "/a"}}}}},
	} {
		var e Encoder
		EncodeRequest(&e, RequestHeader{Xid: 1, Type: tc.op}, tc.req)
		d := NewDecoder(e.B)
		require.Equal(t, int32(1), d.Int())
		require.Equal(t, tc.op, d.Int())
		got, err := DecodeRequest(tc.op, d.Rest())
		require.NoError(t, err, "op %d", tc.op)
		assert.Equal(t, tc.req, got, "op %d", tc.op)
	}
}

func TestDecodeRejects(t *testing.T) {
	_, err := DecodeRequest(999, nil)
	assert.ErrorIs(t, err, ErrUnknownOp)
	assert.ErrorIs(t, err, znode.ErrUnimplemented)
	for name, body := range map[string][]byte{
		"short":            {0, 0},
		"string past end":  {0, 0, 0, 9, '/'},
		"huge vector":      {0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff},
		"multi in a multi": {0, 0, 0, 14, 0, 0xff, 0xff, 0xff, 0xff},
	} {
		op := OpGetData
		switch name {
		case "huge vector":
			op = OpSetWatches
		case "multi in a multi":
			op = OpMulti
		}
		_, err := DecodeRequest(op, body)
		assert.ErrorIs(t, err, ErrMalformed, name)
		assert.ErrorIs(t, err, znode.ErrMarshallingError, name)
	}
}

// TestDecodeIgnoresTrailing: bytes after a body are not read, as in
// ZooKeeper, and neither are bytes after a connect request's readOnly flag.
func TestDecodeIgnoresTrailing(t *testing.T) {
	got, err := DecodeRequest(OpGetData, []byte{0, 0, 0, 1, '/', 0, 7})
	require.NoError(t, err)
	assert.Equal(t, &PathRequest{Path: "/"}, got)
	var e Encoder
	(&ConnectRequest{Timeout: 30000, Password: make([]byte, 16), HasReadOnly: true}).Encode(&e)
	r, err := DecodeConnectRequest(append(e.B, 7, 7))
	require.NoError(t, err)
	assert.True(t, r.HasReadOnly)
	assert.Equal(t, int32(30000), r.Timeout)
}

func TestMultiRejectsOtherOps(t *testing.T) {
	for _, op := range []int32{OpExists, OpSetACL, OpDeleteContainer, OpMulti, 999} {
		var e Encoder
		e.Int(op)
		e.Bool(false)
		e.Int(-1)
		e.String("/a")
		e.Int(-1)
		e.Int(-1)
		e.Bool(true)
		e.Int(-1)
		_, err := DecodeRequest(OpMulti, e.B)
		assert.ErrorIs(t, err, ErrMalformed, "op %d", op)
		assert.NotErrorIs(t, err, ErrUnknownOp, "op %d", op)
	}
}

func TestReadFrame(t *testing.T) {
	var e Encoder
	start := BeginFrame(&e)
	e.String("hello")
	EndFrame(&e, start)
	got, err := ReadFrame(bytes.NewReader(e.B), nil, DefaultMaxFrame)
	require.NoError(t, err)
	assert.Equal(t, e.B[4:], got)

	over := []byte{0, 0x10, 0, 0} // 0x100000 = DefaultMaxFrame + 1
	_, err = ReadFrame(bytes.NewReader(over), nil, DefaultMaxFrame)
	assert.ErrorIs(t, err, ErrFrameTooLarge)
	_, err = ReadFrame(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xfb}), nil, DefaultMaxFrame)
	assert.ErrorIs(t, err, ErrFrameTooLarge, "a negative length")
	_, err = ReadFrame(bytes.NewReader([]byte{0, 0, 0, 5, 1}), nil, DefaultMaxFrame)
	assert.True(t, errors.Is(err, errUnexpectedEOF()), "a torn frame: %v", err)
}

// FuzzDecodeRequest: no input makes the decoder panic or allocate beyond
// its input, and whatever decodes re-encodes to a body that decodes to the
// same request.
func FuzzDecodeRequest(f *testing.F) {
	for _, op := range []int32{OpCreate, OpMulti, OpSetWatches2, OpAuth, OpGetData} {
		f.Add(op, []byte{})
	}
	var e Encoder
	(&MultiRequest{Ops: []MultiOp{{Type: OpCreate, Request: &CreateRequest{Path: "/m", TTL: -1}}}}).encode(&e)
	f.Add(OpMulti, e.B)
	f.Add(OpSetWatches, []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, '/', 'a', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		req, err := DecodeRequest(op, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownOp) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		var e Encoder
		encodeBody(&e, op, req)
		again, err := DecodeRequest(op, e.B)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		var e2 Encoder
		encodeBody(&e2, op, again)
		if !bytes.Equal(e.B, e2.B) {
			t.Fatalf("round trip changed the encoding")
		}
	})
}

// FuzzConnectRequest: the handshake decoder never panics.
func FuzzConnectRequest(f *testing.F) {
	var e Encoder
	(&ConnectRequest{Timeout: 30000, Password: make([]byte, 16), HasReadOnly: true}).Encode(&e)
	f.Add(e.B)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeConnectRequest(b)
		if err != nil {
			return
		}
		var e Encoder
		r.Encode(&e)
		if _, err := DecodeConnectRequest(e.B); err != nil {
			t.Fatalf("re-encoded connect request does not decode: %v", err)
		}
	})
}

func errUnexpectedEOF() error { return io.ErrUnexpectedEOF }

// Lengths as jute reads them: -1 is null, a string or buffer length below
// -1 is refused (BinaryInputArchive.checkLength), a vector count below -1
// is an empty vector; a null path fails where ZooKeeper's server
// dereferences it, a whole multi apart.
func TestDecodeLengthsAndNullPaths(t *testing.T) {
	body := func(fill func(e *Encoder)) []byte {
		var e Encoder
		fill(&e)
		return e.B
	}
	for _, tc := range []struct {
		name string
		op   int32
		body []byte
		err  error // nil: decodes
	}{
		{"data length -2", OpSetData, body(func(e *Encoder) { e.String("/a"); e.Int(-2); e.Int(-1) }), ErrMalformed},
		{"null data", OpSetData, body(func(e *Encoder) { e.String("/a"); e.Int(-1); e.Int(-1) }), nil},
		{"path length -2", OpExists, body(func(e *Encoder) { e.Int(-2); e.Bool(false) }), ErrMalformed},
		{"null path, exists", OpExists, body(func(e *Encoder) { e.Int(-1); e.Bool(false) }), ErrNullPath},
		{"null path, create", OpCreate, body(func(e *Encoder) { e.Int(-1); e.Buffer(nil); e.Int(0); e.Int(0) }), ErrNullPath},
		{"null path, delete", OpDelete, body(func(e *Encoder) { e.Int(-1); e.Int(-1) }), ErrNullPath},
		{"null path, sync", OpSync, body(func(e *Encoder) { e.Int(-1) }), nil},
		{"null path, setData", OpSetData, body(func(e *Encoder) { e.Int(-1); e.Buffer(nil); e.Int(-1) }), nil},
		{"null path, removeWatches", OpRemoveWatches, body(func(e *Encoder) { e.Int(-1); e.Int(3) }), nil},
		{"list counts -2", OpSetWatches, body(func(e *Encoder) { e.Long(0); e.Int(-2); e.Int(-2); e.Int(-2) }), nil},
		{"null path in a multi", OpMulti, body(func(e *Encoder) {
			e.MultiHeader(OpCheck, false, -1)
			e.Int(-1)
			e.Int(-1)
			e.MultiEnd()
		}), ErrNullPathInMulti},
		{"null path in a multi's setData", OpMulti, body(func(e *Encoder) {
			e.MultiHeader(OpSetData, false, -1)
			e.Int(-1)
			e.Buffer(nil)
			e.Int(-1)
			e.MultiEnd()
		}), ErrNullPathInMulti},
		{"null path, check outside a multi", OpCheck, body(func(e *Encoder) { e.Int(-1); e.Int(-1) }), nil},
		{"null path in a multiRead", OpMultiRead, body(func(e *Encoder) {
			e.MultiHeader(OpGetData, false, -1)
			e.String("/a")
			e.Bool(false)
			e.MultiHeader(OpGetData, false, -1)
			e.Int(-1)
			e.Bool(false)
			e.MultiHeader(OpGetData, false, -1)
			e.String("/b")
			e.Bool(false)
			e.MultiEnd()
		}), ErrNullPathInMultiRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeRequest(tc.op, tc.body)
			if tc.err == nil {
				require.NoError(t, err)
				if sw, ok := req.(*SetWatchesRequest); ok {
					assert.Equal(t, []string{}, sw.Data, "an empty list, not a null one")
				}
				return
			}
			assert.ErrorIs(t, err, tc.err)
			assert.ErrorIs(t, err, ErrMalformed)
			if tc.err == ErrNullPathInMultiRead { // the ops ZooKeeper runs before failing
				require.IsType(t, &MultiRequest{}, req)
				require.Len(t, req.(*MultiRequest).Ops, 1)
				assert.Equal(t, "/a", req.(*MultiRequest).Ops[0].Request.(*PathRequest).Path)
			} else {
				assert.Nil(t, req)
			}
		})
	}
}
