package txn_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var layout = znode.DefaultLayout

func digestACL() []znode.ACL {
	return []znode.ACL{
		{Perms: znode.PermRead | znode.PermAdmin, ID: znode.ID{Scheme: "digest", ID: "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="}},
		{Perms: znode.PermAll, ID: znode.ID{Scheme: "ip", ID: "10.0.0.0/8"}},
	}
}

// samples are valid records in canonical form: what Decode returns for
// them must deep-equal them.
var samples = []struct {
	name string
	t    txn.Txn
}{
	{"create", txn.Txn{Zxid: layout.Make(1, 1), Time: 1700000000000, Session: 0x1000000abcdef, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/a", Data: []byte("hello"), ACL: znode.OpenACL(), ParentCversion: 1},
	}}},
	{"create nil data", txn.Txn{Zxid: 2, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/a", Data: nil, ACL: znode.OpenACL()},
	}}},
	{"create empty data", txn.Txn{Zxid: 2, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/a", Data: []byte{}, ACL: znode.OpenACL()},
	}}},
	{"create ephemeral", txn.Txn{Zxid: 3, Time: 5, Session: -0x7fedcba987654321, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/e/lock-0000000007", Data: []byte{0, 1, 2, 0xff}, ACL: digestACL(), Owner: -0x7fedcba987654321, ParentCversion: 8},
	}}},
	{"create container", txn.Txn{Zxid: 4, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/c", Data: []byte{}, ACL: znode.CreatorAllACL(), Owner: znode.ContainerOwner},
	}}},
	{"create ttl", txn.Txn{Zxid: 5, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/t", ACL: znode.ReadACL(), Owner: znode.TTLOwner(60000), ParentCversion: math.MaxInt32},
	}}},
	{"create nil acl", txn.Txn{Zxid: 5, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/n", Data: []byte("x"), ParentCversion: math.MinInt32},
	}}},
	{"create unicode path", txn.Txn{Zxid: 6, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/ünï/çødé/日本", Data: []byte("d"), ACL: znode.OpenACL()},
	}}},
	{"delete", txn.Txn{Zxid: 7, Time: 7, Session: 9, Ops: []txn.Op{{Type: txn.TypeDelete, Path: "/a/b"}}}},
	{"deleteContainer", txn.Txn{Zxid: 8, Ops: []txn.Op{{Type: txn.TypeDeleteContainer, Path: "/c"}}}},
	{"setData", txn.Txn{Zxid: 9, Ops: []txn.Op{{Type: txn.TypeSetData, Path: "/a", Data: []byte("new"), Version: 3}}}},
	{"setData nil", txn.Txn{Zxid: 9, Ops: []txn.Op{{Type: txn.TypeSetData, Path: "/a", Data: nil, Version: -1}}}},
	{"setData empty", txn.Txn{Zxid: 9, Ops: []txn.Op{{Type: txn.TypeSetData, Path: "/a", Data: []byte{}, Version: math.MinInt32}}}},
	{"setData large", txn.Txn{Zxid: 9, Ops: []txn.Op{{Type: txn.TypeSetData, Path: "/big", Data: bytes.Repeat([]byte("0123456789"), 100_000), Version: 1}}}},
	{"setACL", txn.Txn{Zxid: 10, Ops: []txn.Op{{Type: txn.TypeSetACL, Path: "/a", ACL: digestACL(), Version: 2}}}},
	{"setACL empty", txn.Txn{Zxid: 10, Ops: []txn.Op{{Type: txn.TypeSetACL, Path: "/a", ACL: nil, Version: 0}}}},
	{"createSession", txn.Txn{Zxid: 11, Time: 100, Session: 0x100, Ops: []txn.Op{{Type: txn.TypeCreateSession, Session: 0x100, Timeout: 30000}}}},
	{"createSession in-process", txn.Txn{Zxid: 11, Time: 100, Session: 0x100, Ops: []txn.Op{
		{Type: txn.TypeCreateSession, Session: 0x100, Timeout: 30000, Kind: txn.SessionInProcess}}}},
	{"createSession remote", txn.Txn{Zxid: 11, Session: math.MinInt64, Ops: []txn.Op{
		{Type: txn.TypeCreateSession, Session: math.MinInt64, Timeout: math.MaxInt32, Kind: txn.SessionRemote}}}},
	{"createSession kinds mixed", txn.Txn{Zxid: 11, Multi: true, HasDigest: true, Digest: 1, Ops: []txn.Op{
		{Type: txn.TypeCreateSession, Session: 1, Timeout: 1},
		{Type: txn.TypeDelete, Path: "/a"},
		{Type: txn.TypeCreateSession, Session: 2, Timeout: 2, Kind: txn.SessionRemote}}}},
	{"closeSession", txn.Txn{Zxid: 12, Session: 0x100, Ops: []txn.Op{{Type: txn.TypeCloseSession, Session: 0x100, Paths: []string{"/e/x", "/e", "/f"}}}}},
	{"closeSession no paths", txn.Txn{Zxid: 13, Ops: []txn.Op{{Type: txn.TypeCloseSession, Session: -1}}}},
	{"closeSession empty path", txn.Txn{Zxid: 13, Ops: []txn.Op{{Type: txn.TypeCloseSession, Session: 1, Paths: []string{""}}}}},
	{"epoch", txn.Txn{Zxid: layout.Make(2, 0), Ops: []txn.Op{{Type: txn.TypeEpoch, Epoch: 2}}}},
	{"epoch extremes", txn.Txn{Zxid: math.MaxInt64, Time: math.MinInt64, Session: math.MaxInt64, Ops: []txn.Op{{Type: txn.TypeEpoch, Epoch: math.MaxInt64}}}},
	{"no ops", txn.Txn{Zxid: 14}},
	{"multi no ops", txn.Txn{Zxid: 14, Multi: true}},
	{"multi", txn.Txn{Zxid: layout.Make(3, 77), Time: 1700000001234, Session: 0x42, Multi: true, Ops: []txn.Op{
		{Type: txn.TypeCheck, Path: "/a", Version: 4},
		{Type: txn.TypeCreate, Path: "/a/b", Data: []byte("b"), ACL: znode.OpenACL(), ParentCversion: 2},
		{Type: txn.TypeCreate, Path: "/a/seq0000000001", Data: nil, ACL: digestACL(), Owner: 0x42, ParentCversion: 3},
		{Type: txn.TypeSetData, Path: "/a", Data: []byte{}, Version: 5},
		{Type: txn.TypeSetACL, Path: "/a/b", ACL: znode.ReadACL(), Version: 1},
		{Type: txn.TypeDelete, Path: "/old"},
		{Type: txn.TypeDeleteContainer, Path: "/cont"},
	}}},
	{"every type", allTypes()},
	{"every type v2", allTypesV2()},
	{"digest", txn.Txn{Zxid: 15, Time: 3, Session: 4, Digest: 0xfedcba9876543210, HasDigest: true, Ops: []txn.Op{{Type: txn.TypeDelete, Path: "/a"}}}},
	{"digest zero", txn.Txn{Zxid: 15, HasDigest: true, Multi: true, Ops: []txn.Op{{Type: txn.TypeDelete, Path: "/a"}}}},
}

// allTypes is one record holding every op type (not a record the engine
// writes, but a valid encoding), used for the golden file.
func allTypes() txn.Txn {
	return txn.Txn{Zxid: layout.Make(5, 9), Time: 1700000000000, Session: 0x77, Multi: true, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/a", Data: []byte("data"), ACL: digestACL(), Owner: 0x77, ParentCversion: 3},
		{Type: txn.TypeDelete, Path: "/b"},
		{Type: txn.TypeSetData, Path: "/a", Data: nil, Version: 1},
		{Type: txn.TypeSetACL, Path: "/a", ACL: znode.OpenACL(), Version: 2},
		{Type: txn.TypeCheck, Path: "/a", Version: -1},
		{Type: txn.TypeDeleteContainer, Path: "/c"},
		{Type: txn.TypeCreateSession, Session: 0x78, Timeout: 4000},
		{Type: txn.TypeCloseSession, Session: 0x78, Paths: []string{"/e1", "/e2"}},
		{Type: txn.TypeEpoch, Epoch: 6},
	}}
}

// allTypesV2 is allTypes with the session kind that makes it a version 2
// record.
func allTypesV2() txn.Txn {
	rec := allTypes()
	rec.Ops[6].Kind = txn.SessionRemote
	return rec
}

func mustDecode(t testing.TB, b []byte) *txn.Txn {
	t.Helper()
	got, err := txn.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return got
}

func TestRoundTrip(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			enc := txn.Encode(&s.t)
			got := mustDecode(t, enc)
			if !reflect.DeepEqual(got, &s.t) {
				t.Fatalf("round trip:\n got %v\nwant %v", got, &s.t)
			}
			if again := txn.Encode(got); !bytes.Equal(again, enc) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, enc)
			}
		})
	}
}

func TestNilVersusEmptyData(t *testing.T) {
	for _, typ := range []txn.Type{txn.TypeCreate, txn.TypeSetData} {
		for _, data := range [][]byte{nil, {}} {
			rec := &txn.Txn{Zxid: 1, Ops: []txn.Op{{Type: typ, Path: "/x", Data: data}}}
			got := mustDecode(t, txn.Encode(rec)).Ops[0].Data
			if (got == nil) != (data == nil) || len(got) != 0 {
				t.Errorf("%v: data %#v decoded as %#v", typ, data, got)
			}
		}
	}
	nilEnc := txn.Encode(&txn.Txn{Ops: []txn.Op{{Type: txn.TypeSetData}}})
	emptyEnc := txn.Encode(&txn.Txn{Ops: []txn.Op{{Type: txn.TypeSetData, Data: []byte{}}}})
	if bytes.Equal(nilEnc, emptyEnc) {
		t.Error("nil and empty data encode the same")
	}
}

// Empty lists are canonically nil: an empty non-nil ACL, Paths or Ops list
// decodes as nil, with the same encoding.
func TestEmptyListsDecodeNil(t *testing.T) {
	rec := &txn.Txn{Zxid: 1, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/x", ACL: []znode.ACL{}},
		{Type: txn.TypeSetACL, Path: "/x", ACL: []znode.ACL{}},
		{Type: txn.TypeCloseSession, Session: 1, Paths: []string{}},
	}}
	got := mustDecode(t, txn.Encode(rec))
	for i, op := range got.Ops {
		if op.ACL != nil || op.Paths != nil {
			t.Errorf("op %d: empty list decoded non-nil: %#v", i, op)
		}
	}
	if got := mustDecode(t, txn.Encode(&txn.Txn{Ops: []txn.Op{}})); got.Ops != nil {
		t.Errorf("empty Ops decoded as %#v", got.Ops)
	}
}

// Encode stores only the fields an op's type uses.
func TestEncodeIgnoresUnusedFields(t *testing.T) {
	full := txn.Op{Path: "/p", Data: []byte("d"), ACL: znode.OpenACL(), Owner: 1, ParentCversion: 2,
		Version: 3, Session: 4, Timeout: 5, Kind: txn.SessionRemote, Paths: []string{"/q"}, Epoch: 6}
	want := map[txn.Type]txn.Op{
		txn.TypeCreate:          {Path: "/p", Data: []byte("d"), ACL: znode.OpenACL(), Owner: 1, ParentCversion: 2},
		txn.TypeDelete:          {Path: "/p"},
		txn.TypeDeleteContainer: {Path: "/p"},
		txn.TypeSetData:         {Path: "/p", Data: []byte("d"), Version: 3},
		txn.TypeSetACL:          {Path: "/p", ACL: znode.OpenACL(), Version: 3},
		txn.TypeCheck:           {Path: "/p", Version: 3},
		txn.TypeCreateSession:   {Session: 4, Timeout: 5, Kind: txn.SessionRemote},
		txn.TypeCloseSession:    {Session: 4, Paths: []string{"/q"}},
		txn.TypeEpoch:           {Epoch: 6},
	}
	for typ, w := range want {
		op := full
		op.Type, w.Type = typ, typ
		got := mustDecode(t, txn.Encode(&txn.Txn{Ops: []txn.Op{op}})).Ops[0]
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%v: got %#v, want %#v", typ, got, w)
		}
	}
}

func TestEncodeUnknownTypePanics(t *testing.T) {
	for want, op := range map[string]txn.Op{
		"unknown op type":      {Type: 3},
		"unknown session kind": {Type: txn.TypeCreateSession, Kind: txn.SessionRemote + 1},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), want) {
					t.Errorf("recovered %v, want an %s panic", r, want)
				}
			}()
			txn.Encode(&txn.Txn{Ops: []txn.Op{op}})
		}()
	}
}

// Encode writes the lowest version that holds the record: 2 only for a
// createSession with a kind. A log written before kinds (version 1)
// therefore reads back with its sessions of unknown kind and encodes to
// the same bytes.
func TestFormatVersions(t *testing.T) {
	for _, s := range samples {
		want := byte(1)
		for _, op := range s.t.Ops {
			if op.Type == txn.TypeCreateSession && op.Kind != txn.SessionKindUnknown {
				want = 2
			}
		}
		if got := txn.Encode(&s.t)[0]; got != want {
			t.Errorf("%s: version %d, want %d", s.name, got, want)
		}
	}
	// The kind is the only difference: one byte after the timeout.
	rec := txn.Txn{Zxid: 11, Ops: []txn.Op{{Type: txn.TypeCreateSession, Session: 0x100, Timeout: 30000}}}
	v1 := txn.Encode(&rec)
	for _, kind := range []txn.SessionKind{txn.SessionInProcess, txn.SessionRemote} {
		rec.Ops[0].Kind = kind
		v2 := txn.Encode(&rec)
		if want := cat([]byte{2}, v1[1:len(v1)-4], []byte{byte(kind)}); !bytes.Equal(v2[:len(v2)-4], want) {
			t.Errorf("%v: encoded %x, want %x and a checksum", kind, v2, want)
		}
	}
}

func TestAppendEncode(t *testing.T) {
	rec := &samples[0].t
	prefix := []byte("prefix")
	out := txn.AppendEncode(append([]byte(nil), prefix...), rec)
	if !bytes.HasPrefix(out, prefix) || !bytes.Equal(out[len(prefix):], txn.Encode(rec)) {
		t.Fatalf("AppendEncode = %x", out)
	}
}

func TestDecodeCopies(t *testing.T) {
	rec := &txn.Txn{Zxid: 1, Ops: []txn.Op{{Type: txn.TypeCreate, Path: "/a", Data: []byte("data"), ACL: znode.OpenACL()}}}
	enc := txn.Encode(rec)
	got := mustDecode(t, enc)
	for i := range enc {
		enc[i] = 0
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("decoded record changed with its input: %v", got)
	}
}

// The golden record pins the format: if this test fails, the encoding
// changed, and logs written before the change would no longer read back.
func TestGolden(t *testing.T) {
	rec := &txn.Txn{Zxid: layout.Make(1, 2), Time: 1000, Session: 0x10, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/a", Data: []byte("hi"), ACL: znode.OpenACL(), Owner: 0x10, ParentCversion: 1},
	}}
	const want = "01" + // version
		"8480808020" + // zxid 0x100000002
		"d00f" + // time 1000
		"20" + // session 0x10
		"00" + // flags
		"01" + // one op
		"02" + "022f61" + "04" + "6869" + // create, "/a", "hi"
		"01" + "3e" + "05776f726c64" + "06616e796f6e65" + // acl: all, world:anyone
		"20" + "02" + // owner 0x10, parent cversion 1
		"821fbbfa" // crc
	if got := hex.EncodeToString(txn.Encode(rec)); got != want {
		t.Errorf("Encode =\n%s\nwant\n%s", got, want)
	}
	b, _ := hex.DecodeString(want)
	if got := mustDecode(t, b); !reflect.DeepEqual(got, rec) {
		t.Errorf("Decode = %v, want %v", got, rec)
	}

	// A createSession with a kind: version 2, the kind after the timeout.
	session := &txn.Txn{Zxid: layout.Make(1, 3), Time: 1000, Session: 0x11, Ops: []txn.Op{
		{Type: txn.TypeCreateSession, Session: 0x11, Timeout: 4000, Kind: txn.SessionRemote},
	}}
	const sessionBody = "02" + // version
		"8680808020" + // zxid 0x100000003
		"d00f" + // time 1000
		"22" + // session 0x11
		"00" + // flags
		"01" + // one op
		"13" + "22" + "c03e" + // createSession, session 0x11, timeout 4000
		"02" // kind: remote
	body, _ := hex.DecodeString(sessionBody)
	wantSession := seal(body) // the crc, computed apart from the encoder
	if got := txn.Encode(session); !bytes.Equal(got, wantSession) {
		t.Errorf("Encode createSession =\n%x\nwant\n%x", got, wantSession)
	}
	if got := mustDecode(t, wantSession); !reflect.DeepEqual(got, session) {
		t.Errorf("Decode = %v, want %v", got, session)
	}

	// With a digest: flag bit 1, and 8 bytes after the ops.
	rec.Digest, rec.HasDigest = 0x0123456789abcdef, true
	const wantDigest = "01" + "8480808020" + "d00f" + "20" +
		"02" + // flags: digest
		"01" + "02" + "022f61" + "04" + "6869" + "01" + "3e" + "05776f726c64" + "06616e796f6e65" + "20" + "02" +
		"efcdab8967452301" + // digest, little-endian
		"c8e9c584" // crc, computed apart from the encoder
	if got := hex.EncodeToString(txn.Encode(rec)); got != wantDigest {
		t.Errorf("Encode with digest =\n%s\nwant\n%s", got, wantDigest)
	}
	b, _ = hex.DecodeString(wantDigest)
	if dec := mustDecode(t, b); !reflect.DeepEqual(dec, rec) {
		t.Errorf("Decode = %v, want %v", dec, rec)
	}
}

// The golden files hold a record with every op type, in each format
// version: version 1 (the createSession of unknown kind) and version 2.
func TestGoldenFile(t *testing.T) {
	for name, rec := range map[string]txn.Txn{"every_type_v1.hex": allTypes(), "every_type_v2.hex": allTypesV2()} {
		path := filepath.Join("testdata", name)
		enc := txn.Encode(&rec)
		if *update {
			if err := os.WriteFile(path, []byte(hex.EncodeToString(enc)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := hex.DecodeString(strings.TrimSpace(string(file)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, want) {
			t.Errorf("Encode =\n%x\nwant (%s)\n%x", enc, path, want)
		}
		if got := mustDecode(t, want); !reflect.DeepEqual(got, &rec) {
			t.Errorf("Decode = %v, want %v", got, &rec)
		}
	}
}

func checkCorrupt(t *testing.T, b []byte, msg string) {
	t.Helper()
	got, err := txn.Decode(b)
	switch {
	case err == nil:
		t.Errorf("Decode(%x) = %v, want an error", b, got)
	case got != nil:
		t.Errorf("Decode(%x) returned a record with error %v", b, err)
	case !errors.Is(err, txn.ErrCorrupt) || !errors.Is(err, znode.ErrDataInconsistency) ||
		znode.CodeOf(err) != znode.CodeDataInconsistency:
		t.Errorf("Decode(%x): error %v does not wrap ErrCorrupt and ErrDataInconsistency", b, err)
	case !strings.Contains(err.Error(), msg):
		t.Errorf("Decode(%x): error %q does not say %q", b, err, msg)
	}
}

func corruptionSamples() map[string][]byte {
	rec, recV2 := allTypes(), allTypesV2()
	return map[string][]byte{
		"create":        txn.Encode(&samples[0].t),
		"every type":    txn.Encode(&rec),
		"every type v2": txn.Encode(&recV2),
		"closeSession": txn.Encode(&txn.Txn{Zxid: 12, Session: 0x100, Ops: []txn.Op{
			{Type: txn.TypeCloseSession, Session: 0x100, Paths: []string{"/e/x", "/e", "/f"}}}}),
		"digest": txn.Encode(&txn.Txn{Zxid: 15, Digest: 0xfedcba9876543210, HasDigest: true, Ops: []txn.Op{
			{Type: txn.TypeDelete, Path: "/a"}}}),
	}
}

func TestEveryBitFlipDetected(t *testing.T) {
	for name, enc := range corruptionSamples() {
		for i := range len(enc) * 8 {
			b := bytes.Clone(enc)
			b[i/8] ^= 1 << (i % 8)
			if got, err := txn.Decode(b); err == nil {
				t.Fatalf("%s: flipping bit %d went unnoticed: %v", name, i, got)
			} else if !errors.Is(err, txn.ErrCorrupt) {
				t.Fatalf("%s: bit %d: error %v does not wrap ErrCorrupt", name, i, err)
			}
		}
	}
}

func TestEveryTruncationDetected(t *testing.T) {
	for name, enc := range corruptionSamples() {
		for n := range len(enc) {
			if got, err := txn.Decode(enc[:n]); err == nil {
				t.Fatalf("%s: truncation to %d bytes went unnoticed: %v", name, n, got)
			} else if !errors.Is(err, txn.ErrCorrupt) {
				t.Fatalf("%s: truncation to %d: error %v does not wrap ErrCorrupt", name, n, err)
			}
		}
		if _, err := txn.Decode(append(bytes.Clone(enc), 0)); err == nil {
			t.Fatalf("%s: an appended byte went unnoticed", name)
		}
	}
}

// seal appends a valid checksum to body, so a test reaches the parser.
func seal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

// header is a record body up to and including the op count n.
func header(n byte) []byte { return []byte{1, 2, 0, 0, 0, n} }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeErrors(t *testing.T) {
	good := txn.Encode(&samples[0].t)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 0x80
	v3 := bytes.Clone(good)
	v3[0] = 3
	trailing := seal(cat(good[:len(good)-4], []byte{0}))
	// Version 2 bodies of one createSession (session 1, timeout 2), with
	// the kind bytes given.
	session2 := func(kind ...byte) []byte { return seal(cat([]byte{2, 2, 0, 0, 0, 1, 19, 2, 4}, kind)) }

	tests := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"empty", nil, "truncated"},
		{"short", []byte{1, 0, 0, 0}, "truncated"},
		{"bad checksum", badCRC, "bad checksum"},
		{"unknown version", v3, "unknown format version 3"},
		{"version 2 without a kind", session2(0), "format version 2 for a record of version 1"},
		{"version 2 without a session", seal(cat([]byte{2}, good[1:len(good)-4])), "format version 2 for a record of version 1"},
		{"unknown session kind", session2(3), "op 0 (createSession): session kind at offset 9: unknown kind 3"},
		{"missing session kind", session2(), "op 0 (createSession): truncated: session kind"},
		{"non-minimal session kind", session2(0x82, 0), "not minimal"},
		{"version 0", seal([]byte{0, 2, 0, 0, 0, 0}), "unknown format version 0"},
		{"too large", make([]byte, txn.MaxRecordSize+1), "more than the limit"},
		{"trailing bytes", trailing, "1 trailing bytes"},
		{"truncated header", seal([]byte{1, 2, 0}), "truncated: session"},
		{"truncated varint", seal([]byte{1, 0x80}), "truncated: zxid"},
		{"overlong varint", seal(cat([]byte{1}, bytes.Repeat([]byte{0xff}, 10), []byte{1})), "overflows"},
		{"non-minimal varint", seal([]byte{1, 0x82, 0x00, 0, 0, 0, 0}), "not minimal"},
		{"unknown flags", seal([]byte{1, 2, 0, 0, 4, 0}), "unknown flags 0x4"},
		{"truncated digest", seal([]byte{1, 2, 0, 0, 2, 0, 1, 2, 3, 4, 5, 6, 7}), "truncated: digest"},
		{"missing ops", seal(header(1)), "op count"},
		{"huge op count", seal(cat([]byte{1, 2, 0, 0, 0}, binary.AppendUvarint(nil, 1<<62), []byte{4, 0})), "too large"},
		{"unknown op type", seal(cat(header(1), []byte{6, 0})), "unknown op type 3"},
		{"op type overflows int32", seal(cat(header(1), binary.AppendVarint(nil, math.MaxInt32+1))), "does not fit in 32 bits"},
		{"path too long", seal(cat(header(1), []byte{4, 5, '/'})), "length 5 is too large"},
		{"huge path length", seal(cat(header(1), []byte{4}, binary.AppendUvarint(nil, math.MaxUint64))), "too large"},
		{"negative data length", seal(cat(header(1), []byte{10, 0, 3})), "negative length -2"},
		{"data too long", seal(cat(header(1), []byte{10, 0, 8, 'x'})), "length 4 is too large"},
		{"huge data length", seal(cat(header(1), []byte{10, 0}, binary.AppendVarint(nil, math.MaxInt64))), "too large"},
		{"version overflows int32", seal(cat(header(1), []byte{10, 0, 1}, binary.AppendVarint(nil, math.MinInt32-1))), "does not fit in 32 bits"},
		{"huge acl count", seal(cat(header(1), []byte{14, 0}, binary.AppendUvarint(nil, 1<<40), []byte{0})), "acl count"},
		{"acl count above bytes", seal(cat(header(1), []byte{14, 0, 2, 0, 0, 0, 0})), "too large"},
		{"huge paths count", seal(cat(header(1), []byte{21, 2}, binary.AppendUvarint(nil, math.MaxUint64))), "path count"},
		{"op missing field", seal(cat(header(1), []byte{19, 2})), "op 0 (createSession): truncated: timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkCorrupt(t, tc.b, tc.msg) })
	}
}

// A lying count or length must not make Decode allocate in proportion to
// the lie.
func TestDecodeAllocationBounded(t *testing.T) {
	// A record claiming the most ops its size allows, all of them truncated
	// after the first: the ops slice must not be sized by the claim.
	body := cat([]byte{1, 2, 0, 0, 0}, binary.AppendUvarint(nil, 1<<19), []byte{4, 0}, make([]byte, 1<<20))
	rec := seal(body)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := txn.Decode(rec)
	runtime.ReadMemStats(&after)
	checkCorrupt(t, rec, "unknown op type 0")
	if err == nil {
		t.Fatal("Decode succeeded")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("Decode of a lying record allocated %d bytes", grew)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range samples {
		if s.name == "setData large" {
			continue
		}
		enc := txn.Encode(&s.t)
		f.Add(enc)
		f.Add(enc[:len(enc)-4]) // a body: the fuzz function seals it too
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Raw input mostly fails the checksum; sealed input reaches the
		// parser. Either way Decode must not panic, and whatever it accepts
		// must be exactly what Encode writes.
		for _, in := range [][]byte{b, seal(b)} {
			got, err := txn.Decode(in)
			if err != nil {
				if got != nil || !errors.Is(err, txn.ErrCorrupt) || !errors.Is(err, znode.ErrDataInconsistency) {
					t.Fatalf("Decode(%x) = %v, %v", in, got, err)
				}
				continue
			}
			enc := txn.Encode(got)
			if !bytes.Equal(enc, in) {
				t.Fatalf("Decode accepted a non-canonical encoding:\n  in %x\n out %x", in, enc)
			}
			if again := mustDecode(t, enc); !reflect.DeepEqual(again, got) {
				t.Fatalf("re-decoded %v, want %v", again, got)
			}
		}
	})
}

var opTypes = []txn.Type{txn.TypeCreate, txn.TypeDelete, txn.TypeSetData, txn.TypeSetACL, txn.TypeCheck,
	txn.TypeDeleteContainer, txn.TypeCreateSession, txn.TypeCloseSession, txn.TypeEpoch}

func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(1), int64(2), int64(3), false, uint8(0), "/a", []byte("x"), false, int32(31), "world", "anyone", int64(0), int32(0), int32(0), int64(0), "", int64(0), uint8(1), uint8(0))
	f.Add(int64(-1), int64(math.MaxInt64), int64(math.MinInt64), true, uint8(7), "", []byte(nil), true, int32(-1), "", "", int64(-5), int32(math.MinInt32), int32(math.MaxInt32), int64(9), "/a\x00/b\x00", int64(-9), uint8(3), uint8(1))
	f.Add(int64(11), int64(0), int64(4), false, uint8(6), "", []byte(nil), true, int32(0), "", "", int64(0), int32(0), int32(4000), int64(4), "", int64(0), uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, zxid, tm, session int64, multi bool, typ uint8, path string, data []byte, nilData bool,
		perms int32, scheme, id string, owner int64, v1, v2 int32, sess int64, paths string, epoch int64, nops uint8, kind uint8) {
		// Build a record in canonical form: only the fields the type uses,
		// nil for empty lists.
		op := txn.Op{Type: opTypes[int(typ)%len(opTypes)]}
		if nilData {
			data = nil
		} else if data == nil {
			data = []byte{}
		}
		var acl []znode.ACL
		if scheme != "" || id != "" || perms != 0 {
			acl = []znode.ACL{{Perms: znode.Perm(perms), ID: znode.ID{Scheme: scheme, ID: id}}, {Perms: znode.PermRead, ID: znode.AnyoneID}}
		}
		var pathList []string
		if paths != "" {
			pathList = strings.Split(paths, "\x00")
		}
		switch op.Type {
		case txn.TypeCreate:
			op.Path, op.Data, op.ACL, op.Owner, op.ParentCversion = path, data, acl, owner, v1
		case txn.TypeDelete, txn.TypeDeleteContainer:
			op.Path = path
		case txn.TypeSetData:
			op.Path, op.Data, op.Version = path, data, v2
		case txn.TypeSetACL:
			op.Path, op.ACL, op.Version = path, acl, v2
		case txn.TypeCheck:
			op.Path, op.Version = path, v1
		case txn.TypeCreateSession:
			op.Session, op.Timeout, op.Kind = sess, v2, txn.SessionKind(kind%3)
		case txn.TypeCloseSession:
			op.Session, op.Paths = sess, pathList
		case txn.TypeEpoch:
			op.Epoch = epoch
		}
		rec := &txn.Txn{Zxid: znode.Zxid(zxid), Time: tm, Session: session, Multi: multi}
		for i := range int(nops % 8) {
			o := op
			if i%2 == 1 { // vary the ops of a multi
				o = txn.Op{Type: txn.TypeCheck, Path: path + "/x", Version: int32(i)}
			}
			rec.Ops = append(rec.Ops, o)
		}
		enc := txn.Encode(rec)
		got := mustDecode(t, enc)
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, rec)
		}
		if again := txn.Encode(got); !bytes.Equal(again, enc) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, enc)
		}
	})
}

// benchCreate is a typical create record: 100 bytes of data, open ACL.
func benchCreate() *txn.Txn {
	return &txn.Txn{Zxid: layout.Make(3, 123456), Time: 1700000000000, Session: 0x1000000abcdef, Ops: []txn.Op{
		{Type: txn.TypeCreate, Path: "/app/config/node-0000012345", Data: bytes.Repeat([]byte("x"), 100),
			ACL: znode.OpenACL(), ParentCversion: 12346},
	}}
}

func BenchmarkEncode(b *testing.B) {
	rec := benchCreate()
	b.SetBytes(int64(len(txn.Encode(rec))))
	b.ReportAllocs()
	for b.Loop() {
		txn.Encode(rec)
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	rec := benchCreate()
	buf := txn.Encode(rec)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = txn.AppendEncode(buf[:0], rec)
	}
}

func BenchmarkDecode(b *testing.B) {
	enc := txn.Encode(benchCreate())
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := txn.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
