package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/zkembed/zkembed/inspect"
)

// runLog runs `zkembed log list|dump|verify|truncate`.
func runLog(args []string) error {
	sub, args, err := subcommand("log", args, "list, dump, verify, truncate")
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("log "+sub, flag.ExitOnError)
	dir := fs.String("data", defaultDataDir, "data directory")
	switch sub {
	case "list":
		fs.Parse(args)
		return inspect.LogList(os.Stdout, *dir)
	case "dump":
		var from, to inspect.ZxidFlag
		fs.Var(&from, "from", "first zxid to dump (decimal or 0x hex; default: the first)")
		fs.Var(&to, "to", "last zxid to dump (decimal or 0x hex; default: the last)")
		asJSON := fs.Bool("json", false, "one JSON object per record (see inspect.JSONRecord)")
		fs.Parse(args)
		return inspect.LogDump(os.Stdout, *dir, inspect.DumpOptions{From: from.Zxid, To: to.Zxid, JSON: *asJSON})
	case "verify":
		fs.Parse(args)
		return inspect.LogVerify(os.Stdout, *dir)
	case "truncate":
		var z inspect.ZxidFlag
		fs.Var(&z, "zxid", "the zxid to roll back to: every record after it is deleted (required)")
		yes := fs.Bool("yes", false, "really truncate; without it, only print what would be removed")
		fs.Parse(args)
		if !z.Given {
			return errors.New("log truncate: -zxid is required")
		}
		return inspect.LogTruncate(os.Stdout, *dir, z.Zxid, *yes)
	}
	return fmt.Errorf("log: unknown subcommand %q (subcommands: list, dump, verify, truncate)", sub)
}

// runSnapshot runs `zkembed snapshot list|dump|verify`.
func runSnapshot(args []string) error {
	sub, args, err := subcommand("snapshot", args, "list, dump, verify")
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("snapshot "+sub, flag.ExitOnError)
	dir := fs.String("data", defaultDataDir, "data directory")
	switch sub {
	case "list":
		fs.Parse(args)
		return inspect.SnapshotList(os.Stdout, *dir)
	case "dump":
		var z inspect.ZxidFlag
		fs.Var(&z, "zxid", "the snapshot at this zxid (default: the newest valid one)")
		asJSON := fs.Bool("json", false, "one JSON object per line (see inspect.JSONNode)")
		files := parseWithArgs(fs, args)
		if len(files) > 1 || len(files) == 1 && z.Given {
			return errors.New("snapshot dump: give one FILE, or -zxid, not both")
		}
		opts := inspect.SnapshotDumpOptions{Dir: *dir, Zxid: -1, JSON: *asJSON}
		if z.Given {
			opts.Zxid = z.Zxid
		}
		if len(files) == 1 {
			opts.File = files[0]
		}
		return inspect.SnapshotDump(os.Stdout, opts)
	case "verify":
		fs.Parse(args)
		return inspect.SnapshotVerify(os.Stdout, *dir)
	case "truncate":
		return errors.New("snapshot truncate: truncation is a log operation: the engine opens at the end of its log, whatever the snapshots; use zkembed log truncate -zxid Z, which also removes the snapshots newer than Z")
	}
	return fmt.Errorf("snapshot: unknown subcommand %q (subcommands: list, dump, verify)", sub)
}

// subcommand splits off the subcommand of cmd.
func subcommand(cmd string, args []string, subs string) (string, []string, error) {
	if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' {
		return "", nil, fmt.Errorf("%s: missing subcommand (%s)", cmd, subs)
	}
	return args[0], args[1:], nil
}

// parseWithArgs parses flags placed before or after positional arguments
// and returns the positional ones.
func parseWithArgs(fs *flag.FlagSet, args []string) []string {
	var pos []string
	for {
		fs.Parse(args)
		if fs.NArg() == 0 {
			return pos
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
