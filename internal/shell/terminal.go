package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chzyer/readline"
)

// RunTerminal reads commands at a terminal until quit or end of input,
// with line editing, a history kept in ~/.zkembed_history, and tab
// completion of command names and znode paths (chzyer/readline). A
// notification that arrives while it waits for input is printed above
// the prompt. where names the store or server in the prompt, as zkCli's
// "[zk: localhost:2181(CONNECTED) 0]".
func (sh *Shell) RunTerminal(ctx context.Context, where string) error {
	cfg := &readline.Config{
		AutoComplete:    completer{sh: sh, ctx: ctx},
		InterruptPrompt: "^C",
		EOFPrompt:       "quit",
	}
	if home, err := os.UserHomeDir(); err == nil {
		cfg.HistoryFile = filepath.Join(home, ".zkembed_history")
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return err
	}
	defer rl.Close()
	sh.mu.Lock()
	sh.out, sh.err = rl.Stdout(), rl.Stderr() // they redraw the prompt
	sh.mu.Unlock()
	for !sh.quit {
		state := "CONNECTED"
		if !sh.c.Alive() {
			state = "CLOSED"
		}
		rl.SetPrompt(fmt.Sprintf("[zk: %s(%s) %d] ", where, state, sh.count))
		stop, done := make(chan struct{}), make(chan struct{})
		go sh.printWhileIdle(stop, done)
		line, err := rl.Readline()
		close(stop)
		<-done
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		sh.Exec(ctx, line)
	}
	return nil
}

// printWhileIdle prints notifications as they arrive until stop is
// closed. It is the only reader of the notifications meanwhile: Exec reads
// them itself, so a command's own notifications still come before its
// output.
func (sh *Shell) printWhileIdle(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	events := sh.c.Events()
	for {
		select {
		case <-stop:
			return
		case ev, ok := <-events:
			if !ok {
				// An overflowed stream ends; a live session gets a new
				// one. A session that ended has nothing more to say
				// (Exec says "Not connected").
				events = nil
				if r, ok := sh.c.(interface{ restart() }); ok && sh.c.Alive() {
					r.restart()
					events = sh.c.Events()
				}
				continue
			}
			sh.mu.Lock()
			sh.printEventLocked(ev)
			sh.mu.Unlock()
		}
	}
}

// completer completes the first word to a command name and any later
// word that starts with / to a znode path, listing the children of the
// path's parent.
type completer struct {
	sh  *Shell
	ctx context.Context
}

// Do implements readline.AutoCompleter.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	head := string(line[:pos])
	start := strings.LastIndexAny(head, " \t") + 1
	word := head[start:]
	var candidates []string
	switch {
	case strings.TrimSpace(head[:start]) == "":
		for _, name := range Commands() {
			if strings.HasPrefix(name, word) {
				candidates = append(candidates, name+" ")
			}
		}
	case strings.HasPrefix(word, "/"):
		candidates = c.paths(word)
	}
	out := make([][]rune, len(candidates))
	for i, cand := range candidates {
		out[i] = []rune(cand[len(word):])
	}
	return out, len([]rune(word))
}

// paths returns the znode paths that complete word: the children of its
// parent whose names start with its last element.
func (c completer) paths(word string) []string {
	i := strings.LastIndexByte(word, '/')
	parent, prefix := word[:i], word[i+1:]
	dir := parent
	if dir == "" {
		dir = "/"
	}
	c.sh.mu.Lock()
	kids, _, err := c.sh.c.Children(c.ctx, dir, false)
	c.sh.mu.Unlock()
	if err != nil {
		return nil
	}
	slices.Sort(kids)
	var out []string
	for _, k := range kids {
		if strings.HasPrefix(k, prefix) {
			out = append(out, parent+"/"+k)
		}
	}
	return out
}
