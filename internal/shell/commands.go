package shell

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// command is one zkCli command: its usage line, its options (letter ->
// takes a value) and what it does. run is nil for the commands the shell
// itself handles (history, redo, printwatches, quit).
type command struct {
	usage string
	opts  optSpec
	run   func(ctx context.Context, sh *Shell, p *parsed, o *output) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"addWatch":             {"addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE", optSpec{'m': true}, runAddWatch},
		"addauth":              {"addauth scheme auth", nil, runAddAuth},
		"create":               {"create [-s] [-e] [-c] [-t ttl] path [data] [acl]", optSpec{'s': false, 'e': false, 'c': false, 't': true}, runCreate},
		"delete":               {"delete [-v version] path", optSpec{'v': true}, runDelete},
		"deleteall":            {"deleteall path [-b batch size]", optSpec{'b': true}, runDeleteAll},
		"get":                  {"get [-s] [-w] path", optSpec{'s': false, 'w': false}, runGet},
		"getAcl":               {"getAcl [-s] path", optSpec{'s': false}, runGetACL},
		"getAllChildrenNumber": {"getAllChildrenNumber path", nil, runGetAllChildrenNumber},
		"getEphemerals":        {"getEphemerals path", nil, runGetEphemerals},
		"history":              {"history ", nil, nil},
		"ls":                   {"ls [-s] [-w] [-R] path", optSpec{'s': false, 'w': false, 'R': false}, runLs},
		"printwatches":         {"printwatches on|off", nil, nil},
		"quit":                 {"quit ", nil, nil},
		"redo":                 {"redo cmdno", nil, nil},
		"removewatches":        {"removewatches path [-c|-d|-a] [-l]", optSpec{'c': false, 'd': false, 'a': false, 'l': false}, runRemoveWatches},
		"set":                  {"set [-s] [-v version] path data", optSpec{'s': false, 'v': true}, runSet},
		"setAcl":               {"setAcl [-s] [-v version] [-R] path acl", optSpec{'s': false, 'v': true, 'R': false}, runSetACL},
		"stat":                 {"stat [-w] path", optSpec{'w': false}, runStat},
		"sync":                 {"sync path", nil, runSync},
		"version":              {"version ", nil, runVersion},
		"whoami":               {"whoami ", nil, runWhoAmI},
	}
}

// Commands returns the names of the shell's commands, sorted (for
// completion).
func Commands() []string { return slices.Sorted(maps.Keys(commands)) }

// usage prints zkCli's help, every command's usage line, to standard
// error as zkCli does, or to standard output.
func usage(o *output, stderr bool) {
	o.write(stderr, "zkembed [-data dir | -server host:port] cmd args\n")
	for _, name := range Commands() {
		o.write(stderr, "\t"+commands[name].usage+"\n")
	}
}

// process runs one tokenized command and reports whether it succeeded.
func (sh *Shell) process(ctx context.Context, args []string, o *output) bool {
	if len(args) == 0 {
		// zkCli: a line of nothing but quotes names no command.
		usage(o, true)
		o.Err("Command not found: Command not found ")
		return false
	}
	name := args[0]
	if name == "help" {
		// Not a zkCli command (zkCli prints its usage for any unknown
		// word), but the one a newcomer types: the usage, and success.
		usage(o, false)
		return true
	}
	cmd, ok := commands[name]
	if !ok {
		usage(o, true)
		o.Err("Command not found: Command not found " + name)
		return false
	}
	switch name {
	case "quit":
		sh.quit = true
		return true
	case "history":
		for i := max(sh.count-10, 0); i <= sh.count; i++ {
			o.Out(strconv.Itoa(i) + " - " + sh.history[i])
		}
	case "printwatches":
		if len(args) == 1 {
			o.Out("printwatches is " + map[bool]string{false: "on", true: "off"}[sh.noPrintWatch])
		} else {
			sh.noPrintWatch = args[1] != "on"
		}
	case "redo":
		if len(args) < 2 {
			break
		}
		i, err := strconv.ParseInt(args[1], 0, 32)
		if err != nil || i < 0 || int(i) >= sh.count {
			o.Err("Command index out of range")
			return false
		}
		line := sh.history[int(i)]
		again := tokenize(line)
		if len(again) > 0 && again[0] == "redo" {
			o.Err("No redoing redos")
			return false
		}
		sh.history[sh.count] = line
		return sh.process(ctx, again, o)
	}
	if !sh.c.Alive() {
		o.Out("Not connected")
		return false
	}
	if cmd.run == nil {
		return true
	}
	p, err := parseOptions(args, cmd.opts)
	if err == nil {
		err = cmd.run(ctx, sh, p, o)
	}
	if errors.Is(err, errReported) {
		return false
	}
	if err != nil {
		o.Err(errorMessage(err))
		return false
	}
	return true
}

// errReported is a failure the command has already printed.
var errReported = errors.New("reported")

// usageError is the error of a command given too few arguments.
func usageError(name string) error { return &malformed{commands[name].usage} }

// pathArg returns the command's path argument, checked as the ZooKeeper
// client checks paths; its absence is a usage error.
func pathArg(p *parsed, name string) (string, error) {
	if len(p.args) < 2 {
		return "", usageError(name)
	}
	return p.args[1], checkPath(p.args[1], false)
}

// watchedPathArg is pathArg for the commands that take -w, and also
// zkCli's old form with the watch flag as a third argument.
func watchedPathArg(p *parsed, o *output, name string) (*parsed, string, error) {
	if len(p.args) < 2 {
		return nil, "", usageError(name)
	}
	p, err := deprecated(p, o, name)
	if err != nil {
		return nil, "", err
	}
	return p, p.args[1], checkPath(p.args[1], false)
}

// deprecated handles zkCli's old positional forms ("ls path watch",
// "get path watch", "stat path watch") as zkCli does: with a third
// positional argument, the third word of the command line becomes -w, and
// the line is parsed again (so "ls -s /a watch" lists the path "watch").
func deprecated(p *parsed, o *output, name string) (*parsed, error) {
	if len(p.args) <= 2 {
		return p, nil
	}
	now := map[string]string{"ls": "ls [-w] path", "get": "get [-s] [-w] path", "stat": "stat [-w] path"}[name]
	o.Err(fmt.Sprintf("'%s path [watch]' has been deprecated. Please use '%s' instead.", name, now))
	raw := slices.Clone(p.raw)
	raw[2] = "-w"
	return parseOptions(raw, commands[name].opts)
}

func runCreate(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) < 2 {
		return usageError("create")
	}
	e, s, c, t := p.has('e'), p.has('s'), p.has('c'), p.has('t')
	if c && (e || s) {
		return malformedf("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	var ttl int64
	if t {
		var err error
		if ttl, err = strconv.ParseInt(p.opts['t'], 10, 64); err != nil {
			return malformedf("-t argument must be a long value")
		}
		if e {
			return malformedf("TTLs cannot be used with Ephemeral znodes")
		}
		if c {
			return malformedf("TTLs cannot be used with Container znodes")
		}
	}
	mode := zkembed.ModePersistent
	switch {
	case e && s:
		mode = zkembed.ModeEphemeralSequential
	case e:
		mode = zkembed.ModeEphemeral
	case s && t:
		mode = zkembed.ModePersistentSequentialWithTTL
	case s:
		mode = zkembed.ModePersistentSequential
	case c:
		mode = zkembed.ModeContainer
	case t:
		mode = zkembed.ModePersistentWithTTL
	}
	if t && (ttl <= 0 || ttl > maxTTL) {
		return malformedf("ttl must be positive and cannot be larger than: %d", maxTTL)
	}
	path := p.args[1]
	var data []byte
	if len(p.args) > 2 {
		data = []byte(p.args[2])
	}
	list := zkembed.OpenACL()
	if len(p.args) > 3 {
		list = parseACL(p.args[3], o.Err)
	}
	if err := checkPath(path, s); err != nil {
		return err
	}
	if len(list) == 0 {
		// The ZooKeeper client refuses an empty ACL without asking the
		// server, and zkCli prints the exception twice, with no path.
		o.Err(keeperMessage(znode.ErrInvalidACL))
		return &znode.OpError{Op: "create", Err: znode.ErrInvalidACL}
	}
	created, err := sh.c.Create(ctx, path, data, mode, list, ttl)
	if err != nil {
		if errors.Is(err, znode.ErrInvalidACL) {
			o.Err(keeperMessage(err))
		}
		return err
	}
	o.Err("Created " + created)
	return nil
}

// maxTTL is the largest TTL ZooKeeper accepts (EphemeralType.TTL's 40
// bits of milliseconds).
const maxTTL = 1<<40 - 1

func runLs(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	p, path, err := watchedPathArg(p, o, "ls")
	if err != nil {
		return err
	}
	watch := p.has('w')
	if p.has('R') {
		return sh.visitDFS(ctx, path, watch, func(node string) error { o.Out(node); return nil })
	}
	kids, st, err := sh.c.Children(ctx, path, watch)
	if err != nil {
		return err
	}
	if watch {
		sh.set(path, watchChild)
	}
	slices.Sort(kids)
	o.Out("[" + strings.Join(kids, ", ") + "]")
	if p.has('s') {
		o.write(false, formatStat(st))
	}
	return nil
}

// visitDFS is ZooKeeper's ZKUtil.visitSubTreeDFS: fn for path (after a
// getData, which fails for a missing node), then, for each node, fn for
// each of its children in sorted order before descending into them. A
// node deleted while being visited is skipped.
func (sh *Shell) visitDFS(ctx context.Context, path string, watch bool, fn func(string) error) error {
	if _, _, err := sh.c.Get(ctx, path, watch); err != nil {
		return err
	}
	if watch {
		sh.set(path, watchData)
	}
	if err := fn(path); err != nil {
		return err
	}
	var visit func(string) error
	visit = func(node string) error {
		kids, _, err := sh.c.Children(ctx, node, watch)
		if errors.Is(err, znode.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		if watch {
			sh.set(node, watchChild)
		}
		slices.Sort(kids)
		for _, k := range kids {
			if err := fn(znode.Join(node, k)); err != nil {
				return err
			}
		}
		for _, k := range kids {
			if err := visit(znode.Join(node, k)); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(path)
}

func runGet(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	p, path, err := watchedPathArg(p, o, "get")
	if err != nil {
		return err
	}
	watch := p.has('w')
	data, st, err := sh.c.Get(ctx, path, watch)
	if err != nil {
		return err
	}
	if watch {
		sh.set(path, watchData)
	}
	if data == nil {
		o.Out("null")
	} else {
		o.Out(acl.JavaString(data))
	}
	if p.has('s') {
		o.write(false, formatStat(st))
	}
	return nil
}

// intOpt parses an int option as Java's Integer.parseInt would (zkCli
// crashes on a bad one; the shell says so instead).
func intOpt(p *parsed, opt byte, def int32) (int32, error) {
	v, ok := p.opts[opt]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, malformedf("-%c argument must be an int value: %q", opt, v)
	}
	return int32(n), nil
}

func runSet(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) < 3 {
		return usageError("set")
	}
	version, err := intOpt(p, 'v', -1)
	if err != nil {
		return err
	}
	path := p.args[1]
	if err := checkPath(path, false); err != nil {
		return err
	}
	st, err := sh.c.Set(ctx, path, []byte(p.args[2]), version)
	if err != nil {
		return err
	}
	if p.has('s') {
		o.write(false, formatStat(st))
	}
	return nil
}

func runStat(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	p, path, err := watchedPathArg(p, o, "stat")
	if err != nil {
		return err
	}
	watch := p.has('w')
	ok, st, err := sh.c.Exists(ctx, path, watch)
	if err != nil {
		return err
	}
	if watch {
		sh.set(path, watchExist) // on a missing node too
	}
	if !ok {
		return &znode.OpError{Op: "exists", Path: path, Err: znode.ErrNoNode}
	}
	o.write(false, formatStat(st))
	return nil
}

func runDelete(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) < 2 {
		return usageError("delete")
	}
	if len(p.args) > 2 {
		// zkCli warns, and then deletes at any version.
		o.Err("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.")
	}
	version, err := intOpt(p, 'v', -1)
	if err != nil {
		return err
	}
	path := p.args[1]
	if err := checkPath(path, false); err != nil {
		return err
	}
	return sh.c.Delete(ctx, path, version)
}

func runDeleteAll(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) < 2 {
		return usageError("deleteall")
	}
	batch := 1000
	if v, ok := p.opts['b']; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return malformedf("-b argument must be an int value")
		}
		batch = int(n)
	}
	path := p.args[1]
	if err := checkPath(path, false); err != nil {
		return err
	}
	// ZKUtil.deleteRecursive: list the subtree breadth first, then delete
	// it leaves first, batch by batch, each batch one multi, stopping at
	// the first that fails. A batch size of 0 or less makes one batch.
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		kids, _, err := sh.c.Children(ctx, tree[i], false)
		if err != nil {
			return err
		}
		for _, k := range kids {
			tree = append(tree, znode.Join(tree[i], k))
		}
	}
	slices.Reverse(tree)
	if batch <= 0 {
		batch = len(tree)
	}
	for len(tree) > 0 {
		n := min(batch, len(tree))
		if err := sh.c.DeleteMulti(ctx, tree[:n]); err != nil {
			o.Err("Failed to delete some node(s) in the subtree!")
			return nil
		}
		tree = tree[n:]
	}
	return nil
}

func runGetACL(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	path, err := pathArg(p, "getAcl")
	if err != nil {
		return err
	}
	list, st, err := sh.c.GetACL(ctx, path)
	if err != nil {
		return err
	}
	for _, a := range list {
		o.Out("'" + a.ID.Scheme + ",'" + a.ID.ID + "\n: " + a.Perms.Letters())
	}
	if p.has('s') {
		o.write(false, formatStat(st))
	}
	return nil
}

func runSetACL(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) < 3 {
		return usageError("setAcl")
	}
	path := p.args[1]
	list := parseACL(p.args[2], o.Err)
	version, err := intOpt(p, 'v', -1)
	if err != nil {
		return err
	}
	if err := checkPath(path, false); err != nil {
		return err
	}
	set := func(node string) (znode.Stat, error) {
		if len(list) == 0 {
			return znode.Stat{}, &znode.OpError{Op: "setACL", Err: znode.ErrInvalidACL}
		}
		return sh.c.SetACL(ctx, node, list, version)
	}
	if p.has('R') {
		// zkCli prints each node's failure on stdout, with no newline.
		return sh.visitDFS(ctx, path, false, func(node string) error {
			if _, err := set(node); err != nil {
				o.write(false, keeperMessage(err))
			}
			return nil
		})
	}
	st, err := set(path)
	if err != nil {
		return err
	}
	if p.has('s') {
		o.write(false, formatStat(st))
	}
	return nil
}

func runAddAuth(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) < 2 {
		return usageError("addauth")
	}
	var auth []byte
	if len(p.args) > 2 {
		auth = []byte(p.args[2])
	}
	// A failed authentication is reported as ZooKeeper reports it: an
	// AuthFailed notification, and a session that serves nothing more.
	if err := sh.c.AddAuth(ctx, p.args[1], auth); err != nil && !errors.Is(err, znode.ErrAuthFailed) {
		return err
	}
	return nil
}

func runSync(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	path, err := pathArg(p, "sync")
	if err != nil {
		return err
	}
	if err := sh.c.Sync(ctx, path); err != nil {
		// zkCli reports the result code on standard output.
		o.Out(fmt.Sprintf("Sync has failed. rc=%d", znode.CodeOf(err)))
		return errReported
	}
	o.Out("Sync is OK")
	return nil
}

func runGetEphemerals(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	prefix := "/"
	if len(p.args) > 1 {
		prefix = p.args[1]
		if err := checkPath(prefix, false); err != nil {
			return err
		}
	}
	paths, err := sh.c.Ephemerals(ctx, prefix)
	if err != nil {
		return err
	}
	o.Out("[" + strings.Join(paths, ", ") + "]")
	return nil
}

func runGetAllChildrenNumber(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	path, err := pathArg(p, "getAllChildrenNumber")
	if err != nil {
		return err
	}
	n, err := sh.c.AllChildrenNumber(ctx, path)
	if err != nil {
		return err
	}
	o.Out(strconv.Itoa(n))
	return nil
}

func runWhoAmI(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	ids, err := sh.c.WhoAmI(ctx)
	if err != nil {
		return err
	}
	o.Out("Auth scheme: User")
	for _, id := range ids {
		o.Out(id.Scheme + ": " + id.User)
	}
	return nil
}

func runVersion(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	o.Out("ZooKeeper CLI version: " + sh.version)
	return nil
}

func runAddWatch(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) != 2 {
		return usageError("addWatch")
	}
	recursive := true
	if m, ok := p.opts['m']; ok {
		switch strings.ToUpper(m) {
		case "PERSISTENT":
			recursive = false
		case "PERSISTENT_RECURSIVE":
		default:
			return usageError("addWatch")
		}
	}
	path := p.args[1]
	if err := checkPath(path, false); err != nil {
		return err
	}
	if err := sh.c.AddWatch(ctx, path, recursive); err != nil {
		return err
	}
	if recursive {
		sh.set(path, watchRecursive)
	} else {
		sh.set(path, watchPersistent)
	}
	return nil
}

func runRemoveWatches(ctx context.Context, sh *Shell, p *parsed, o *output) error {
	if len(p.args) < 2 {
		return usageError("removewatches")
	}
	kind := zkembed.WatcherTypeAny
	switch {
	case p.has('c'):
		kind = zkembed.WatcherTypeChildren
	case p.has('d'):
		kind = zkembed.WatcherTypeData
	}
	path := p.args[1]
	if err := checkPath(path, false); err != nil {
		return err
	}
	// The ZooKeeper client looks in its own table first: with no watch of
	// the kind there, it answers NoWatcher. Otherwise it asks the server;
	// with -l (local) the watches are forgotten even if the server cannot
	// be reached.
	drop, events := sh.removal(path, kind)
	if drop == 0 {
		return &znode.OpError{Op: "removeWatches", Path: path, Err: znode.ErrNoWatcher}
	}
	if err := sh.c.RemoveWatches(ctx, path, kind); err != nil && !(p.has('l') && errors.Is(err, znode.ErrConnectionLoss)) {
		return err
	}
	sh.forget(path, drop)
	for _, t := range events {
		sh.printEventLocked(znode.Event{Type: t, State: znode.StateSyncConnected, Path: path})
	}
	return nil
}
