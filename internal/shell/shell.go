// Package shell is zkembed's zkCli: ZooKeeper 3.8's command-line client,
// its commands, flags, messages and output, over a Client that is either
// an embedded zkembed session or a go-zookeeper connection to a server.
//
// What zkCli prints to standard output (listings, data, Stat, watch
// events, "Not connected") goes to Out, and what it prints to standard
// error ("Created /path", error messages, usage lines, warnings) goes to
// Err, so that scripts written against zkCli read the same streams.
// Commands are read one per line (Run) or from a terminal with line
// editing (RunTerminal). A notification is printed when it arrives, and
// a notification caused by a command is printed before that command's
// output, because the Client holds it before the command's reply.
//
// Deliberate departures from zkCli 3.8: a bad number after -v or redo is
// an error message, not a crash; lines starting with # are comments; the
// connection-management commands (connect, close, config, reconfig) and
// quotas are not offered.
package shell

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/zkembed/zkembed/znode"
)

// Shell runs zkCli commands on one Client.
type Shell struct {
	c       Client
	out     io.Writer
	err     io.Writer
	version string

	// mu serialises printing between commands and the printer of
	// notifications that arrive while the terminal waits for input.
	mu sync.Mutex

	history      map[int]string
	count        int // commands read, the index of the next one
	noPrintWatch bool
	failed       bool
	quit         bool
	watches      map[string]watchSet
	dropped      int64
}

// New returns a shell on c that prints to out and errOut. version is what
// the version command reports after "ZooKeeper CLI version: ".
func New(c Client, out, errOut io.Writer, version string) *Shell {
	return &Shell{c: c, out: out, err: errOut, version: version, history: map[int]string{}, watches: map[string]watchSet{}}
}

// Failed reports whether any command failed (an error, a usage message,
// an unknown command, or no connection).
func (sh *Shell) Failed() bool { return sh.failed }

// Quit reports whether the quit command was given.
func (sh *Shell) Quit() bool { return sh.quit }

// Run executes each line of in until EOF or quit. Notifications that
// arrive between commands are printed before the next command runs.
func (sh *Shell) Run(ctx context.Context, in io.Reader) error {
	lines := newLineReader(in)
	for !sh.quit {
		line, err := lines.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		sh.Exec(ctx, line)
	}
	sh.mu.Lock()
	sh.printEventsLocked()
	sh.mu.Unlock()
	return nil
}

// Exec runs one command line and reports whether it succeeded.
func (sh *Shell) Exec(ctx context.Context, line string) bool {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return true
	}
	return sh.exec(ctx, tokenize(line), line)
}

// ExecArgs runs one command given as words (zkCli's trailing-arguments
// form: no quotes to strip) and reports whether it succeeded.
func (sh *Shell) ExecArgs(ctx context.Context, args []string) bool {
	return sh.exec(ctx, args, strings.Join(args, " "))
}

// exec runs args, recording line in the history (redo tokenizes it
// again, as zkCli does).
func (sh *Shell) exec(ctx context.Context, args []string, line string) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.printEventsLocked()
	sh.history[sh.count] = line
	var o output
	ok := sh.process(ctx, args, &o)
	sh.count++
	// The command's notifications are queued by now: print them first.
	sh.printEventsLocked()
	o.flush(sh.out, sh.err)
	if !ok {
		sh.failed = true
	}
	return ok
}

// output collects a command's writes to stdout and stderr, in order.
type output struct {
	parts []part
}

type part struct {
	stderr bool
	b      []byte
}

func (o *output) write(stderr bool, s string) {
	if n := len(o.parts); n > 0 && o.parts[n-1].stderr == stderr {
		o.parts[n-1].b = append(o.parts[n-1].b, s...)
		return
	}
	o.parts = append(o.parts, part{stderr, []byte(s)})
}

// Out prints a line to standard output.
func (o *output) Out(s string) { o.write(false, s+"\n") }

// Err prints a line to standard error.
func (o *output) Err(s string) { o.write(true, s+"\n") }

func (o *output) flush(out, errOut io.Writer) {
	for _, p := range o.parts {
		w := out
		if p.stderr {
			w = errOut
		}
		_, _ = w.Write(p.b)
	}
}

// printEventsLocked prints every notification queued now, without
// waiting. REQUIRES: sh.mu.
func (sh *Shell) printEventsLocked() {
	for {
		select {
		case ev, ok := <-sh.c.Events():
			if !ok {
				if r, ok := sh.c.(interface{ restart() }); ok && sh.c.Alive() {
					r.restart()
					continue
				}
				return
			}
			sh.printEventLocked(ev)
		default:
			sh.reportDropped()
			return
		}
	}
}

// printEventLocked prints one notification as zkCli's watcher does and
// forgets the one-shot watches it fired. REQUIRES: sh.mu.
func (sh *Shell) printEventLocked(ev znode.Event) {
	sh.fired(ev)
	if ev.Err != nil {
		// The stream overflowed; the next read starts a new one.
		_, _ = io.WriteString(sh.err, "watch events were lost: "+ev.Err.Error()+"\n")
		return
	}
	if sh.noPrintWatch {
		return
	}
	path := ev.Path
	if ev.Type == znode.EventNone && path == "" {
		path = "null"
	}
	_, _ = io.WriteString(sh.out, "\nWATCHER::\n\nWatchedEvent state:"+ev.State.String()+" type:"+ev.Type.String()+" path:"+path+"\n")
}

func (sh *Shell) reportDropped() {
	d, ok := sh.c.(interface{ Dropped() int64 })
	if !ok {
		return
	}
	if n := d.Dropped(); n > sh.dropped {
		fmt.Fprintf(sh.err, "watch events were lost: the shell fell %d behind\n", n-sh.dropped)
		sh.dropped = n
	}
}

// lineReader reads lines of any length up to 16 MiB (a znode's data fits).
type lineReader struct{ sc *bufio.Scanner }

func newLineReader(r io.Reader) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	return &lineReader{sc}
}

func (l *lineReader) next() (string, error) {
	if l.sc.Scan() {
		return l.sc.Text(), nil
	}
	if err := l.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}
