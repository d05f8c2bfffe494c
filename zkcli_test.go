package zkembed_test

import (
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/internal/zkserver"
)

// zkCliScript is a zkCli.sh session of the commands issue 7 names. Paths
// live under /cli so that a shared server's other data stays out of it.
const zkCliScript = `create /cli top
create -e /cli/eph e
create -s /cli/seq- s
create -s /cli/seq- s
ls -s /cli
get -s /cli
set -v 0 /cli changed
set -v 0 /cli again
get /cli
delete /cli/nope
create /cli/d
create /cli/d/x
delete /cli/d
deleteall /cli/d
addauth digest u:p
setAcl /cli auth:u:p:cdrwa
getAcl /cli
create /cli/open
setAcl /cli/open world:anyone:r
getAcl /cli/open
create /cli/open/child
ls /cli
quit
`

// TestZkCliAgainstServe drives zkCli.sh from Debian's ZooKeeper package
// against zkembed's server over TCP and against a real ZooKeeper, and
// compares what it prints (times, zxids and session ids normalized).
func TestZkCliAgainstServe(t *testing.T) {
	t.Parallel()
	const cli = "/usr/share/zookeeper/bin/zkCli.sh"
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv(zkserver.EnvRequired) != "" {
			t.Fatalf("zkCli.sh not installed (%v)", err)
		}
		t.Skip("zkCli.sh not installed: apt-get install -y zookeeper")
	}
	zk := zkserver.Start(t)
	db, err := zkembed.Open("", &zkembed.Options{ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := zkembed.NewServer(db, nil)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	run := func(addr string) []string {
		cmd := exec.Command(cli, "-server", addr)
		cmd.Stdin = strings.NewReader(zkCliScript)
		cmd.Env = append(os.Environ(), "JVMFLAGS=-Dzookeeper.jmx.log4j.disable=true")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("zkCli.sh -server %s: %v\n%s", addr, err, out)
		}
		return normalizeZkCli(string(out))
	}
	want := run(zk.Addr)
	got := run(l.Addr().String())
	for _, h := range confDiff(want, got) {
		t.Errorf("zkCli output differs at ZooKeeper line %d:\n%s", h.line, h.text)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("zkCli against ZooKeeper:\n%s", strings.Join(want, "\n"))
	}
	if len(want) < 40 {
		t.Fatalf("zkCli printed too little to compare (%d lines):\n%s", len(want), strings.Join(want, "\n"))
	}
}

var (
	zkCliZxid  = regexp.MustCompile(`0x[0-9a-f]+`)
	zkCliTime  = regexp.MustCompile(`^(c|m)time = .*$`)
	zkCliNoise = regexp.MustCompile(`^(Connecting to |Welcome to|JLine support|WATCHER::|WatchedEvent|\S+ \[.*\] (INFO|WARN|ERROR|DEBUG) |log4j|SLF4J|\s*$)`)
)

// normalizeZkCli keeps the lines zkCli prints for the commands, with zxids,
// session ids and times replaced.
func normalizeZkCli(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, "\r")
		// zkCli echoes prompts without a newline when stdin is not a
		// terminal; commands' output follows on the same line.
		if i := strings.LastIndex(l, "] "); strings.HasPrefix(l, "[zk: ") && i >= 0 {
			l = l[i+2:]
		}
		if zkCliNoise.MatchString(l) {
			continue
		}
		l = zkCliTime.ReplaceAllString(l, "${1}time = <time>")
		l = zkCliZxid.ReplaceAllString(l, "0x<id>")
		lines = append(lines, l)
	}
	return lines
}
