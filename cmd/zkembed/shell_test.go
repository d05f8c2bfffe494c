package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed"
)

// TestRunAsZkembed is not a test: it is the zkembed command, run in a
// child process by the tests below (arguments after "--").
func TestRunAsZkembed(t *testing.T) {
	if os.Getenv("ZKEMBED_RUN_MAIN") != "1" {
		t.Skip("runs only as a child process of the shell tests")
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Args = append([]string{"zkembed"}, os.Args[i+1:]...)
			break
		}
	}
	main()
	os.Exit(0)
}

// command returns the zkembed command with args, run in dir.
func command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestRunAsZkembed$", "--"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ZKEMBED_RUN_MAIN=1", "TZ=UTC", "HOME="+dir)
	return cmd
}

// run runs zkembed and returns its stdout, stderr and exit code.
func run(t *testing.T, dir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := command(dir, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), errb.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errb.String(), 0
}

// The README's first command: the shell on ./zkembed-data, created if
// absent; one command as arguments, as zkCli takes it; commands piped on
// standard input; a failing command makes the exit status 1.
func TestShellCommandLine(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := run(t, dir, "", "create", "/app", "hello world")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Created /app\n", errOut)
	require.Empty(t, out)
	require.DirExists(t, filepath.Join(dir, "zkembed-data"), "the default store")

	out, _, code = run(t, dir, "", "get", "/app")
	require.Equal(t, 0, code)
	require.Equal(t, "hello world\n", out, "kept on disk between runs")

	out, errOut, code = run(t, dir, "", "get", "/nope")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, "Node does not exist: /nope\n", errOut)

	out, errOut, code = run(t, dir, "ls /\ncreate -e /app/lease\ngetEphemerals\n")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "[app, zookeeper]\n[/app/lease]\n", out)

	out, errOut, code = run(t, dir, "ls /app\ndelete /nope\nls /\n")
	require.Equal(t, 1, code, "one piped command failed")
	require.Equal(t, "Node does not exist: /nope\n", errOut)
	require.Equal(t, "[]\n[app, zookeeper]\n", out, "the last run's ephemeral went with its session")

	out, _, code = run(t, dir, "", "-data", filepath.Join(dir, "other"), "ls", "/")
	require.Equal(t, 0, code)
	require.Equal(t, "[zookeeper]\n", out, "-data chooses the store")

	_, errOut, code = run(t, dir, "", "frobnicate")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "Command not found: Command not found frobnicate")
}

// The shell against a server (-server), at a terminal: tab completion of
// paths, a watch event printed while the shell waits for input, the
// history recalled with the up arrow, and quit.
func TestShellTerminal(t *testing.T) {
	db, err := zkembed.Open("", nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := zkembed.NewServer(db, nil)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	_, err = s.Create(ctx, "/app", nil, zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)
	_, err = s.Create(ctx, "/app/config", []byte("v1"), zkembed.ModePersistent, zkembed.OpenACL())
	require.NoError(t, err)

	dir := t.TempDir()
	cmd := command(dir, "-server", l.Addr().String())
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	require.NoError(t, err)
	defer tty.Close()
	screen := &screen{}
	go func() { _, _ = io.Copy(screen, tty) }()
	expect := func(what string) {
		t.Helper()
		require.Eventually(t, func() bool { return strings.Contains(screen.String(), what) }, 10*time.Second, 10*time.Millisecond,
			"waiting for %q; the terminal shows:\n%s", what, screen.String())
	}
	expect("[zk: " + l.Addr().String() + "(CONNECTED) 0] ")

	_, err = tty.WriteString("ls /ap\t\r")
	require.NoError(t, err)
	expect("[config]") // "/ap" completed to "/app"

	_, err = tty.WriteString("get -w /app/con\t\r")
	require.NoError(t, err)
	expect("v1")
	expect("(CONNECTED) 2] ")

	_, err = s.SetData(ctx, "/app/config", []byte("v2"), -1)
	require.NoError(t, err)
	expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/app/config")

	_, err = tty.WriteString("\x1b[A\r") // up: the last command again
	require.NoError(t, err)
	expect("v2")

	_, err = tty.WriteString("quit\r")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "quit exits 0")
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the shell did not exit after quit; the terminal shows:\n%s", screen.String())
	}
	history, err := os.ReadFile(filepath.Join(dir, ".zkembed_history"))
	require.NoError(t, err)
	require.Contains(t, string(history), "get -w /app/config")
}

// screen collects what the terminal shows.
type screen struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
