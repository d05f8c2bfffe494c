// Package shell is zkembed's interactive shell: zkCli's commands and output
// formats over a zkembed session. It reads one command per line, so it works
// at a terminal and from a pipe alike.
package shell

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// Shell runs commands on one session.
type Shell struct {
	S      *zkembed.Session
	Out    io.Writer
	Prompt string // printed before each command when not empty
}

// Run reads commands from in until EOF or quit.
func (sh *Shell) Run(ctx context.Context, in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 2*1024*1024)
	for {
		if sh.Prompt != "" {
			fmt.Fprint(sh.Out, sh.Prompt)
		}
		if !sc.Scan() {
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "quit" || line == "exit" {
			return nil
		}
		sh.Exec(ctx, line)
	}
}

// Exec runs one command line and prints its result or error as zkCli does.
func (sh *Shell) Exec(ctx context.Context, line string) {
	args := strings.Fields(line)
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(sh.Out, "Command not found: %s\n", args[0])
		sh.help()
		return
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := cmd.setup(fs)
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() < cmd.min || fs.NArg() > cmd.max {
		fmt.Fprintf(sh.Out, "%s %s\n", args[0], cmd.usage)
		return
	}
	if err := run(ctx, sh, fs.Args()); err != nil {
		sh.printErr(err)
	}
}

type command struct {
	usage    string
	min, max int
	setup    func(fs *flag.FlagSet) func(ctx context.Context, sh *Shell, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"create": {"[-s] [-e] [-c] [-t ttl] path [data]", 1, 2, setupCreate},
		"ls":     {"[-s] [-R] path", 1, 1, setupLs},
		"get":    {"[-s] path", 1, 1, setupGet},
		"set":    {"[-s] [-v version] path data", 2, 2, setupSet},
		"stat":   {"path", 1, 1, func(*flag.FlagSet) func(context.Context, *Shell, []string) error { return runStat }},
		"delete": {"[-v version] path", 1, 1, setupDelete},
		"deleteall": {"path", 1, 1, func(*flag.FlagSet) func(context.Context, *Shell, []string) error {
			return func(ctx context.Context, sh *Shell, a []string) error { return sh.S.DeleteAll(ctx, a[0]) }
		}},
		"getAcl": {"path", 1, 1, func(*flag.FlagSet) func(context.Context, *Shell, []string) error { return runGetACL }},
		"setAcl": {"[-v version] path acl", 2, 2, setupSetACL},
		"sync": {"path", 1, 1, func(*flag.FlagSet) func(context.Context, *Shell, []string) error {
			return func(ctx context.Context, sh *Shell, a []string) error {
				_, err := sh.S.Sync(ctx, a[0])
				if err == nil {
					fmt.Fprintln(sh.Out, "Sync is OK")
				}
				return err
			}
		}},
		"getEphemerals": {"path", 0, 1, func(*flag.FlagSet) func(context.Context, *Shell, []string) error { return runGetEphemerals }},
		"getAllChildrenNumber": {"path", 1, 1, func(*flag.FlagSet) func(context.Context, *Shell, []string) error {
			return func(ctx context.Context, sh *Shell, a []string) error {
				n, err := sh.S.GetAllChildrenNumber(ctx, a[0])
				if err == nil {
					fmt.Fprintln(sh.Out, n)
				}
				return err
			}
		}},
		"help": {"", 0, 0, func(*flag.FlagSet) func(context.Context, *Shell, []string) error {
			return func(_ context.Context, sh *Shell, _ []string) error { sh.help(); return nil }
		}},
	}
}

func (sh *Shell) help() {
	fmt.Fprintln(sh.Out, "ZooKeeper -server host:port -client-configuration properties-file cmd args")
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(sh.Out, "\t%s %s\n", name, commands[name].usage)
	}
}

func setupCreate(fs *flag.FlagSet) func(context.Context, *Shell, []string) error {
	seq := fs.Bool("s", false, "sequential")
	eph := fs.Bool("e", false, "ephemeral")
	container := fs.Bool("c", false, "container")
	ttl := fs.Int64("t", 0, "ttl in ms")
	return func(ctx context.Context, sh *Shell, a []string) error {
		var data []byte
		if len(a) > 1 {
			data = []byte(a[1])
		}
		mode := zkembed.ModePersistent
		switch {
		case *container && (*seq || *eph || *ttl != 0):
			fmt.Fprintln(sh.Out, "-c cannot be combined with other create modes")
			return nil
		case *ttl != 0 && *eph:
			fmt.Fprintln(sh.Out, "TTLs cannot be used with Ephemeral znodes")
			return nil
		case *container:
			mode = zkembed.ModeContainer
		case *eph && *seq:
			mode = zkembed.ModeEphemeralSequential
		case *eph:
			mode = zkembed.ModeEphemeral
		case *seq && *ttl != 0:
			mode = zkembed.ModePersistentSequentialWithTTL
		case *seq:
			mode = zkembed.ModePersistentSequential
		case *ttl != 0:
			mode = zkembed.ModePersistentWithTTL
		}
		var p string
		var err error
		if mode.IsTTL() {
			p, _, err = sh.S.CreateTTL(ctx, a[0], data, mode, zkembed.OpenACL(), time.Duration(*ttl)*time.Millisecond)
		} else {
			p, err = sh.S.Create(ctx, a[0], data, mode, zkembed.OpenACL())
		}
		if err == nil {
			fmt.Fprintf(sh.Out, "Created %s\n", p)
		}
		return err
	}
}

func setupLs(fs *flag.FlagSet) func(context.Context, *Shell, []string) error {
	withStat := fs.Bool("s", false, "stat")
	recursive := fs.Bool("R", false, "recursive")
	return func(ctx context.Context, sh *Shell, a []string) error {
		if *recursive {
			return sh.lsR(ctx, a[0])
		}
		kids, st, err := sh.S.GetChildren(ctx, a[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(sh.Out, "[%s]\n", strings.Join(kids, ", "))
		if *withStat {
			sh.printStat(st)
		}
		return nil
	}
}

func (sh *Shell) lsR(ctx context.Context, path string) error {
	queue := []string{path}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		fmt.Fprintln(sh.Out, p)
		kids, _, err := sh.S.GetChildren(ctx, p)
		if err != nil {
			return err
		}
		for _, k := range kids {
			queue = append(queue, znode.Join(p, k))
		}
	}
	return nil
}

func setupGet(fs *flag.FlagSet) func(context.Context, *Shell, []string) error {
	withStat := fs.Bool("s", false, "stat")
	return func(ctx context.Context, sh *Shell, a []string) error {
		data, st, err := sh.S.GetData(ctx, a[0])
		if err != nil {
			return err
		}
		if data == nil {
			fmt.Fprintln(sh.Out, "null")
		} else {
			fmt.Fprintln(sh.Out, string(data))
		}
		if *withStat {
			sh.printStat(st)
		}
		return nil
	}
}

func setupSet(fs *flag.FlagSet) func(context.Context, *Shell, []string) error {
	withStat := fs.Bool("s", false, "stat")
	version := fs.Int("v", -1, "version")
	return func(ctx context.Context, sh *Shell, a []string) error {
		st, err := sh.S.SetData(ctx, a[0], []byte(a[1]), int32(*version))
		if err == nil && *withStat {
			sh.printStat(st)
		}
		return err
	}
}

func runStat(ctx context.Context, sh *Shell, a []string) error {
	ok, st, err := sh.S.Exists(ctx, a[0])
	if err != nil {
		return err
	}
	if !ok {
		return &zkembed.OpError{Op: "stat", Path: a[0], Err: zkembed.ErrNoNode}
	}
	sh.printStat(st)
	return nil
}

func setupDelete(fs *flag.FlagSet) func(context.Context, *Shell, []string) error {
	version := fs.Int("v", -1, "version")
	return func(ctx context.Context, sh *Shell, a []string) error {
		return sh.S.Delete(ctx, a[0], int32(*version))
	}
}

func runGetACL(ctx context.Context, sh *Shell, a []string) error {
	list, _, err := sh.S.GetACL(ctx, a[0])
	for _, e := range list {
		fmt.Fprintf(sh.Out, "'%s,'%s\n: %s\n", e.Scheme, e.ID.ID, permString(e.Perms))
	}
	return err
}

func setupSetACL(fs *flag.FlagSet) func(context.Context, *Shell, []string) error {
	version := fs.Int("v", -1, "version")
	return func(ctx context.Context, sh *Shell, a []string) error {
		list, err := parseACL(a[1])
		if err != nil {
			fmt.Fprintln(sh.Out, err)
			return nil
		}
		_, err = sh.S.SetACL(ctx, a[0], list, int32(*version))
		return err
	}
}

func runGetEphemerals(ctx context.Context, sh *Shell, a []string) error {
	prefix := "/"
	if len(a) > 0 {
		prefix = a[0]
	}
	paths, err := sh.S.GetEphemerals(ctx, prefix)
	if err == nil {
		fmt.Fprintf(sh.Out, "[%s]\n", strings.Join(paths, ", "))
	}
	return err
}

// parseACL parses zkCli's ACL syntax: scheme:id:perms[,scheme:id:perms...],
// where perms are letters from "crwda" and the id may contain colons.
func parseACL(s string) ([]zkembed.ACL, error) {
	var list []zkembed.ACL
	for _, part := range strings.Split(s, ",") {
		first := strings.IndexByte(part, ':')
		last := strings.LastIndexByte(part, ':')
		if first < 0 || first == last {
			return nil, fmt.Errorf("%s does not have the form scheme:id:perm", part)
		}
		perms, err := parsePerms(part[last+1:])
		if err != nil {
			return nil, err
		}
		list = append(list, zkembed.ACL{Perms: perms, ID: zkembed.ID{Scheme: part[:first], ID: part[first+1 : last]}})
	}
	return list, nil
}

func parsePerms(s string) (zkembed.Perm, error) {
	var p zkembed.Perm
	for _, c := range s {
		switch c {
		case 'r':
			p |= zkembed.PermRead
		case 'w':
			p |= zkembed.PermWrite
		case 'c':
			p |= zkembed.PermCreate
		case 'd':
			p |= zkembed.PermDelete
		case 'a':
			p |= zkembed.PermAdmin
		default:
			return 0, fmt.Errorf("unknown perm type: %c", c)
		}
	}
	return p, nil
}

func permString(p zkembed.Perm) string {
	var b strings.Builder
	for _, x := range []struct {
		bit zkembed.Perm
		c   byte
	}{{zkembed.PermCreate, 'c'}, {zkembed.PermDelete, 'd'}, {zkembed.PermRead, 'r'}, {zkembed.PermWrite, 'w'}, {zkembed.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// printStat prints a Stat in zkCli's format.
func (sh *Shell) printStat(st zkembed.Stat) {
	date := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("Mon Jan 02 15:04:05 MST 2006") }
	fmt.Fprintf(sh.Out, "cZxid = %v\nctime = %s\nmZxid = %v\nmtime = %s\npZxid = %v\ncversion = %d\ndataVersion = %d\naclVersion = %d\nephemeralOwner = 0x%x\ndataLength = %d\nnumChildren = %d\n",
		st.Czxid, date(st.Ctime), st.Mzxid, date(st.Mtime), st.Pzxid, st.Cversion, st.Version, st.Aversion, uint64(st.EphemeralOwner), st.DataLength, st.NumChildren)
}

// printErr prints an operation's error as zkCli words it.
func (sh *Shell) printErr(err error) {
	var opErr *zkembed.OpError
	path := ""
	if errors.As(err, &opErr) {
		path = opErr.Path
	}
	switch {
	case errors.Is(err, zkembed.ErrNoNode):
		fmt.Fprintf(sh.Out, "Node does not exist: %s\n", path)
	case errors.Is(err, zkembed.ErrNodeExists):
		fmt.Fprintf(sh.Out, "Node already exists: %s\n", path)
	case errors.Is(err, zkembed.ErrNotEmpty):
		fmt.Fprintf(sh.Out, "Node not empty: %s\n", path)
	case errors.Is(err, zkembed.ErrBadVersion):
		fmt.Fprintf(sh.Out, "version No is not valid : %s\n", path)
	case errors.Is(err, zkembed.ErrNoAuth):
		fmt.Fprintf(sh.Out, "Insufficient permission : %s\n", path)
	case errors.Is(err, zkembed.ErrNoChildrenForEphemerals):
		fmt.Fprintf(sh.Out, "Ephemerals cannot have children: %s\n", path)
	default:
		fmt.Fprintf(sh.Out, "%v (code %s)\n", err, strconv.Itoa(int(znode.CodeOf(err))))
	}
}
