package inspect

import (
	"fmt"

	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/znode"
)

// Errors of package inspect. Every error it returns is an *Error whose Err
// matches one of these (or an error of the filesystem) with errors.Is.
var (
	// ErrNotStore: the directory does not exist, or holds no zkembed data
	// directory (no txnlog database, or a FORMAT file of another kind).
	ErrNotStore error = &sentinel{msg: "not a zkembed data directory"}
	// ErrLocked: a running engine, or another inspection, has the data
	// directory open. It also matches txnlog.ErrLocked.
	ErrLocked error = &sentinel{msg: "data directory is in use", cause: txnlog.ErrLocked}
	// ErrBadZxid: a zxid argument that is not a decimal or 0x-hex number
	// from 0 to 2^63-1. It also matches znode.ErrBadArguments.
	ErrBadZxid error = &sentinel{msg: "bad zxid", cause: znode.ErrBadArguments}
	// ErrCorrupt: verification found damaged or inconsistent data (a
	// record or snapshot that does not decode, a zxid gap, a digest that
	// replay does not reproduce). It also matches
	// znode.ErrDataInconsistency; the error it is found in usually also
	// matches txn.ErrCorrupt or snapshot.ErrCorrupt.
	ErrCorrupt error = &sentinel{msg: "corrupt", cause: znode.ErrDataInconsistency}
	// ErrRefused: a truncation that would leave a store that does not open
	// at the requested zxid (no snapshot and log to rebuild it from, or a
	// zxid the store never had) is refused, and nothing is changed. It
	// also matches znode.ErrBadArguments.
	ErrRefused error = &sentinel{msg: "truncation refused", cause: znode.ErrBadArguments}
)

// sentinel is an error value with a short message and, behind it, the
// more general error it is a case of.
type sentinel struct {
	msg   string
	cause error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.cause }

// Error is the error of an inspection: what was being done, to which
// directory or file, at which zxid if one is concerned, and why.
type Error struct {
	Op      string     // "open", "verify log", "truncate", ...
	Path    string     // the data directory, log directory or snapshot file
	Zxid    znode.Zxid // the record or snapshot concerned, if HasZxid
	HasZxid bool
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	s := "inspect: " + e.Op + " " + e.Path
	if e.HasZxid {
		s += " at zxid " + e.Zxid.String()
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func opError(op, path string, err error) error { return &Error{Op: op, Path: path, Err: err} }

func zxidError(op, path string, z znode.Zxid, err error) error {
	return &Error{Op: op, Path: path, Zxid: z, HasZxid: true, Err: err}
}

// corruptf returns an error matching ErrCorrupt and, if cause is not nil,
// cause.
func corruptf(cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, msg, cause)
	}
	return fmt.Errorf("%w: %s", ErrCorrupt, msg)
}
