// Command zkembed is zkembed's command line: a zkCli-style shell on an
// embedded engine, and the benchmarks.
//
//	zkembed [shell] [-data dir]                 the shell (default data dir ./zkembed-data)
//	zkembed serve [-listen addr] [-data dir]    ZooKeeper's client protocol over TCP
//	zkembed bench [flags]                       benchmarks beside raw B-tree operations
//
// It only parses flags and wires packages together.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	args := os.Args[1:]
	cmd := "shell"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "shell":
		err = runShell(args)
	case "serve":
		err = runServe(args)
	case "bench":
		err = runBench(args)
	default:
		err = fmt.Errorf("unknown command %q (commands: shell, serve, bench)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkembed:", err)
		os.Exit(1)
	}
}
