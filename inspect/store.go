package inspect

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/internal/dirformat"
	"github.com/zkembed/zkembed/znode"
)

// The layout of a data directory, as zkembed.Open makes it.
const (
	logSubdir      = "txnlog"       // the pebble database of the log
	snapshotSubdir = "snapshots"    // snapshot files
	lockFile       = "zkembed.lock" // txnlog's flock, in the log directory
	// defaultCounterBits is the zxid layout of a directory made before
	// FORMAT files existed: ZooKeeper's, zkembed's default.
	defaultCounterBits = 32
)

// Options configure Open. Nil means the defaults: a shared, read-only
// inspection.
type Options struct {
	// Exclusive takes the engine's lock on the data directory exclusively,
	// as a running engine does, and creates its file if missing. Truncate
	// requires it. Default false: the lock is taken shared, which only
	// an engine's excludes, and never created. (Pebble's own LOCK, taken
	// even by a read-only open, excludes other inspections either way.)
	Exclusive bool
}

// Store is a data directory opened for inspection: its log, read through a
// read-only pebble database, and the names of its files. Nothing is written
// to the directory unless Truncate is called.
//
// A Store is meant for one goroutine.
type Store struct {
	dir       string
	layout    znode.Layout
	hasFormat bool // the FORMAT file says what layout is
	exclusive bool
	lock      io.Closer    // our flock, nil without a lock file
	plock     *pebble.Lock // pebble's LOCK
	db        *pebble.DB   // read-only
}

// Open opens the data directory dir for inspection. It fails with an error
// matching ErrNotStore if dir is missing or is not a zkembed data
// directory, and ErrLocked if a running engine has it open (or, with
// opts.Exclusive, if anyone has).
//
// The log is opened with pebble's ReadOnly option: pebble replays its
// write-ahead log into memory and never flushes, compacts, deletes or
// creates a file. The engine's own lock (a flock on txnlog/zkembed.lock) is
// taken shared, or exclusive with opts.Exclusive, before pebble's LOCK, as
// the engine takes it; a read-only open never creates the lock file.
func Open(dir string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	layout, hasFormat, err := checkStore(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, layout: layout, hasFormat: hasFormat, exclusive: opts.Exclusive}
	s.lock, err = lockDir(s.logDir(), opts.Exclusive)
	if err != nil {
		return nil, opError("open", dir, err)
	}
	if err := s.openLog(); err != nil {
		s.unlock()
		return nil, err
	}
	return s, nil
}

// openLog opens the log read-only.
func (s *Store) openLog() error {
	db, plock, err := openPebble(s.logDir(), true)
	if err != nil {
		return opError("open", s.dir, err)
	}
	s.db, s.plock = db, plock
	return nil
}

// closeLog closes the log database and releases pebble's LOCK.
func (s *Store) closeLog() error {
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	_ = s.plock.Close()
	s.db, s.plock = nil, nil
	return err
}

// openPebble opens the log database, read-only or for writing (Truncate).
// The caller holds our flock.
func openPebble(dir string, readOnly bool) (*pebble.DB, *pebble.Lock, error) {
	plock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		if isLockError(err) {
			return nil, nil, fmt.Errorf("%w: a running zkembed or another inspection holds pebble's LOCK in %s: %v", ErrLocked, dir, err)
		}
		return nil, nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	db, err := pebble.Open(dir, &pebble.Options{
		FS:                 vfs.Default,
		ReadOnly:           readOnly,
		FormatMajorVersion: pebble.FormatNewest, // as txnlog: never a downgrade
		Logger:             quietLogger{},
		Lock:               plock,
	})
	if err != nil {
		_ = plock.Close()
		if errors.Is(err, pebble.ErrDBDoesNotExist) {
			return nil, nil, fmt.Errorf("%w: %s holds no log database: %v", ErrNotStore, dir, err)
		}
		return nil, nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	return db, plock, nil
}

// hasPebbleManifest reports whether dir holds a pebble database's
// manifest.
func hasPebbleManifest(dir string) bool {
	names, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range names {
		if strings.HasPrefix(e.Name(), "MANIFEST-") {
			return true
		}
	}
	return false
}

// Close releases the log and the lock.
func (s *Store) Close() error {
	err := s.closeLog()
	s.unlock()
	if err != nil {
		return opError("close", s.dir, err)
	}
	return nil
}

func (s *Store) unlock() {
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Layout returns the zxid layout the data directory was created with (its
// FORMAT file; ZooKeeper's 32-bit counter if it has none).
func (s *Store) Layout() znode.Layout { return s.layout }

func (s *Store) logDir() string      { return filepath.Join(s.dir, logSubdir) }
func (s *Store) snapshotDir() string { return filepath.Join(s.dir, snapshotSubdir) }

// checkStore reports whether dir is a data directory and reads its layout.
func checkStore(dir string) (layout znode.Layout, hasFormat bool, err error) {
	fail := func(err error) (znode.Layout, bool, error) { return znode.Layout{}, false, opError("open", dir, err) }
	fi, err := os.Stat(dir)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNotStore, err))
	}
	if !fi.IsDir() {
		return fail(fmt.Errorf("%w: not a directory", ErrNotStore))
	}
	bits, hasFormat, err := readFormat(dir)
	if err != nil {
		return fail(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, logSubdir)); err != nil || !fi.IsDir() {
		return fail(fmt.Errorf("%w: no %s directory", ErrNotStore, logSubdir))
	}
	if !hasPebbleManifest(filepath.Join(dir, logSubdir)) {
		return fail(fmt.Errorf("%w: %s holds no log database", ErrNotStore, logSubdir))
	}
	return znode.Layout{CounterBits: uint(bits)}, hasFormat, nil
}

// readFormat reads the FORMAT file zkembed.Open writes (package
// dirformat): the zxid counter width. A directory without one predates it
// and has the default layout.
func readFormat(dir string) (bits int, ok bool, err error) {
	path := filepath.Join(dir, dirformat.File)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return defaultCounterBits, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", path, err)
	}
	if bits, err = dirformat.Parse(b); err != nil {
		return 0, false, fmt.Errorf("%w: %s is not a zkembed FORMAT file", ErrNotStore, path)
	}
	return bits, true, nil
}

// quietLogger drops pebble's routine messages (WAL replay) and sends its
// errors to the standard logger. Fatalf, which pebble calls for failed
// writes and invariant violations, exits as pebble's default logger does:
// an inspection has nothing to save.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	log.Printf("zkembed: storage: "+format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	log.Fatalf("zkembed: storage fatal: "+format, args...)
}
