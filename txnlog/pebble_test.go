package txnlog_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"go.uber.org/goleak"

	"github.com/zkembed/zkembed/internal/walzeros"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
	"github.com/zkembed/zkembed/znode"
)

// memLogger keeps pebble's messages; tests must not use t.Logf from
// pebble's background goroutines.
type memLogger struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *memLogger) Infof(format string, args ...any) {}

func (l *memLogger) Errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, format+"\n", args...)
}

func (l *memLogger) Fatalf(format string, args ...any) {
	panic("txnlog must never call the user logger's Fatalf: " + fmt.Sprintf(format, args...))
}

func (l *memLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// rec returns a valid record with zxid z, of about 150 encoded bytes,
// cycling through a few op types.
func rec(z znode.Zxid) *txn.Txn {
	t := &txn.Txn{Zxid: z, Time: 1700000000000 + int64(z), Session: 0x100 + int64(z%7)}
	path := fmt.Sprintf("/app/locks/lock-%010d", int64(z))
	switch z % 4 {
	case 0:
		t.Ops = []txn.Op{{Type: txn.TypeCreate, Path: path, Data: bytes.Repeat([]byte{byte(z)}, 80), ACL: znode.OpenACL(), ParentCversion: int32(z)}}
	case 1:
		t.Ops = []txn.Op{{Type: txn.TypeSetData, Path: path, Data: []byte(fmt.Sprintf("%0100d", int64(z))), Version: int32(z % 1000)}}
	case 2:
		t.Multi = true
		t.Ops = []txn.Op{
			{Type: txn.TypeCheck, Path: "/app", Version: 3},
			{Type: txn.TypeCreate, Path: path, Data: nil, ACL: znode.OpenACL(), Owner: 0x100, ParentCversion: 9},
			{Type: txn.TypeDelete, Path: path + "-old"},
		}
	default:
		t.Ops = []txn.Op{{Type: txn.TypeCloseSession, Session: 0x100, Paths: []string{path, path + "/x"}}}
	}
	return t
}

func open(t testing.TB, dir string, opts *txnlog.PebbleOptions) *txnlog.Pebble {
	t.Helper()
	if opts == nil {
		opts = &txnlog.PebbleOptions{}
	}
	if opts.Logger == nil {
		opts.Logger = &memLogger{}
	}
	p, err := txnlog.OpenPebble(dir, opts)
	if err != nil {
		t.Fatalf("OpenPebble: %v", err)
	}
	return p
}

func appendRange(t testing.TB, l txnlog.Log, from, to znode.Zxid) {
	t.Helper()
	for z := from; z <= to; z++ {
		if err := l.Append(rec(z)); err != nil {
			t.Fatalf("Append %v: %v", z, err)
		}
	}
}

func replayAll(t testing.TB, l txnlog.Log, after znode.Zxid) []*txn.Txn {
	t.Helper()
	var got []*txn.Txn
	if err := l.Replay(after, func(x *txn.Txn) error { got = append(got, x); return nil }); err != nil {
		t.Fatalf("Replay(%v): %v", after, err)
	}
	return got
}

// checkRange asserts that got is exactly rec(from)..rec(to).
func checkRange(t testing.TB, got []*txn.Txn, from, to znode.Zxid) {
	t.Helper()
	if want := int(to - from + 1); len(got) != max(want, 0) {
		t.Fatalf("got %d records, want %d (%v..%v)", len(got), want, from, to)
	}
	for i, x := range got {
		if want := rec(from + znode.Zxid(i)); !reflect.DeepEqual(x, want) {
			t.Fatalf("record %d:\n got %v\nwant %v", i, x, want)
		}
	}
}

func TestPebbleRoundTrip(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := open(t, "db", &txnlog.PebbleOptions{FS: vfs.NewMem()})
	if z, err := p.Last(); err != nil || z != 0 {
		t.Fatalf("Last of empty log = %v, %v", z, err)
	}
	appendRange(t, p, 1, 10)
	// A batch of several records, including a large one.
	big := rec(12)                                     // a create
	big.Ops[0].Data = bytes.Repeat([]byte("x"), 3<<20) // above pebble's large-batch threshold
	batch := []*txn.Txn{rec(11), big, rec(13)}
	if err := p.Append(batch...); err != nil {
		t.Fatal(err)
	}
	if err := p.Append(); err != nil {
		t.Fatalf("empty Append: %v", err)
	}
	got := replayAll(t, p, 0)
	checkRange(t, got[:10], 1, 10)
	if !reflect.DeepEqual(got[10:], batch) {
		t.Fatalf("batch did not round-trip")
	}
	if z, _ := p.Last(); z != 13 {
		t.Fatalf("Last = %v", z)
	}
	if z, _ := p.First(); z != 1 {
		t.Fatalf("First = %v", z)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Append(rec(14)); !errors.Is(err, txnlog.ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if err := p.Replay(0, func(*txn.Txn) error { return nil }); !errors.Is(err, txnlog.ErrClosed) {
		t.Fatalf("Replay after Close = %v", err)
	}
	if err := p.Close(); !errors.Is(err, txnlog.ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}

func TestPebbleReplayFromMiddle(t *testing.T) {
	p := open(t, "db", &txnlog.PebbleOptions{FS: vfs.NewMem()})
	defer p.Close()
	for z := znode.Zxid(10); z <= 100; z += 10 {
		appendRange(t, p, z, z)
	}
	for _, c := range []struct {
		after znode.Zxid
		first znode.Zxid
		n     int
	}{{-1, 10, 10}, {0, 10, 10}, {9, 10, 10}, {10, 20, 9}, {55, 60, 5}, {99, 100, 1}, {100, 0, 0}, {1 << 62, 0, 0}} {
		got := replayAll(t, p, c.after)
		if len(got) != c.n || (c.n > 0 && got[0].Zxid != c.first) {
			t.Errorf("Replay(%v): %d records starting %v, want %d starting %v", c.after, len(got), got, c.n, c.first)
		}
	}
	// fn's error stops the replay and comes back unchanged.
	stop := errors.New("stop")
	n := 0
	err := p.Replay(0, func(*txn.Txn) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("Replay with failing fn: %v after %d calls", err, n)
	}
}

func TestPebbleTruncateBefore(t *testing.T) {
	fs := vfs.NewMem()
	p := open(t, "db", &txnlog.PebbleOptions{FS: fs})
	appendRange(t, p, 1, 100)
	if err := p.TruncateBefore(40); err != nil {
		t.Fatal(err)
	}
	checkRange(t, replayAll(t, p, 0), 40, 100)
	checkRange(t, replayAll(t, p, 50), 51, 100)
	if z, _ := p.First(); z != 40 {
		t.Fatalf("First = %v", z)
	}
	if err := p.TruncateBefore(10); err != nil { // already gone: no-op
		t.Fatal(err)
	}
	if err := p.TruncateBefore(101); !errors.Is(err, znode.ErrBadArguments) {
		t.Fatalf("TruncateBefore past the last record = %v", err)
	}
	if err := p.TruncateBefore(100); err != nil {
		t.Fatal(err)
	}
	appendRange(t, p, 101, 110)
	p.Close()
	p = open(t, "db", &txnlog.PebbleOptions{FS: fs})
	defer p.Close()
	checkRange(t, replayAll(t, p, 0), 100, 110)
	if err := p.Append(rec(50)); !errors.Is(err, znode.ErrDataInconsistency) {
		t.Fatalf("Append below the last zxid after truncation and reopen = %v", err)
	}
}

func TestPebbleRejectsNonIncreasing(t *testing.T) {
	fs := vfs.NewMem()
	p := open(t, "db", &txnlog.PebbleOptions{FS: fs})
	appendRange(t, p, 1, 5)
	for name, batch := range map[string][]*txn.Txn{
		"equal to last":  {rec(5)},
		"below last":     {rec(3)},
		"within a batch": {rec(7), rec(6)},
		"duplicate":      {rec(8), rec(8)},
		"zero":           {rec(0)},
		"negative":       {rec(-1)},
		"tail bad":       {rec(9), rec(10), rec(2)},
	} {
		if err := p.Append(batch...); !errors.Is(err, znode.ErrDataInconsistency) {
			t.Errorf("%s: Append = %v, want ErrDataInconsistency", name, err)
		}
	}
	// Nothing of the rejected batches was written.
	checkRange(t, replayAll(t, p, 0), 1, 5)
	appendRange(t, p, 6, 6) // gaps are allowed; order is what matters
	p.Close()

	p = open(t, "db", &txnlog.PebbleOptions{FS: fs})
	defer p.Close()
	if err := p.Append(rec(6)); !errors.Is(err, znode.ErrDataInconsistency) {
		t.Fatalf("after reopen, Append(6) = %v", err)
	}
	appendRange(t, p, 7, 7)
}

func TestPebbleReopenOnDisk(t *testing.T) {
	dir := t.TempDir()
	p := open(t, dir, nil)
	appendRange(t, p, 1, 200)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = open(t, dir, nil)
	checkRange(t, replayAll(t, p, 0), 1, 200)
	appendRange(t, p, 201, 210)
	p.Close()
	p = open(t, dir, nil)
	defer p.Close()
	checkRange(t, replayAll(t, p, 0), 1, 210)
	if z, _ := p.Last(); z != 210 {
		t.Fatalf("Last = %v", z)
	}
}

// TestPebbleCorruptValue stores garbage under a key, and a valid record
// under the wrong key, with raw pebble: Replay must stop with a corruption
// error naming the key, never skip.
func TestPebbleCorruptValue(t *testing.T) {
	for _, c := range []struct {
		name  string
		value func() []byte
	}{
		{"garbage", func() []byte { return []byte("not a record") }},
		{"flipped bit", func() []byte { b := txn.Encode(rec(5)); b[10] ^= 4; return b }},
		{"wrong zxid", func() []byte { return txn.Encode(rec(6)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := vfs.NewMem()
			p := open(t, "db", &txnlog.PebbleOptions{FS: fs})
			appendRange(t, p, 1, 10)
			p.Close()
			db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: &memLogger{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Set([]byte{0, 0, 0, 0, 0, 0, 0, 5}, c.value(), pebble.Sync); err != nil {
				t.Fatal(err)
			}
			db.Close()
			p = open(t, "db", &txnlog.PebbleOptions{FS: fs})
			defer p.Close()
			n := 0
			err = p.Replay(0, func(*txn.Txn) error { n++; return nil })
			if !errors.Is(err, txn.ErrCorrupt) || !errors.Is(err, znode.ErrDataInconsistency) ||
				!strings.Contains(err.Error(), "0000000000000005") || n != 4 {
				t.Fatalf("Replay = %v after %d records", err, n)
			}
			t.Log(err)
		})
	}
}

func TestPebbleLock(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	p := open(t, dir, nil)

	// Same process, same spelling, another spelling, a symlink.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, dir + "/", filepath.Join(dir, "."), link} {
		q, err := txnlog.OpenPebble(d, &txnlog.PebbleOptions{Logger: &memLogger{}})
		if !errors.Is(err, txnlog.ErrLocked) {
			if q != nil {
				q.Close()
			}
			t.Fatalf("second OpenPebble(%q) = %v, want ErrLocked", d, err)
		}
		t.Logf("OpenPebble(%q): %v", d, err)
	}

	// Another process.
	if out := lockHelper(t, dir); !strings.Contains(out, "ERR") || !strings.Contains(out, "in use") {
		t.Fatalf("second process opened a locked log: %s", out)
	} else {
		t.Logf("second process: %s", out)
	}
	p.Close()
	if out := lockHelper(t, dir); !strings.Contains(out, "OK") {
		t.Fatalf("second process could not open a closed log: %s", out)
	}

	// The same MemFS in one process: pebble's MemFS lock.
	fs := vfs.NewMem()
	m := open(t, "db", &txnlog.PebbleOptions{FS: fs})
	if _, err := txnlog.OpenPebble("db", &txnlog.PebbleOptions{FS: fs, Logger: &memLogger{}}); !errors.Is(err, txnlog.ErrLocked) {
		t.Fatalf("second open on the same MemFS = %v", err)
	}
	m.Close()
	open(t, "db", &txnlog.PebbleOptions{FS: fs}).Close()
}

// TestPebbleRawLock records what pebble's own LOCK does without ours.
func TestPebbleRawLock(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{Logger: &memLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = pebble.Open(dir, &pebble.Options{Logger: &memLogger{}})
	t.Logf("raw pebble, same path: %v", err)
	if err == nil {
		t.Fatal("pebble opened the same path twice")
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir + "/.", link} {
		db2, err := pebble.Open(d, &pebble.Options{Logger: &memLogger{}})
		t.Logf("raw pebble, %q: %v", d, err)
		if err == nil {
			t.Logf("NOTE: pebble's LOCK let a second DB open the same directory in-process as %q", d)
			db2.Close()
		}
	}
}

func lockHelper(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPebbleLockHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "TXNLOG_LOCK_HELPER_DIR="+dir)
	out, _ := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "HELPER ") {
			return line
		}
	}
	return string(out)
}

func TestPebbleLockHelperProcess(t *testing.T) {
	dir := os.Getenv("TXNLOG_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper for TestPebbleLock")
	}
	p, err := txnlog.OpenPebble(dir, &txnlog.PebbleOptions{Logger: &memLogger{}})
	if err != nil {
		fmt.Printf("HELPER ERR %v\n", err)
		return
	}
	p.Close()
	fmt.Printf("HELPER OK\n")
}

// faultFS is a crashable MemFS behind an errorfs that fails the chosen op
// kind on WAL files with the chosen errno once armed.
type faultFS struct {
	mem   *vfs.MemFS
	fs    vfs.FS
	errno atomic.Pointer[error]
	kind  errorfs.OpKind
	hits  atomic.Int64
}

func newFaultFS(kind errorfs.OpKind) *faultFS {
	f := &faultFS{mem: vfs.NewCrashableMem(), kind: kind}
	f.fs = errorfs.Wrap(f.mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if e := f.errno.Load(); e != nil && op.Kind == f.kind && strings.HasSuffix(op.Path, ".log") {
			f.hits.Add(1)
			return *e
		}
		return nil
	}))
	return f
}

func (f *faultFS) arm(err error) { f.errno.Store(&err) }
func (f *faultFS) disarm()       { f.errno.Store(nil) }

func TestPebbleWALFault(t *testing.T) {
	for _, c := range []struct {
		name  string
		kind  errorfs.OpKind
		errno syscall.Errno
	}{
		{"SyncData EIO", errorfs.OpFileSyncData, syscall.EIO},
		{"SyncData ENOSPC", errorfs.OpFileSyncData, syscall.ENOSPC},
		{"Write EIO", errorfs.OpFileWrite, syscall.EIO},
		{"Write ENOSPC", errorfs.OpFileWrite, syscall.ENOSPC},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFaultFS(c.kind)
			logger := &memLogger{}
			p := open(t, "db", &txnlog.PebbleOptions{FS: f.fs, Logger: logger})
			appendRange(t, p, 1, 10)

			f.arm(c.errno)
			err := p.Append(rec(11))
			if !errors.Is(err, txnlog.ErrFailed) || !errors.Is(err, znode.ErrSystemError) {
				t.Fatalf("Append with a failing WAL = %v", err)
			}
			t.Logf("Append: %v (errors.Is errno: %v)", err, errors.Is(err, c.errno))
			if !errors.Is(err, c.errno) {
				t.Errorf("the error does not unwrap to %v", c.errno)
			}
			if p.Err() == nil {
				t.Fatal("Err() is nil after a fatal error")
			}
			f.disarm()
			// Later calls fail fast, even with the disk healthy again.
			start := time.Now()
			if err := p.Append(rec(12)); !errors.Is(err, txnlog.ErrFailed) {
				t.Fatalf("Append after a fatal error = %v", err)
			}
			if err := p.Replay(0, func(*txn.Txn) error { return nil }); !errors.Is(err, txnlog.ErrFailed) {
				t.Fatalf("Replay after a fatal error = %v", err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Fatalf("calls after a fatal error took %v", d)
			}
			if !strings.Contains(logger.String(), "fatal commit error") {
				t.Errorf("logger did not get the fatal error: %q", logger.String())
			}
			// Synced state at this moment (what a power loss would keep).
			crash := f.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})

			start = time.Now()
			cerr := p.Close()
			t.Logf("Close after the fatal error: %v (%v)", cerr, time.Since(start).Round(time.Millisecond))

			// Reopen on the same filesystem: the failed record's fate is
			// unknown (its bytes may be in the file even if the sync failed).
			q, err := txnlog.OpenPebble("db", &txnlog.PebbleOptions{FS: f.mem, Logger: &memLogger{}})
			if err != nil {
				t.Logf("reopen on the same fs: %v", err)
			} else {
				got := replayAll(t, q, 0)
				t.Logf("reopen on the same fs: %d records, last %v", len(got), got[len(got)-1].Zxid)
				if len(got) < 10 || len(got) > 11 {
					t.Errorf("reopen on the same fs gave %d records", len(got))
				}
				checkRange(t, got, 1, got[len(got)-1].Zxid)
				appendRange(t, q, 13, 13)
				q.Close()
			}
			q = open(t, "db", &txnlog.PebbleOptions{FS: crash})
			got := replayAll(t, q, 0)
			t.Logf("reopen on a crash clone: %d records", len(got))
			checkRange(t, got, 1, got[len(got)-1].Zxid)
			if len(got) < 10 || len(got) > 11 {
				t.Errorf("reopen on the crash clone gave %d records", len(got))
			}
			q.Close()
		})
	}
}

// TestPebbleWALFaultConcurrent fails the WAL under 16 concurrent appenders:
// every Append must return (none may hang on pebble's wedged pipeline) and
// the process must live.
func TestPebbleWALFaultConcurrent(t *testing.T) {
	for name, kind := range map[string]errorfs.OpKind{"SyncData": errorfs.OpFileSyncData, "Write": errorfs.OpFileWrite} {
		t.Run(name, func(t *testing.T) { walFaultConcurrent(t, kind) })
	}
}

func walFaultConcurrent(t *testing.T, kind errorfs.OpKind) {
	f := newFaultFS(kind)
	p := open(t, "db", &txnlog.PebbleOptions{FS: f.fs})
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	var okN, failN, rejected atomic.Int64
	var arm sync.Once
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				mu.Lock()
				z := znode.Zxid(next.Add(1))
				mu.Unlock()
				err := p.Append(rec(z))
				switch {
				case err == nil:
					okN.Add(1)
				case errors.Is(err, txnlog.ErrFailed):
					failN.Add(1)
				case errors.Is(err, znode.ErrDataInconsistency):
					rejected.Add(1)
				default:
					t.Errorf("Append: %v", err)
				}
				// >=, not ==: two appenders can take the count past
				// 100 between one's Add and its Load.
				if okN.Load() >= 100 {
					arm.Do(func() { f.arm(syscall.EIO) })
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("appenders hung after a WAL fault")
	}
	t.Logf("ok %d, failed %d, rejected (out of order) %d; Err: %v", okN.Load(), failN.Load(), rejected.Load(), p.Err())
	if failN.Load() == 0 || p.Err() == nil {
		t.Fatal("no failure seen")
	}
	before := runtime.NumGoroutine()
	t.Logf("Close: %v", p.Close())
	time.Sleep(50 * time.Millisecond)
	t.Logf("goroutines: %d before Close, %d after (wedged in pebble and leaked: %d txnlog.Pebble.guard)",
		before, runtime.NumGoroutine(), countGuards())
}

func countGuards() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "txnlog.(*Pebble).guard.func")
}

// TestPebbleCrash takes crash clones while single-record synced Appends run
// and checks, on each clone: acked ⊆ recovered ⊆ acked ∪ in-flight, records
// decode equal, zxids contiguous.
func TestPebbleCrash(t *testing.T) {
	trials := 600
	if testing.Short() {
		trials = 60
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var crashes, lost, extra, exact, zeroTails int
	for trial := 0; trial < trials; trial++ {
		pct := []int{0, 50, 100}[trial%3]
		async := trial%2 == 1
		zeros := trial%4 >= 2 // WALs as preallocated on Linux: see walzeros
		r := crashTrial(t, rng, pct, async, false, zeros)
		crashes++
		lost += r.lost
		if r.zeroTail {
			zeroTails++
		}
		if r.recovered > r.acked {
			extra++
		} else {
			exact++
		}
	}
	t.Logf("%d crashes (unsynced kept 0/50/100%%, crash from the writing op or another goroutine, WALs with a zero tail in half): lost acked %d; recovered = acked %d; recovered an in-flight record %d; replay stopped before zeros %d",
		crashes, lost, exact, extra, zeroTails)
	if lost != 0 {
		t.Fatalf("lost %d acknowledged records", lost)
	}
	if zeroTails < trials/8 {
		t.Fatalf("replay stopped before a WAL's zero tail in %d of %d crashes: the zero tails did not reach pebble", zeroTails, trials)
	}

	// The test has teeth: acknowledging NoSync commits loses records.
	var caught int
	const mutants = 20
	for i := 0; i < mutants; i++ {
		if crashTrial(t, rng, 0, false, true, false).lost > 0 {
			caught++
		}
	}
	t.Logf("NoSync mutant: lost acked records in %d of %d crashes", caught, mutants)
	if caught == 0 {
		t.Fatal("the crash test did not catch the NoSync mutant")
	}
}

type trialResult struct {
	acked, inFlight, recovered, lost int
	zeroTail                         bool // the newest WAL ended in zeros
}

// crashTrial appends records and takes a crash clone at a random point;
// with zeros, the WAL files keep a zero tail (walzeros).
func crashTrial(t *testing.T, rng *rand.Rand, pct int, async, noSync, zeros bool) trialResult {
	t.Helper()
	const n = 200
	var acked, started atomic.Int64 // records 1..acked acknowledged; 1..started begun
	var clone *vfs.MemFS
	var lo, hi int64
	var crashed atomic.Bool
	cloneCfg := vfs.CrashCloneCfg{UnsyncedDataPercent: pct}
	if pct > 0 {
		cloneCfg.RNG = rand.New(rand.NewPCG(rng.Uint64(), 2))
	}
	var once sync.Once
	takeClone := func(mem *vfs.MemFS) {
		once.Do(func() {
			lo = acked.Load()
			clone = mem.CrashClone(cloneCfg)
			hi = started.Load()
			crashed.Store(true)
		})
	}
	mem := vfs.NewCrashableMem()
	var fs vfs.FS = mem
	var writeOps atomic.Int64
	crashAt := int64(rng.IntN(n * 3)) // write ops: a few per Append
	if !async {
		fs = errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
			if op.Kind.ReadOrWrite() == errorfs.OpIsWrite && started.Load() > 0 && !crashed.Load() {
				if writeOps.Add(1) == crashAt {
					takeClone(mem)
				}
			}
			return nil
		}))
	}
	if zeros {
		fs = walzeros.Wrap(fs)
	}
	p := open(t, "db", &txnlog.PebbleOptions{FS: fs, NoSync: noSync})
	var wg sync.WaitGroup
	if async {
		at := int64(rng.IntN(n))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for acked.Load() < at {
				time.Sleep(20 * time.Microsecond)
			}
			takeClone(mem)
		}()
	}
	for z := int64(1); z <= n && !crashed.Load(); z++ {
		started.Store(z)
		if err := p.Append(rec(znode.Zxid(z))); err != nil {
			t.Fatalf("Append %d: %v", z, err)
		}
		acked.Store(z)
	}
	wg.Wait()
	if !crashed.Load() {
		takeClone(mem)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	q := open(t, "db", &txnlog.PebbleOptions{FS: clone})
	defer q.Close()
	got := replayAll(t, q, 0)
	res := trialResult{acked: int(lo), inFlight: int(hi - lo), recovered: len(got), zeroTail: q.WALTail().Zeros > 0}
	// Contiguous from 1 and decoded equal.
	checkRange(t, got, 1, znode.Zxid(len(got)))
	if int64(len(got)) < lo {
		res.lost = int(lo) - len(got)
		if !noSync {
			t.Errorf("pct %d async %v: acked %d, recovered %d", pct, async, lo, len(got))
		}
	}
	if int64(len(got)) > hi {
		t.Errorf("recovered %d records, but only %d were ever started", len(got), hi)
	}
	return res
}

// BenchmarkAppend compares Append of one ~150-byte record per synced commit
// with raw pebble (db.Set + Commit(pebble.Sync)), on disk, at 1, 16 and 64
// concurrent appenders.
func BenchmarkAppend(b *testing.B) {
	size := len(txn.Encode(rec(1)))
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("txnlog/conc=%d", conc), func(b *testing.B) {
			p := open(b, b.TempDir(), nil)
			defer p.Close()
			var next atomic.Int64
			var rejected atomic.Int64
			b.SetBytes(int64(size))
			runConcurrent(b, conc, func() {
				for {
					err := p.Append(rec(znode.Zxid(next.Add(1))))
					if err == nil {
						return
					}
					if !errors.Is(err, znode.ErrDataInconsistency) {
						b.Fatal(err)
					}
					rejected.Add(1) // lost the zxid race to another appender: take a new one
				}
			})
			b.ReportMetric(float64(rejected.Load())/float64(b.N), "retries/op")
		})
		b.Run(fmt.Sprintf("raw/conc=%d", conc), func(b *testing.B) {
			db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: &memLogger{}, FormatMajorVersion: pebble.FormatNewest})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var next atomic.Int64
			b.SetBytes(int64(size))
			runConcurrent(b, conc, func() {
				z := next.Add(1)
				var k [8]byte
				k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7] = byte(z>>56), byte(z>>48), byte(z>>40), byte(z>>32), byte(z>>24), byte(z>>16), byte(z>>8), byte(z)
				batch := db.NewBatch()
				_ = batch.Set(k[:], txn.Encode(rec(znode.Zxid(z))), nil)
				if err := batch.Commit(pebble.Sync); err != nil {
					b.Fatal(err)
				}
				batch.Close()
			})
		})
	}
}

func runConcurrent(b *testing.B, conc int, op func()) {
	var n atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n.Add(1) <= int64(b.N) {
				op()
			}
		}()
	}
	wg.Wait()
}

// TestPebbleBackgroundFatal fails the MANIFEST sync, which pebble reports
// with Fatalf from its background flush goroutine. The process must live,
// the log must fail, and calls must not hang.
func TestPebbleBackgroundFatal(t *testing.T) {
	defer txnlog.SetCloseTimeout(500 * time.Millisecond)()
	mem := vfs.NewCrashableMem()
	var armed atomic.Bool
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if armed.Load() && op.Kind == errorfs.OpFileSync && strings.Contains(op.Path, "MANIFEST") {
			return syscall.EIO
		}
		return nil
	}))
	logger := &memLogger{}
	p := open(t, "db", &txnlog.PebbleOptions{FS: fs, Logger: logger})
	appendRange(t, p, 1, 10)
	armed.Store(true)
	// A record above the large-batch threshold makes pebble flush at once.
	big := rec(12)
	big.Ops[0].Data = bytes.Repeat([]byte("x"), 3<<20)
	err := p.Append(rec(11), big)
	t.Logf("Append of a large batch: %v", err)
	deadline := time.Now().Add(5 * time.Second)
	for p.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Err() == nil {
		t.Fatalf("no fatal error; log: %s", logger.String())
	}
	t.Logf("Err: %v", p.Err())
	if err := p.Append(rec(13)); !errors.Is(err, txnlog.ErrFailed) {
		t.Fatalf("Append after a background fatal = %v", err)
	}
	start := time.Now()
	t.Logf("Close: %v (%v)", p.Close(), time.Since(start).Round(time.Millisecond))
	armed.Store(false)
	q, err := txnlog.OpenPebble("db", &txnlog.PebbleOptions{FS: mem, Logger: &memLogger{}})
	if err != nil {
		t.Logf("reopen on the same fs: %v", err)
	} else {
		got := replayAll(t, q, 0)
		t.Logf("reopen on the same fs: %d records", len(got))
		q.Close()
	}
	q = open(t, "db", &txnlog.PebbleOptions{FS: mem.CrashClone(vfs.CrashCloneCfg{})})
	got := replayAll(t, q, 0)
	t.Logf("reopen on a crash clone: %d records", len(got))
	if len(got) < 10 {
		t.Errorf("lost acked records: %d", len(got))
	}
	q.Close()
}

// A write torn by a crash at the end of the newest WAL is dropped by
// pebble, and WALTail reports how many bytes went; every whole record
// before it replays.
func TestWALTailReportsTornWrite(t *testing.T) {
	fs := vfs.NewCrashableMem()
	p := open(t, "/log", &txnlog.PebbleOptions{FS: fs})
	appendRange(t, p, 1, 10)
	before := fs.CrashClone(vfs.CrashCloneCfg{})
	big := rec(11)
	big.Ops[0].Data = bytes.Repeat([]byte("x"), 3000)
	if err := p.Append(big); err != nil {
		t.Fatal(err)
	}
	after := fs.CrashClone(vfs.CrashCloneCfg{})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	// The crashed state: the WAL as it was after record 10, then half of
	// the bytes record 11 added.
	names, err := before.List("/log")
	if err != nil {
		t.Fatal(err)
	}
	var walName string
	var torn int64
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		path := before.PathJoin("/log", name)
		short, full := readAll(t, before, path), readAll(t, after, path)
		if len(full) <= len(short) {
			continue
		}
		walName = path
		cut := len(short) + (len(full)-len(short))/2
		torn = int64(cut - len(short))
		writeAll(t, before, path, full[:cut])
	}
	if walName == "" {
		t.Fatal("record 11 changed no WAL file")
	}

	p = open(t, "/log", &txnlog.PebbleOptions{FS: before})
	defer p.Close()
	checkRange(t, replayAll(t, p, 0), 1, 10)
	tail := p.WALTail()
	if tail.File != walName || tail.Dropped != torn {
		t.Fatalf("WALTail = %+v, want %d bytes dropped from %s", tail, torn, walName)
	}
	t.Logf("WALTail: %+v", tail)
}

// A clean end drops nothing.
func TestWALTailClean(t *testing.T) {
	fs := vfs.NewCrashableMem()
	p := open(t, "/log", &txnlog.PebbleOptions{FS: fs})
	appendRange(t, p, 1, 10)
	clone := fs.CrashClone(vfs.CrashCloneCfg{})
	p.Close()
	p = open(t, "/log", &txnlog.PebbleOptions{FS: clone})
	defer p.Close()
	checkRange(t, replayAll(t, p, 0), 1, 10)
	if tail := p.WALTail(); tail.File == "" || tail.Dropped != 0 {
		t.Fatalf("WALTail = %+v, want a replayed WAL and nothing dropped", tail)
	}
}

// A WAL file pebble recycled keeps an older log's bytes after the clean
// close's trailer: they are leftovers, not dropped data (before, every
// clean reopen of a busy engine reported megabytes "dropped").
func TestWALTailRecycledLeftovers(t *testing.T) {
	fs := vfs.NewCrashableMem()
	p := open(t, "/log", &txnlog.PebbleOptions{FS: fs})
	appendRange(t, p, 1, 10)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	path := newestWAL(t, fs, "/log") // the one replay will stop in
	clean := readAll(t, fs, path)
	// What a recycled file holds after the trailer: an older log's chunks.
	leftovers := bytes.Repeat([]byte{0xa5, 0x3c, 0x07, 0x01, 0xff}, 1000)
	writeAll(t, fs, path, append(slices.Clone(clean), leftovers...))

	p = open(t, "/log", &txnlog.PebbleOptions{FS: fs})
	checkRange(t, replayAll(t, p, 0), 1, 10)
	tail := p.WALTail()
	if tail.File != path || tail.Dropped != 0 || tail.Leftovers != int64(len(leftovers)) {
		t.Fatalf("WALTail = %+v, want nothing dropped and %d bytes of leftovers in %s", tail, len(leftovers), path)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// A trailer-shaped chunk naming another log than the file's next is not a
// clean close's trailer: the bytes from it on count as dropped.
func TestWALTailForeignTrailerIsDropped(t *testing.T) {
	fs := vfs.NewCrashableMem()
	p := open(t, "/log", &txnlog.PebbleOptions{FS: fs})
	appendRange(t, p, 1, 10)
	clone := fs.CrashClone(vfs.CrashCloneCfg{}) // before the clean close's trailer
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	path := newestWAL(t, clone, "/log")
	n, ok := txnlog.WALNumber(path)
	if !ok {
		t.Fatalf("no log number in %s", path)
	}
	body := readAll(t, clone, path)
	trailer := []byte{0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(trailer[7:], uint32(n+7)) // not n+1
	writeAll(t, clone, path, append(slices.Clone(body), trailer...))
	p = open(t, "/log", &txnlog.PebbleOptions{FS: clone})
	defer p.Close()
	checkRange(t, replayAll(t, p, 0), 1, 10)
	// The trailer's high bytes are zero, and zeros ending a file count
	// apart (see TestWALTailZeros).
	dropped := int64(len(bytes.TrimRight(trailer, "\x00")))
	if tail := p.WALTail(); tail.Dropped != dropped || tail.Leftovers != 0 || tail.Dropped+tail.Zeros != int64(len(trailer)) {
		t.Fatalf("WALTail = %+v, want the foreign trailer's %d bytes dropped, up to its last nonzero byte", tail, dropped)
	}
}

func TestWALNumber(t *testing.T) {
	for _, tc := range []struct {
		file string
		want uint64
		ok   bool
	}{
		{"/d/txnlog/000051.log", 51, true},
		{"000007.log", 7, true},
		{"/d/000051-001.log", 51, true},
		{"/d/OPTIONS-000003", 0, false},
		{"/d/.log", 0, false},
		{"/d/000051.sst", 0, false},
		{"/d/99999999999999999999999.log", 0, false},
	} {
		got, ok := txnlog.WALNumber(tc.file)
		if got != tc.want || ok != tc.ok {
			t.Errorf("WALNumber(%q) = %d, %v; want %d, %v", tc.file, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzWALNumber(f *testing.F) {
	f.Add("/d/txnlog/000051.log")
	f.Add("x/.log")
	f.Fuzz(func(t *testing.T, file string) {
		n, ok := txnlog.WALNumber(file)
		if ok && !strings.HasSuffix(file, ".log") {
			t.Fatalf("WALNumber(%q) = %d for a name that is not a WAL", file, n)
		}
	})
}

// writeAll replaces the file at path with b, synced.
func writeAll(t testing.TB, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func readAll(t testing.TB, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Both backends store a batch whole or not at all: a bad zxid in the middle
// leaves the log as it was.
func TestAppendAllOrNothing(t *testing.T) {
	logs := map[string]txnlog.Log{
		"mem":    txnlog.NewMem(),
		"pebble": open(t, "/log", &txnlog.PebbleOptions{FS: vfs.NewMem()}),
	}
	for name, l := range logs {
		appendRange(t, l, 1, 3)
		if err := l.Append(rec(4), rec(6), rec(5)); err == nil {
			t.Fatalf("%s: out-of-order batch accepted", name)
		}
		checkRange(t, replayAll(t, l, 0), 1, 3)
		l.Close()
	}
}
