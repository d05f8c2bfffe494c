package shell_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/internal/shell"
	"github.com/zkembed/zkembed/internal/zkserver"
)

const zkCli = "/usr/share/zookeeper/bin/zkCli.sh"

// Every goroutine of a Client (go-zookeeper's, the embedded drains) ends
// with its Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs each script of testdata/conform through zkCli.sh
// against a fresh ZooKeeper 3.8, and through the shell on a fresh
// embedded engine and (with the commands go-zookeeper can send) on a fresh
// ZooKeeper through -server. Standard output and standard error must be
// the same as zkCli's, line for line, once times, the banner and the
// session's own connect and close notifications are set aside.
func TestConformance(t *testing.T) {
	if _, err := os.Stat(zkCli); err != nil {
		if os.Getenv(zkserver.EnvRequired) != "" {
			t.Fatalf("zkCli.sh not installed (%v)", err)
		}
		t.Skip("zkCli.sh not installed: apt-get install -y zookeeper")
	}
	scripts, err := filepath.Glob("testdata/conform/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	for _, path := range scripts {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			script := string(b)

			wantOut, wantErr := runZkCli(t, script)
			gotOut, gotErr := runEmbedded(t, script)
			compare(t, "embedded stdout", wantOut, gotOut)
			compare(t, "embedded stderr", wantErr, gotErr)
			if t.Failed() || testing.Verbose() {
				t.Logf("zkCli stdout:\n%s\nzkCli stderr:\n%s", wantOut, wantErr)
			}

			// go-zookeeper cannot send these: compare without them.
			common := withoutUnsupported(script)
			wantOut, wantErr = runZkCli(t, common)
			gotOut, gotErr = runServer(t, common)
			compare(t, "-server stdout", wantOut, gotOut)
			compare(t, "-server stderr", wantErr, gotErr)
		})
	}
}

// withoutUnsupported drops the commands go-zookeeper cannot send.
func withoutUnsupported(script string) string {
	var keep []string
	for _, l := range strings.Split(script, "\n") {
		switch strings.Fields(l + " x")[0] {
		case "whoami", "getEphemerals", "getAllChildrenNumber", "addWatch", "removewatches":
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

func runZkCli(t *testing.T, script string) (stdout, stderr string) {
	srv := zkserver.Start(t)
	cmd := exec.Command(zkCli, "-server", srv.Addr)
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = append(os.Environ(), "JVMFLAGS=-Dzookeeper.jmx.log4j.disable=true", "TZ=UTC")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "zkCli.sh: %s", errb.String())
	return normalize(out.String()), normalize(errb.String())
}

func runEmbedded(t *testing.T, script string) (stdout, stderr string) {
	ctx := context.Background()
	db, err := zkembed.Open("", &zkembed.Options{ExtendedTypes: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	s, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 30 * time.Second, Addr: netip.MustParseAddr("127.0.0.1")})
	require.NoError(t, err)
	return runShell(t, shell.Embedded(s), script)
}

func runServer(t *testing.T, script string) (stdout, stderr string) {
	srv := zkserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := shell.Dial(ctx, srv.Addr, 30*time.Second)
	require.NoError(t, err)
	return runShell(t, c, script)
}

func runShell(t *testing.T, c shell.Client, script string) (stdout, stderr string) {
	t.Setenv("TZ", "UTC")
	var out, errb bytes.Buffer
	sh := shell.New(c, &out, &errb, "test")
	require.NoError(t, sh.Run(context.Background(), strings.NewReader(script)))
	require.NoError(t, c.Close())
	return normalize(out.String()), normalize(errb.String())
}

var (
	// The session's own notifications: zkCli prints its connection at
	// start and, racing with its exit, its close.
	sessionEvent = regexp.MustCompile(`\n?\nWATCHER::\n\nWatchedEvent state:(SyncConnected|Closed) type:None path:null\n`)
	noise        = regexp.MustCompile(`(?m)^(Connecting to .*|Welcome to ZooKeeper!|JLine support is disabled|SLF4J:.*|.*\[.*\] (INFO|WARN|ERROR|DEBUG) .*|log4j:.*)\n`)
	times        = regexp.MustCompile(`(?m)^(c|m)time = .*$`)
	helpHead     = regexp.MustCompile(`(?m)^(ZooKeeper -server host:port -client-configuration properties-file cmd args|zkembed \[-data dir \| -server host:port\] cmd args)$`)
	// Commands zkCli has and the shell leaves out on purpose.
	notOffered = regexp.MustCompile(`(?m)^\t(close|config|connect|delquota|listquota|reconfig|setquota) .*\n`)
	version    = regexp.MustCompile(`(?m)^ZooKeeper CLI version: .*$`)
	zxid       = regexp.MustCompile(`(?m)^([cmp]Zxid) = (0x[0-9a-f]+)$`)
	owner      = regexp.MustCompile(`(?m)^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$`)
	// zkCli's watcher prints "WATCHER::" and the event in two println
	// calls from its event thread, so a command's output racing with it
	// can land in between (seen in CI: "WATCHER::", "top", "",
	// "WatchedEvent ..."; and a whole 11-line stat). splitEvent finds such
	// a split event: non-empty lines between, however many.
	splitEvent = regexp.MustCompile(`(?m)^WATCHER::\n((?:[^\n]+\n)+)\n(WatchedEvent [^\n]*)$`)
)

// joinSplitEvents puts a zkCli event split by racing output back together,
// the racing lines after it, as the event thread would have printed it had
// it won the race.
func joinSplitEvents(s string) string {
	return splitEvent.ReplaceAllStringFunc(s, func(m string) string {
		sub := splitEvent.FindStringSubmatch(m)
		between := strings.TrimSuffix(sub[1], "\n")
		for _, l := range strings.Split(between, "\n") {
			if strings.HasPrefix(l, "WATCHER::") || strings.HasPrefix(l, "WatchedEvent") {
				return m // another event: not a split one
			}
		}
		return "WATCHER::\n\n" + sub[2] + "\n" + between
	})
}

func normalize(s string) string {
	s = noise.ReplaceAllString(s, "")
	s = strings.TrimRight(sessionEvent.ReplaceAllString(s, ""), "\n")
	s = joinSplitEvents(s)
	s = times.ReplaceAllString(s, "${1}time = <time>")
	s = helpHead.ReplaceAllString(s, "<help>")
	s = notOffered.ReplaceAllString(s, "")
	s = version.ReplaceAllString(s, "ZooKeeper CLI version: <version>")
	s = owner.ReplaceAllString(s, "ephemeralOwner = <session>")
	// A failed write takes a zxid in ZooKeeper (an error transaction) and
	// none in zkembed, so zxids are compared by their order of appearance.
	seen := map[string]int{}
	s = zxid.ReplaceAllStringFunc(s, func(m string) string {
		sub := zxid.FindStringSubmatch(m)
		if _, ok := seen[sub[2]]; !ok {
			seen[sub[2]] = len(seen) + 1
		}
		return fmt.Sprintf("%s = <zxid %d>", sub[1], seen[sub[2]])
	})
	return s
}

func compare(t *testing.T, what, want, got string) {
	t.Helper()
	if want == got {
		return
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		wl, gl := "<end>", "<end>"
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			t.Errorf("%s differs from zkCli at line %d:\nzkCli: %q\nshell: %q\n%s", what, i+1, wl, gl, context3(w, g, i))
			return
		}
	}
}

func context3(w, g []string, i int) string {
	var b strings.Builder
	for j := max(0, i-3); j < min(i+4, max(len(w), len(g))); j++ {
		wl, gl := "", ""
		if j < len(w) {
			wl = w[j]
		}
		if j < len(g) {
			gl = g[j]
		}
		fmt.Fprintf(&b, "%4d  %-50q %q\n", j+1, wl, gl)
	}
	return b.String()
}

func TestJoinSplitEvents(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"WATCHER::\ntop\n\nWatchedEvent state:SyncConnected type:NodeChildrenChanged path:/t\nadata",
			"WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeChildrenChanged path:/t\ntop\nadata"},
		// A whole stat between the two halves.
		{"WATCHER::\ncZxid = <zxid 3>\nctime = <time>\nmZxid = <zxid 5>\nmtime = <time>\npZxid = <zxid 3>\ncversion = 0\ndataVersion = 3\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 4\nnumChildren = 0\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/t/a\n'world,'anyone",
			"WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/t/a\ncZxid = <zxid 3>\nctime = <time>\nmZxid = <zxid 5>\nmtime = <time>\npZxid = <zxid 3>\ncversion = 0\ndataVersion = 3\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 4\nnumChildren = 0\n'world,'anyone"},
		// Not split: unchanged.
		{"WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDeleted path:/a\ntop",
			"WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDeleted path:/a\ntop"},
		// Two events in a row are not one split event.
		{"WATCHER::\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDeleted path:/a",
			"WATCHER::\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDeleted path:/a"},
	} {
		require.Equal(t, tc.want, joinSplitEvents(tc.in), tc.in)
	}
}
