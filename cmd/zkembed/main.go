// Command zkembed is zkembed's command line: a zkCli-compatible shell on
// the embedded store or a ZooKeeper server, the server itself, the
// benchmarks, and tools to inspect a data directory.
//
//	zkembed [-data dir | -server host:port] [cmd args]  the shell; with cmd, just that command
//	zkembed serve [-listen addr] [-data dir]            ZooKeeper's client protocol over TCP
//	zkembed bench [flags]                               benchmarks, beside their peers
//	zkembed log list|dump|verify|truncate               the transaction log (see package inspect)
//	zkembed snapshot list|dump|verify                   snapshot files (see package inspect)
//
// Any first word other than these subcommands is a shell command, as
// zkCli takes one ("zkembed ls /"). The shell's data directory defaults
// to ./zkembed-data, created if absent.
//
// It only parses flags and wires packages together.
package main

import (
	"errors"
	"fmt"
	"os"
)

// defaultDataDir is the embedded default store: the shell's, and what
// the inspection commands look at unless told otherwise.
const defaultDataDir = "./zkembed-data"

func main() {
	args := os.Args[1:]
	cmd := "shell"
	if len(args) > 0 {
		switch args[0] {
		case "shell", "serve", "bench", "log", "snapshot":
			cmd, args = args[0], args[1:]
		}
	}
	var err error
	switch cmd {
	case "shell":
		err = runShell(args)
	case "serve":
		err = runServe(args)
	case "bench":
		err = runBench(args)
	case "log":
		err = runLog(args)
	case "snapshot":
		err = runSnapshot(args)
	}
	if errors.Is(err, errFailed) {
		os.Exit(1) // the shell has said why
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkembed:", err)
		os.Exit(1)
	}
}
