package shell

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// What zkCli's tokenizer (ZooKeeperMain's ARGS_PATTERN) makes of a line.
func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"ls /", []string{"ls", "/"}},
		{"  ls   /a  ", []string{"ls", "/a"}},
		{`create /a "hello world"`, []string{"create", "/a", "hello world"}},
		{`create /a 'single quoted'`, []string{"create", "/a", "single quoted"}},
		{`create /a ""`, []string{"create", "/a", ""}},
		{`create /a "unterminated`, []string{"create", "/a", "unterminated"}},
		{`create /a x"y`, []string{"create", "/a", `x"y`}},
		{`create /a "x"y`, []string{"create", "/a", "x", "y"}},
		{`set /a 'it"s'`, []string{"set", "/a", `it"s`}},
		{"", nil},
	} {
		require.Equal(t, tc.want, tokenize(tc.line), "%q", tc.line)
	}
}

// commons-cli's PosixParser as zkCli's commands use it.
func TestParseOptions(t *testing.T) {
	spec := optSpec{'s': false, 'e': false, 'v': true}
	for _, tc := range []struct {
		args []string
		opts map[byte]string
		pos  []string
		err  string
	}{
		{args: []string{"c", "-s", "/a"}, opts: map[byte]string{'s': ""}, pos: []string{"c", "/a"}},
		{args: []string{"c", "/a", "x", "-s"}, opts: map[byte]string{'s': ""}, pos: []string{"c", "/a", "x"}},
		{args: []string{"c", "-se", "/a"}, opts: map[byte]string{'s': "", 'e': ""}, pos: []string{"c", "/a"}},
		{args: []string{"c", "-v", "3", "/a"}, opts: map[byte]string{'v': "3"}, pos: []string{"c", "/a"}},
		{args: []string{"c", "-v3", "/a"}, opts: map[byte]string{'v': "3"}, pos: []string{"c", "/a"}},
		{args: []string{"c", "-sv3", "/a"}, opts: map[byte]string{'s': "", 'v': "3"}, pos: []string{"c", "/a"}},
		{args: []string{"c", "--", "-s"}, opts: map[byte]string{}, pos: []string{"c", "-s"}},
		{args: []string{"c", "-", "/a"}, opts: map[byte]string{}, pos: []string{"c", "-", "/a"}},
		{args: []string{"c", "/a", "-1"}, err: "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -1"},
		{args: []string{"c", "-sx"}, err: "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -sx"},
		{args: []string{"c", "/a", "-v"}, err: "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{args: []string{"c", "-v", "-s"}, err: "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{args: []string{"c", "-v", "-1", "/a"}, opts: map[byte]string{'v': "-1"}, pos: []string{"c", "/a"}},
		{args: []string{"c", "-v", "-x", "/a"}, opts: map[byte]string{'v': "-x"}, pos: []string{"c", "/a"}},
		{args: []string{"c", "-v=3", "/a"}, opts: map[byte]string{'v': "3"}, pos: []string{"c", "/a"}},
	} {
		p, err := parseOptions(tc.args, spec)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, "%q", tc.args)
			continue
		}
		require.NoError(t, err, "%q", tc.args)
		require.Equal(t, tc.opts, p.opts, "%q", tc.args)
		require.Equal(t, tc.pos, p.args, "%q", tc.args)
	}
}

// The client-side messages of PathUtils.validatePath.
func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		seq  bool
		want string
	}{
		{"/a", false, ""},
		{"/", false, ""},
		{"/a/", true, ""},
		{"", false, "Path length must be > 0"},
		{"a", false, "Path must start with / character"},
		{"/a/", false, "Path must not end with / character"},
		{"/a//b", false, `Invalid path string "/a//b" caused by empty node name specified @3`},
		{"/a/./b", false, `Invalid path string "/a/./b" caused by relative paths not allowed @3`},
		{"/a/..", false, `Invalid path string "/a/.." caused by relative paths not allowed @4`},
		{"/a/...", false, ""},
		{"/é\x01", false, `Invalid path string "/é` + "\x01" + `" caused by invalid character @2`},
		{"/\U0001F600", false, `Invalid path string "/` + "\U0001F600" + `" caused by invalid character @1`},
	} {
		err := checkPath(tc.path, tc.seq)
		if tc.want == "" {
			require.NoError(t, err, "%q", tc.path)
		} else {
			require.EqualError(t, err, tc.want, "%q", tc.path)
		}
	}
}

// checkPath (the client's rule, with Java's messages) and znode's
// ValidatePath (the server's) accept the same paths.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"/", "/a", "/a/", "a", "/a//b", "/a/./b", "/..", "/a\x00", "/\u00e9", "/\ufff0", "/\xff", "/\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		client := checkPath(path, false) == nil
		server := znode.ValidatePath(path) == nil
		if client != server {
			t.Fatalf("%q: client says valid=%v, server says valid=%v (%v)", path, client, server, checkPath(path, false))
		}
	})
}

// The tokenizer never panics, and what it returns re-joins to the line's
// characters less blanks and stripped quotes.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{`create /a "b c"`, `'x`, `"`, `a"b'c`, " \t ", `"a""b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, tok := range tokenize(line) {
			if !strings.Contains(line, tok) {
				t.Fatalf("%q: token %q is not in the line", line, tok)
			}
		}
	})
}

// The option parser never panics, and keeps the positional arguments in
// their order.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{"-s /a x", "-v 3 /a", "-v", "-- -s", "-sv3 /a", "/a -1", "- -s"} {
		f.Add(s)
	}
	spec := optSpec{'s': false, 'e': false, 'v': true}
	f.Fuzz(func(t *testing.T, line string) {
		args := append([]string{"cmd"}, strings.Fields(line)...)
		p, err := parseOptions(args, spec)
		if err != nil {
			return
		}
		i := 0
		for _, a := range args {
			if i < len(p.args) && a == p.args[i] {
				i++
			}
		}
		if i != len(p.args) {
			t.Fatalf("%q: positional %q out of order", args, p.args)
		}
	})
}

// A failed addauth is reported as ZooKeeper reports it: an AuthFailed
// notification, then "Not connected" for every command, and the run
// counts as failed.
func TestAuthFailed(t *testing.T) {
	for _, line := range []string{"addauth nosuchscheme x", "addauth digest"} {
		t.Run(line, func(t *testing.T) {
			ctx := context.Background()
			db, err := zkembed.Open("", nil)
			require.NoError(t, err)
			defer db.Close()
			s, err := db.NewSession(ctx, &zkembed.SessionOptions{Addr: netip.MustParseAddr("127.0.0.1")})
			require.NoError(t, err)
			var out, errb strings.Builder
			sh := New(Embedded(s), &out, &errb, "test")
			require.NoError(t, sh.Run(ctx, strings.NewReader("create /a x\n"+line+"\nls /\nget /a\n")))
			require.Equal(t, "\nWATCHER::\n\nWatchedEvent state:AuthFailed type:None path:null\nNot connected\nNot connected\n", out.String())
			require.Equal(t, "Created /a\n", errb.String())
			require.True(t, sh.Failed())
		})
	}
}

// history lists the last ten commands and the current one; redo runs one
// again and takes its place in the history; a redo that failed stays, and
// cannot be redone.
func TestHistoryRedo(t *testing.T) {
	ctx := context.Background()
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	defer db.Close()
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	var out, errb strings.Builder
	sh := New(Embedded(s), &out, &errb, "test")
	var script []string
	for i := range 12 {
		script = append(script, "create -s /n-"+strings.Repeat("x", i%2))
	}
	script = append(script, "redo 0", "redo 99", "redo 13", "history", "redo -1", "redo x", "redo 0x2")
	require.NoError(t, sh.Run(ctx, strings.NewReader(strings.Join(script, "\n"))))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, []string{
		"5 - create -s /n-x", "6 - create -s /n-", "7 - create -s /n-x", "8 - create -s /n-", "9 - create -s /n-x",
		"10 - create -s /n-", "11 - create -s /n-x", "12 - create -s /n-", "13 - redo 99", "14 - redo 13", "15 - history",
	}, lines)
	created := strings.Split(strings.TrimSpace(errb.String()), "\n")
	require.Equal(t, []string{
		"Created /n-0000000012", // redo 0
		"Command index out of range", "No redoing redos", "Command index out of range", "Command index out of range",
		"Created /n-0000000013", // redo 0x2: Integer.decode reads hex
	}, created[12:])
	require.True(t, sh.Failed())
}

// The ACL parser (zkCli's AclParser) never panics; every entry it keeps
// came from one comma-separated part of the line, split at its first and
// last colons, and written back as scheme:id:perms it parses the same.
func FuzzParseACL(f *testing.F) {
	for _, s := range []string{"world:anyone:cdrwa", "ip:10.0.0.1:r,digest:u:h=:rw", "a:b", ":::", "x:y:z:q", ",,", "world:anyone:", "sasl:a:b:c:rx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list := parseACL(s, func(string) {})
		if len(list) > strings.Count(s, ",")+1 {
			t.Fatalf("%q: %d entries from %d parts", s, len(list), strings.Count(s, ",")+1)
		}
		for _, a := range list {
			if strings.ContainsAny(a.ID.Scheme, ":,") || strings.Contains(a.ID.ID, ",") {
				t.Fatalf("%q: entry %+v spans a separator", s, a)
			}
			if a.Perms&^znode.PermAll != 0 {
				t.Fatalf("%q: perms %#x beyond cdrwa", s, a.Perms)
			}
			back := parseACL(a.ID.Scheme+":"+a.ID.ID+":"+a.Perms.Letters(), func(w string) { t.Fatalf("%q: re-parse warned %q", s, w) })
			if len(back) != 1 || back[0] != a {
				t.Fatalf("%q: entry %+v re-parsed as %+v", s, a, back)
			}
		}
	})
}
