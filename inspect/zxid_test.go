package inspect_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/inspect"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

func TestParseZxid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want znode.Zxid
		ok   bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"0x2a", 42, true},
		{"0X2A", 42, true},
		{"0x100000001", 1<<32 | 1, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"0x7fffffffffffffff", math.MaxInt64, true},
		{"9223372036854775808", 0, false}, // 2^63
		{"0x8000000000000000", 0, false},
		{"", 0, false},
		{"0x", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1_000", 0, false},
		{"0b101", 0, false},
		{"0o17", 0, false},
		{"0x-1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"12abc", 0, false},
		{"abc", 0, false},
	} {
		got, err := inspect.ParseZxid(tc.in)
		if !tc.ok {
			assert.ErrorIs(t, err, inspect.ErrBadZxid, "%q", tc.in)
			assert.ErrorIs(t, err, znode.ErrBadArguments, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

func TestZxidFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	var z inspect.ZxidFlag
	fs.Var(&z, "zxid", "")
	require.NoError(t, fs.Parse([]string{"-zxid", "0x10"}))
	assert.True(t, z.Given)
	assert.Equal(t, znode.Zxid(16), z.Zxid)
	assert.Equal(t, "0x10", z.String())
	assert.ErrorIs(t, z.Set("x"), inspect.ErrBadZxid)
	assert.Error(t, fs.Parse([]string{"-zxid", "nope"}))
}

// ParseZxid never panics, accepts only values in [0, 2^63), and reads back
// both of the forms it accepts.
func FuzzParseZxid(f *testing.F) {
	for _, s := range []string{"0", "1", "0x1", "0X1f", "9223372036854775807", "0x8000000000000000", "-1", "", "0x", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, err := inspect.ParseZxid(s)
		if err != nil {
			return
		}
		if z < 0 {
			t.Fatalf("%q parsed to negative %d", s, z)
		}
		for _, form := range []string{strconv.FormatInt(int64(z), 10), z.String(), fmt.Sprintf("0X%X", int64(z))} {
			back, err := inspect.ParseZxid(form)
			if err != nil || back != z {
				t.Fatalf("%q: %v, then %q: %v %v", s, z, form, back, err)
			}
		}
	})
}

// Every JSON line of a log dump decodes, with the documented field names
// and the data exactly as written (base64, null for a null buffer).
func TestLogDumpJSONFields(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	require.NoError(t, inspect.LogDump(&out, f.dir, inspect.DumpOptions{JSON: true}))
	sc := bufio.NewScanner(&out)
	var records []inspect.JSONRecord
	seen := map[string]bool{}
	for sc.Scan() {
		var raw map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &raw), sc.Text())
		for _, k := range []string{"zxid", "epoch", "counter", "time", "time_ms", "session", "multi", "ops"} {
			assert.Contains(t, raw, k, sc.Text())
		}
		var r inspect.JSONRecord
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&r))
		records = append(records, r)
		rawOps := raw["ops"].([]any)
		for i, op := range r.Ops {
			seen[op.Type] = true
			rawOp := rawOps[i].(map[string]any)
			switch op.Type {
			case "create", "setData":
				assert.Contains(t, rawOp, "data", "data is always there, null or base64")
			}
			switch op.Type {
			case "create":
				require.NotNil(t, op.ACL)
				require.NotNil(t, op.ParentCversion)
				assert.NotEmpty(t, op.NodeKind)
				if op.Path == "/bin" {
					assert.Equal(t, []byte{0, 1, 2, 0xff, '"', '\n'}, *op.Data)
				}
				if op.Path == "/m/a" {
					assert.Nil(t, rawOp["data"], "null data stays null")
				}
			case "setData", "setACL", "check":
				require.NotNil(t, op.Version)
			case "epoch":
				require.NotNil(t, op.Epoch)
				assert.Equal(t, int64(1), *op.Epoch)
			case "createSession":
				assert.Equal(t, "in-process", op.SessionKind, "the fixture's sessions are NewSession's")
			}
		}
	}
	require.NotEmpty(t, records)
	assert.Equal(t, f.snaps[0].String(), records[0].Zxid)
	assert.Equal(t, f.last.String(), records[len(records)-1].Zxid)
	for _, typ := range []string{"create", "delete", "deleteContainer", "setData", "setACL", "check", "createSession", "closeSession", "epoch"} {
		assert.True(t, seen[typ], "the fixture's log has a %s op", typ)
	}
}

// A createSession shows its session's kind, in text and JSON, and nothing
// for a record logged before kinds were.
func TestCreateSessionKind(t *testing.T) {
	for kind, want := range map[txn.SessionKind]string{
		txn.SessionKindUnknown: "", txn.SessionInProcess: "in-process", txn.SessionRemote: "remote",
	} {
		rec := &txn.Txn{Zxid: 3, Session: 0x10, Ops: []txn.Op{{Type: txn.TypeCreateSession, Session: 0x10, Timeout: 4000, Kind: kind}}}
		text := "createSession 0x10 timeout=4000ms"
		if want != "" {
			text += " kind=" + want
		}
		assert.True(t, strings.HasSuffix(inspect.FormatRecord(rec), text), "%v: %s", kind, inspect.FormatRecord(rec))
		assert.Equal(t, want, inspect.RecordJSON(rec, znode.DefaultLayout).Ops[0].SessionKind, "%v", kind)
		line, err := json.Marshal(inspect.RecordJSON(rec, znode.DefaultLayout))
		require.NoError(t, err)
		assert.Equal(t, want != "", strings.Contains(string(line), `"session_kind"`), "%s", line)
	}
}

// Package inspect never imports the root package (subpackages never do).
func TestDoesNotImportRoot(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/zkembed/zkembed/inspect").Output()
	require.NoError(t, err)
	for _, pkg := range strings.Fields(string(out)) {
		assert.NotEqual(t, "github.com/zkembed/zkembed", pkg)
	}
}
