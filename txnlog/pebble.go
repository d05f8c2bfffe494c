package txnlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/wal"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// Errors of the pebble backend. Match them with errors.Is.
var (
	// ErrClosed is returned by every method of a closed Pebble.
	ErrClosed = fmt.Errorf("txnlog: log is closed: %w", znode.ErrSystemError)
	// ErrFailed is matched by every error caused by a fatal pebble error
	// (a failed WAL write or sync, a failed MANIFEST write, a pebble panic).
	// Once it has happened, the log refuses all further writes and reads;
	// the outcome of the Appends in flight at that moment is unknown.
	ErrFailed = fmt.Errorf("txnlog: log failed: %w", znode.ErrSystemError)
	// ErrLocked is returned by OpenPebble when another Pebble, in this
	// process or another, has the directory open.
	ErrLocked = fmt.Errorf("txnlog: log directory is in use: %w", znode.ErrSystemError)
)

// keySize is the size of a record's key: its zxid, 8 bytes big-endian.
const keySize = 8

// PebbleOptions configure OpenPebble. The zero value is the production
// configuration.
type PebbleOptions struct {
	// FS is the filesystem the database lives on; nil is vfs.Default, the
	// operating system's. Tests pass vfs.NewCrashableMem() or an
	// errorfs.Wrap of one.
	FS vfs.FS
	// NoSync commits without waiting for fsync. FOR TESTS AND BENCHMARKS
	// ONLY: Append then returns before its records are durable, and a crash
	// (even a process crash, since pebble buffers the WAL in memory) can
	// lose records that Append acknowledged.
	NoSync bool
	// Logger receives pebble's Infof and Errorf messages, and fatal errors
	// as Errorf. Its Fatalf is never called. Nil is pebble.DefaultLogger
	// (the standard library's log package).
	Logger pebble.Logger
}

// Pebble is a durable Log on a pebble v2 database. It is safe for
// concurrent use. Keys are zxids (8 bytes, big-endian, so pebble's key
// order is zxid order) and values are txn.Encode records.
//
// With concurrent Appends, each one is durable when it returns, but pebble
// may write them to its WAL in another order than their zxids; a crash can
// then keep a later in-flight record and lose an earlier in-flight one.
// Acknowledged records are never lost. An engine that appends serially (as
// zkembed's does) never sees such a gap.
type Pebble struct {
	db    *pebble.DB
	wo    *pebble.WriteOptions
	flock io.Closer    // our own directory lock, nil if not on vfs.Default
	plock *pebble.Lock // pebble's LOCK

	fatal     atomic.Pointer[fatalError]
	fatalCh   chan struct{}
	fatalOnce sync.Once

	// walSizes are the sizes of the WAL files found before pebble
	// opened them; walTail is what pebble's replay left of the newest (see
	// WALTail). Both are written only during OpenPebble.
	walFS    vfs.FS
	walSizes map[string]int64
	walTail  WALTail

	mu     sync.Mutex
	last   znode.Zxid // highest zxid stored or in flight
	closed bool
	ops    sync.WaitGroup // calls in progress
}

var _ Log = (*Pebble)(nil)

// OpenPebble opens the log in dir, creating it if needed. It fails with
// ErrLocked if dir is already open, in this process or another.
func OpenPebble(dir string, opts *PebbleOptions) (*Pebble, error) {
	if opts == nil {
		opts = &PebbleOptions{}
	}
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	userLogger := opts.Logger
	if userLogger == nil {
		userLogger = pebble.DefaultLogger
	}
	p := &Pebble{wo: pebble.Sync, fatalCh: make(chan struct{})}
	if opts.NoSync {
		p.wo = pebble.NoSync
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("txnlog: open %s: %w", dir, err)
	}
	if vfs.Root(fs) == vfs.Default {
		l, err := lockDir(dir)
		if err != nil {
			return nil, err
		}
		p.flock = l
	}
	// Take pebble's LOCK ourselves, so that a lock conflict is told apart
	// from other open errors.
	plock, err := pebble.LockDirectory(dir, fs)
	if err != nil {
		p.unlock()
		if isLockError(err) {
			return nil, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("txnlog: lock %s: %w", dir, err)
	}
	p.plock = plock
	p.walFS, p.walSizes = fs, walSizes(fs, dir)
	popts := &pebble.Options{
		FS:                 fullSizeWALs(fs),
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             &fatalLogger{p: p, user: userLogger},
		Lock:               plock,
	}
	var db *pebble.DB
	finished, err := p.guard(func() error {
		var err error
		db, err = pebble.Open(dir, popts)
		return err
	}, true)
	if err != nil {
		if finished && db != nil {
			finished, _ = p.guard(db.Close, true)
		}
		if finished {
			p.unlock()
		}
		if errors.Is(err, ErrFailed) {
			return nil, err
		}
		return nil, fmt.Errorf("txnlog: open %s: %w", dir, err)
	}
	p.db = db
	last, err := p.bound(true)
	if err != nil {
		if finished, _ := p.guard(db.Close, true); finished {
			p.unlock()
		}
		return nil, err
	}
	p.last = last
	return p, nil
}

// unlock releases the locks; pebble's database must be closed.
func (p *Pebble) unlock() {
	if p.plock != nil {
		_ = p.plock.Close()
		p.plock = nil
	}
	if p.flock != nil {
		_ = p.flock.Close()
		p.flock = nil
	}
}

// Err returns the fatal error that stopped the log, or nil.
func (p *Pebble) Err() error {
	if f := p.fatal.Load(); f != nil {
		return f
	}
	return nil
}

// begin registers a call in progress; the caller must call p.ops.Done.
func (p *Pebble) begin() error {
	if err := p.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.ops.Add(1)
	return nil
}

// Append implements Log: it writes all records in one pebble batch and
// returns when the batch is durable (unless NoSync). After a fatal error it
// fails at once with that error.
func (p *Pebble) Append(records ...*txn.Txn) error {
	if len(records) == 0 {
		return nil
	}
	for i, r := range records {
		if r.Zxid <= 0 {
			return fmt.Errorf("txnlog: append zxid %v: zxids must be positive: %w", r.Zxid, znode.ErrDataInconsistency)
		}
		if i > 0 && r.Zxid <= records[i-1].Zxid {
			return fmt.Errorf("txnlog: append %v after %v: %w", r.Zxid, records[i-1].Zxid, znode.ErrDataInconsistency)
		}
	}
	if err := p.begin(); err != nil {
		return err
	}
	defer p.ops.Done()

	b := p.db.NewBatch()
	var key [keySize]byte
	var v []byte // reused: Set copies it into the batch
	for _, r := range records {
		v = txn.AppendEncode(v[:0], r)
		if len(v) > txn.MaxRecordSize {
			_ = b.Close()
			return fmt.Errorf("txnlog: append %v: record is %d bytes, more than the limit of %d: %w",
				r.Zxid, len(v), txn.MaxRecordSize, znode.ErrBadArguments)
		}
		putKey(key[:], r.Zxid)
		if err := b.Set(key[:], v, nil); err != nil {
			_ = b.Close()
			return fmt.Errorf("txnlog: append %v: %w", r.Zxid, err)
		}
	}

	p.mu.Lock()
	if first := records[0].Zxid; first <= p.last {
		last := p.last
		p.mu.Unlock()
		_ = b.Close()
		return fmt.Errorf("txnlog: append %v after %v: %w", first, last, znode.ErrDataInconsistency)
	}
	p.last = records[len(records)-1].Zxid
	p.mu.Unlock()

	if _, err := p.guard(func() error { return b.Commit(p.wo) }, false); err != nil {
		// The batch may still be referenced by a wedged commit pipeline:
		// leave it to the garbage collector rather than reuse it.
		if errors.Is(err, ErrFailed) {
			return err
		}
		return fmt.Errorf("txnlog: append %v..%v: %w", records[0].Zxid, records[len(records)-1].Zxid, err)
	}
	_ = b.Close()
	return nil
}

// Replay implements Log. A record that does not decode, or whose key is not
// its zxid, stops the replay with an error wrapping txn.ErrCorrupt (and so
// znode.ErrDataInconsistency) that names the key.
//
// Replay runs in the caller's goroutine. Reads make pebble call the fatal
// logger only on internal invariant violations (read I/O errors are returned
// as errors); if that ever happened, the calling goroutine would be stopped
// (see the package documentation).
func (p *Pebble) Replay(after znode.Zxid, fn func(*txn.Txn) error) error {
	if err := p.begin(); err != nil {
		return err
	}
	defer p.ops.Done()
	iter, err := p.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("txnlog: replay: %w", err)
	}
	var start [keySize]byte
	valid := iter.First()
	if after >= 0 {
		putKey(start[:], after+1)
		valid = iter.SeekGE(start[:])
	}
	for ; valid; valid = iter.Next() {
		t, err := decodeKV(iter)
		if err == nil {
			err = fn(t)
		}
		if err != nil {
			_ = iter.Close()
			return err
		}
	}
	if err := iter.Close(); err != nil {
		return fmt.Errorf("txnlog: replay: %w", err)
	}
	return p.Err()
}

func decodeKV(iter *pebble.Iterator) (*txn.Txn, error) {
	k := iter.Key()
	if len(k) != keySize {
		return nil, fmt.Errorf("txnlog: key %x is %d bytes, not %d: %w", k, len(k), keySize, txn.ErrCorrupt)
	}
	z := getKey(k)
	v, err := iter.ValueAndErr()
	if err != nil {
		return nil, fmt.Errorf("txnlog: read record %v (key %x): %w", z, k, err)
	}
	t, err := txn.Decode(v)
	if err != nil {
		return nil, fmt.Errorf("txnlog: record %v (key %x): %w", z, k, err)
	}
	if t.Zxid != z {
		return nil, fmt.Errorf("txnlog: record under key %x (zxid %v) has zxid %v: %w", k, z, t.Zxid, txn.ErrCorrupt)
	}
	return t, nil
}

// Last returns the highest stored zxid, or 0 if the log is empty. While
// Appends are in flight it may include records that are not yet durable.
func (p *Pebble) Last() (znode.Zxid, error) {
	if err := p.begin(); err != nil {
		return 0, err
	}
	defer p.ops.Done()
	return p.bound(true)
}

// First returns the lowest stored zxid, or 0 if the log is empty.
func (p *Pebble) First() (znode.Zxid, error) {
	if err := p.begin(); err != nil {
		return 0, err
	}
	defer p.ops.Done()
	return p.bound(false)
}

func (p *Pebble) bound(last bool) (znode.Zxid, error) {
	iter, err := p.db.NewIter(nil)
	if err != nil {
		return 0, fmt.Errorf("txnlog: %w", err)
	}
	var z znode.Zxid
	valid := iter.First()
	if last {
		valid = iter.Last()
	}
	if valid {
		k := iter.Key()
		if len(k) != keySize {
			_ = iter.Close()
			return 0, fmt.Errorf("txnlog: key %x is %d bytes, not %d: %w", k, len(k), keySize, txn.ErrCorrupt)
		}
		z = getKey(k)
	}
	if err := iter.Close(); err != nil {
		return 0, fmt.Errorf("txnlog: %w", err)
	}
	return z, nil
}

// TruncateBefore deletes, durably, every record whose zxid is below z
// (after a snapshot at z or later has made them unnecessary). It never
// deletes the newest record, so that the log keeps its position: z above
// the last zxid is an error. Space is reclaimed later by compactions.
func (p *Pebble) TruncateBefore(z znode.Zxid) error {
	if err := p.begin(); err != nil {
		return err
	}
	defer p.ops.Done()
	if z <= 1 {
		return nil
	}
	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if z > last {
		return fmt.Errorf("txnlog: truncate before %v would delete the last record %v: %w", z, last, znode.ErrBadArguments)
	}
	var start, end [keySize]byte
	putKey(end[:], z)
	b := p.db.NewBatch()
	if err := b.DeleteRange(start[:], end[:], nil); err != nil {
		_ = b.Close()
		return fmt.Errorf("txnlog: truncate before %v: %w", z, err)
	}
	if _, err := p.guard(func() error { return b.Commit(p.wo) }, false); err != nil {
		if errors.Is(err, ErrFailed) {
			return err
		}
		return fmt.Errorf("txnlog: truncate before %v: %w", z, err)
	}
	_ = b.Close()
	return nil
}

// Close implements Log. It waits for the calls in progress, closes the
// database and releases the directory. After a fatal error it still tries
// to close pebble (which releases pebble's LOCK) and returns the fatal
// error; if pebble's Close does not finish within 5 s (a background
// goroutine stopped by a fatal error can hold pebble's DB mutex), the
// database is abandoned with both locks held, so the directory cannot be
// reopened by this process: restart it.
func (p *Pebble) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closed = true
	p.mu.Unlock()
	p.ops.Wait()
	finished, err := p.guard(p.db.Close, true)
	if ferr := p.Err(); ferr != nil {
		err = ferr
	}
	if finished {
		p.unlock()
	}
	if err != nil && !errors.Is(err, ErrFailed) {
		err = fmt.Errorf("txnlog: close: %w", err)
	}
	return err
}

// guard runs fn in a goroutine of its own, so that the fatal logger may
// stop that goroutine (runtime.Goexit) instead of the caller's, and turns
// such a stop, or a panic, into the recorded fatal error. It returns fn's
// error otherwise.
//
// After a fatal error (from any goroutine) fn may be wedged in pebble
// forever: a failed commit leaves its batch at the head of pebble's pending
// queue, and later commits wait for it; a background goroutine stopped by
// Fatalf may hold DB.mu. Without wait, guard then returns the fatal error
// at once; with wait, it gives fn closeTimeout more. finished reports
// whether fn returned or was stopped (false: it is still running).
func (p *Pebble) guard(fn func() error, wait bool) (finished bool, err error) {
	done := make(chan error, 1)
	go func() {
		normal := false
		defer func() {
			if normal {
				return
			}
			if r := recover(); r != nil {
				p.setFatal(fmt.Sprintf("panic: %v", r), r)
			} else {
				// runtime.Goexit, which only our fatal logger calls.
				p.setFatal("goroutine stopped without a fatal error", nil)
			}
			done <- p.Err()
		}()
		err := fn()
		normal = true
		done <- err
	}()
	select {
	case err := <-done:
		return true, err
	case <-p.fatalCh:
	}
	if wait {
		t := time.NewTimer(closeTimeout)
		defer t.Stop()
		select {
		case err := <-done:
			return true, err
		case <-t.C:
			return false, p.Err()
		}
	}
	select {
	case err := <-done:
		return true, err
	default:
		return false, p.Err()
	}
}

// closeTimeout bounds how long Open and Close wait for pebble after a fatal
// error. A variable for tests.
var closeTimeout = 5 * time.Second

// setFatal records the first fatal error and wakes everything waiting.
func (p *Pebble) setFatal(msg string, cause any) {
	p.fatalOnce.Do(func() {
		f := &fatalError{msg: msg}
		if err, ok := cause.(error); ok {
			f.cause = err
		}
		p.fatal.Store(f)
		close(p.fatalCh)
	})
}

// fatalError is the error recorded by the fatal logger. It matches
// ErrFailed and unwraps to the error pebble reported, when there was one
// (so errors.Is(err, syscall.EIO) works).
type fatalError struct {
	msg   string
	cause error
}

func (e *fatalError) Error() string { return "txnlog: pebble fatal error: " + e.msg }

func (e *fatalError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrFailed}
	}
	return []error{ErrFailed, e.cause}
}

// fatalLogger is pebble's Logger. Infof and Errorf go to the user's
// logger; Fatalf records the error and stops the calling goroutine.
type fatalLogger struct {
	p    *Pebble
	user pebble.Logger
}

func (l *fatalLogger) Infof(format string, args ...any) {
	l.p.noteReplay(args)
	l.user.Infof(format, args...)
}
func (l *fatalLogger) Errorf(format string, args ...any) { l.user.Errorf(format, args...) }

func (l *fatalLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	var cause error
	for _, a := range args {
		if err, ok := a.(error); ok {
			cause = err
			break
		}
	}
	// Log before setFatal wakes the callers, so that anyone who sees the
	// error can also find it in the log.
	l.user.Errorf("txnlog: pebble fatal error (log stopped, process kept alive): %s", msg)
	l.p.setFatal(msg, cause)
	runtime.Goexit()
}

// WALTail describes the end of the newest write-ahead log at open: where
// pebble's replay stopped, and how many bytes of the file lay beyond.
//
// Pebble tolerates an unclean end of its newest WAL (a write cut short by a
// crash) and drops it silently; an unclean end of an older WAL fails the
// open as corruption. Dropped bytes were never acknowledged: Append returns
// only after its sync, and a synced record is whole. When replay stopped at
// the trailer pebble writes on a clean close, what follows it is the
// leftovers of an older log in a file pebble recycled, ignored by design,
// and counted as Leftovers. Otherwise the bytes are either a torn write or
// such leftovers (after a crash the two cannot be told apart from the
// bytes alone), counted as Dropped: a report, not an alarm. The zero bytes
// that end the file are counted as Zeros and in neither of the others:
// normally space preallocated and never written (see fullSizeWALs), though a
// torn write or a trailer may end in zeros too. Dropped and Leftovers
// therefore stop at the last nonzero byte.
type WALTail struct {
	File      string // the WAL file replayed last; "" if none was replayed
	Offset    int64  // where replay stopped in it
	Dropped   int64  // bytes after Offset that pebble did not replay
	Leftovers int64  // bytes after a clean close's trailer at Offset
	Zeros     int64  // zero bytes ending the file after Offset (normally preallocated space)
}

// WALTail reports where replay of the newest WAL stopped at open.
func (p *Pebble) WALTail() WALTail { return p.walTail }

// walSizes returns the sizes of the WAL files in dir.
func walSizes(fs vfs.FS, dir string) map[string]int64 {
	names, err := fs.List(dir)
	if err != nil {
		return nil
	}
	sizes := map[string]int64{}
	for _, name := range names {
		if strings.HasSuffix(name, ".log") {
			if st, err := fs.Stat(fs.PathJoin(dir, name)); err == nil {
				sizes[fs.PathJoin(dir, name)] = st.Size()
			}
		}
	}
	return sizes
}

// noteReplay picks up the offset pebble logs after replaying each WAL at
// open (in WAL order, so the last one noted is the newest), and sorts the
// bytes after it, while the file is still there: pebble deletes a WAL it
// has replayed once its contents are flushed.
func (p *Pebble) noteReplay(args []any) {
	for _, a := range args {
		if off, ok := a.(wal.Offset); ok && off.PhysicalFile != "" {
			p.walTail = p.measureWALTail(off.PhysicalFile, off.Physical)
		}
	}
}

// measureWALTail sorts the bytes of file after off, where replay stopped,
// into dropped bytes, leftovers and zeros, going by the file's size before
// pebble opened it.
func (p *Pebble) measureWALTail(file string, off int64) WALTail {
	t := WALTail{File: file, Offset: off}
	size, known := p.walSizes[file]
	if !known || size <= off {
		return t
	}
	end := p.zerosFrom(file, off, size)
	switch {
	case end == off:
	case p.isEOFTrailer(file, off, size):
		// The trailer's log number may end in zero bytes.
		end = max(end, off+eofTrailerSize)
		t.Leftovers = end - off - eofTrailerSize
	default:
		t.Dropped = end - off
	}
	t.Zeros = size - end
	return t
}

// zerosFrom returns where the zeros that end file, which is size bytes
// long, begin, looking no earlier than off: size if its last byte is not
// zero, off if every byte from off on is. It reads backwards from the end,
// so it reads only the zeros and one block more. A file it cannot read
// counts as having no zeros.
func (p *Pebble) zerosFrom(file string, off, size int64) int64 {
	f, err := p.walFS.Open(file)
	if err != nil {
		return size
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	end := size
	for end > off {
		n := min(int64(len(buf)), end-off)
		b := buf[:n]
		if _, err := f.ReadAt(b, end-n); err != nil {
			return size
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return end - n + int64(i) + 1
			}
		}
		end -= n
	}
	return off
}

// eofTrailerSize is the size of the chunk header pebble writes when it
// closes a WAL cleanly: CRC 0, length 0, a recyclable full-chunk type (5)
// and the next log number (see emitEOFTrailer in pebble's record package).
const eofTrailerSize = 11

// isEOFTrailer reports whether the bytes of file at off, which is size
// bytes long, are a clean close's EOF trailer rather than dropped data: a
// chunk header with checksum and length 0, the recyclable full-chunk type
// and the file's own log number + 1 (emitEOFTrailer in pebble's record
// package). No record is written as such a chunk.
func (p *Pebble) isEOFTrailer(file string, off, size int64) bool {
	if size-off < eofTrailerSize {
		return false
	}
	num, ok := walNumber(p.walFS.PathBase(file))
	if !ok {
		return false
	}
	f, err := p.walFS.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [eofTrailerSize]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return false
	}
	var want [eofTrailerSize]byte
	want[6] = 5
	binary.LittleEndian.PutUint32(want[7:], uint32(num+1))
	return b == want
}

// walNumber returns the log number in a WAL file's name ("000051.log").
func walNumber(name string) (uint64, bool) {
	num, _, ok := wal.ParseLogFilename(name)
	return uint64(num), ok
}

func putKey(b []byte, z znode.Zxid) { binary.BigEndian.PutUint64(b, uint64(z)) }

func getKey(b []byte) znode.Zxid { return znode.Zxid(binary.BigEndian.Uint64(b)) }

// containsLockHeld reports pebble's in-process lock error, which carries no
// errno.
func containsLockHeld(err error) bool {
	return strings.Contains(err.Error(), "lock held by current process")
}
