package shell

import (
	"fmt"
	"regexp"
	"strings"
)

// argsPattern and the quote stripping below are zkCli's tokenizer
// (ZooKeeperMain.MyCommandOptions): a token is a run of non-blank
// characters not starting with a quote, or a quoted string whose quotes
// are dropped. An unmatched quote is skipped over, as Java's find does.
var argsPattern = regexp.MustCompile(`\s*([^"']\S*|"[^"]*"|'[^']*')\s*`)

// tokenize splits a command line as zkCli does.
func tokenize(line string) []string {
	var args []string
	for _, m := range argsPattern.FindAllStringSubmatch(line, -1) {
		v := m[1]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		args = append(args, v)
	}
	return args
}

// optSpec names a command's options: each letter, and whether it takes a
// value.
type optSpec map[byte]bool

// parsed is a command line after option parsing.
type parsed struct {
	opts map[byte]string // option letter -> value ("" for a flag)
	args []string        // the command name, then the positional arguments
	raw  []string        // the words as given
}

func (p *parsed) has(o byte) bool { _, ok := p.opts[o]; return ok }

// parseError is an option error, worded as the commons-cli exception that
// zkCli prints for it.
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

// parseOptions parses args[1:] as commons-cli 1.5's DefaultParser does for
// zkCli 3.8: options may come before, between or after the positional
// arguments; "-abc" bursts into -a -b -c, and an option taking a value
// takes the rest of its word (less a leading '=') or else the next word,
// unless that word starts with one of the command's options or is "--"
// (so "-v -1" gives -1); "--" ends the options; "-" alone is an argument; any other
// word starting with '-' must be the command's options, or the whole word
// is unrecognized.
func parseOptions(args []string, spec optSpec) (*parsed, error) {
	p := &parsed{opts: map[byte]string{}, args: []string{args[0]}, raw: args}
	// isOption is commons-cli's test of whether a word can be an option
	// rather than an option's value: its first letter is an option.
	isOption := func(tok string) bool {
		if tok == "--" {
			return true
		}
		if len(tok) < 2 || tok[0] != '-' {
			return false
		}
		_, known := spec[tok[1]]
		return known
	}
	for i := 1; i < len(args); i++ {
		tok := args[i]
		switch {
		case tok == "--":
			p.args = append(p.args, args[i+1:]...)
			return p, nil
		case len(tok) < 2 || tok[0] != '-':
			p.args = append(p.args, tok)
			continue
		}
		for j := 1; j < len(tok); j++ {
			o := tok[j]
			takesValue, known := spec[o]
			if !known {
				return nil, &parseError{"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: " + tok}
			}
			if !takesValue {
				p.opts[o] = ""
				continue
			}
			switch {
			case j+1 < len(tok):
				p.opts[o] = strings.TrimPrefix(tok[j+1:], "=")
			case i+1 < len(args) && !isOption(args[i+1]):
				i++
				p.opts[o] = args[i]
			default:
				return nil, &parseError{fmt.Sprintf("org.apache.commons.cli.MissingArgumentException: Missing argument for option: %c", o)}
			}
			break
		}
	}
	return p, nil
}
