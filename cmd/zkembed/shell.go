package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/chzyer/readline"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/internal/shell"
	"github.com/zkembed/zkembed/txnlog"
)

// errFailed makes main exit with status 1 without printing more: the
// shell has printed why.
var errFailed = errors.New("a command failed")

// runShell is zkCli: an interactive shell at a terminal, the commands of
// standard input otherwise, or the one command given as arguments.
//
//	zkembed [-data DIR | -server HOST:PORT] [-timeout D] [command args...]
func runShell(args []string) error {
	fs := flag.NewFlagSet("zkembed", flag.ContinueOnError)
	dir := fs.String("data", defaultDataDir, "data directory of the embedded store (created if absent)")
	server := fs.String("server", "", "HOST:PORT of a ZooKeeper server (or zkembed serve) to use instead of the embedded store")
	timeout := fs.Duration("timeout", 30*time.Second, "session timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	c, where, closeStore, err := openClient(ctx, *dir, *server, *timeout)
	if err != nil {
		return err
	}
	defer closeStore()
	defer c.Close()
	sh := shell.New(c, os.Stdout, os.Stderr, version())
	switch {
	case fs.NArg() > 0:
		sh.ExecArgs(ctx, fs.Args())
	case readline.IsTerminal(int(os.Stdin.Fd())):
		fmt.Printf("Welcome to zkembed! (%s)\n", where)
		if err := sh.RunTerminal(ctx, where); err != nil {
			return err
		}
	default:
		if err := sh.Run(ctx, os.Stdin); err != nil {
			return err
		}
	}
	if sh.Failed() {
		return errFailed
	}
	return nil
}

// openClient opens the session the shell drives: on server through
// go-zookeeper, or on the embedded store in dir. closeStore closes the
// store after the session.
func openClient(ctx context.Context, dir, server string, timeout time.Duration) (c shell.Client, where string, closeStore func(), err error) {
	if server != "" {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := shell.Dial(dctx, server, timeout)
		if err != nil {
			return nil, "", nil, err
		}
		return c, server, func() {}, nil
	}
	// ExtendedTypes: TTL nodes work, as on a server with
	// zookeeper.extendedTypesEnabled.
	db, err := zkembed.Open(dir, &zkembed.Options{ExtendedTypes: true})
	if err != nil {
		if errors.Is(err, txnlog.ErrLocked) {
			err = fmt.Errorf("%w (another process uses %s; if it is zkembed serve, use -server)", err, dir)
		}
		return nil, "", nil, err
	}
	s, err := db.NewSession(ctx, &zkembed.SessionOptions{Timeout: timeout, Addr: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		db.Close()
		return nil, "", nil, err
	}
	return shell.Embedded(s), dir, func() { db.Close() }, nil
}

// version is what the shell's version command prints.
func version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "zkembed " + strings.TrimSpace(v) + ", ZooKeeper 3.8 client protocol and semantics"
}
