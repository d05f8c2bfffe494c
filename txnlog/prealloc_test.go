package txnlog_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/txnlog"
)

// newestWAL returns the path of the highest-numbered WAL file in dir.
func newestWAL(t *testing.T, fs vfs.FS, dir string) string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var newest string
	for _, name := range names {
		if strings.HasSuffix(name, ".log") && name > newest {
			newest = name
		}
	}
	if newest == "" {
		t.Fatalf("no WAL file in %s", dir)
	}
	return fs.PathJoin(dir, newest)
}

// Zeros ending the newest WAL, as preallocation leaves them, are neither
// dropped bytes nor leftovers, whatever comes before them; and pebble
// replays every record of a WAL that ends in zeros, after a crash or a
// clean close.
func TestWALTailZeros(t *testing.T) {
	garbage := bytes.Repeat([]byte{0xa5, 0x3c, 0x07, 0x01, 0xff}, 1000)
	for _, tc := range []struct {
		name   string
		clean  bool   // closed cleanly (a trailer), else a crash after record 10
		middle []byte // written before the zeros
		zeros  int
		want   txnlog.WALTail // Dropped, Leftovers and Zeros
	}{
		{name: "crash, zeros", zeros: 300 << 10, want: txnlog.WALTail{Zeros: 300 << 10}},
		{name: "crash, one zero", zeros: 1, want: txnlog.WALTail{Zeros: 1}},
		{name: "crash, torn bytes, zeros", middle: garbage, zeros: 200 << 10, want: txnlog.WALTail{Dropped: int64(len(garbage)), Zeros: 200 << 10}},
		{name: "crash, zeros at a 64 KiB boundary", middle: garbage, zeros: 64 << 10, want: txnlog.WALTail{Dropped: int64(len(garbage)), Zeros: 64 << 10}},
		{name: "clean, zeros", clean: true, zeros: 1 << 20, want: txnlog.WALTail{Zeros: 1 << 20}},
		{name: "clean, leftovers, zeros", clean: true, middle: garbage, zeros: 70 << 10, want: txnlog.WALTail{Leftovers: int64(len(garbage)), Zeros: 70 << 10}},
		{name: "clean, nothing after", clean: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			p := open(t, "/log", &txnlog.PebbleOptions{FS: fs})
			appendRange(t, p, 1, 10)
			var after vfs.FS = fs.CrashClone(vfs.CrashCloneCfg{})
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.clean {
				after = fs
			}
			path := newestWAL(t, after, "/log")
			body := readAll(t, after, path)
			body = append(slices.Clone(body), tc.middle...)
			writeAll(t, after, path, append(body, make([]byte, tc.zeros)...))

			p = open(t, "/log", &txnlog.PebbleOptions{FS: after})
			defer p.Close()
			checkRange(t, replayAll(t, p, 0), 1, 10)
			got := p.WALTail()
			if got.File != path {
				t.Fatalf("WALTail = %+v, want replay to stop in %s", got, path)
			}
			got.File, got.Offset = "", 0
			if got != tc.want {
				t.Fatalf("WALTail = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// On Linux a WAL file is preallocated at its full size, not only its
// space (see fullSizeWALs): the file is longer than what pebble wrote, and its
// tail is zeros. A copy of the directory taken while the log is open, as
// a crash after the last Append would leave it, and the directory after a
// clean close both reopen with every record, nothing dropped.
func TestWALPreallocatedOnDisk(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("WALs are preallocated at their full size on Linux only, not on %s", runtime.GOOS)
	}
	probe, err := os.Create(filepath.Join(t.TempDir(), "probe"))
	if err != nil {
		t.Fatal(err)
	}
	err = txnlog.FallocateSized(probe.Fd(), 0, 4096)
	probe.Close()
	if errors.Is(err, syscall.EOPNOTSUPP) {
		t.Skipf("the filesystem of %s refuses fallocate mode 0 (%v): WALs keep pebble's own preallocation there", os.TempDir(), err)
	}
	if err != nil {
		t.Fatalf("fallocate mode 0: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "log")
	p := open(t, dir, nil)
	appendRange(t, p, 1, 10)
	wal := newestWAL(t, vfs.Default, dir)
	st, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	// Ten records are a few KB; pebble preallocates 110% of its memtable
	// (4 MiB by default).
	if st.Size() < 1<<20 {
		t.Fatalf("%s is %d bytes after ten records: not preallocated at its full size", wal, st.Size())
	}

	crashed := filepath.Join(t.TempDir(), "log")
	copyDir(t, dir, crashed)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{crashed, dir} {
		p := open(t, d, nil)
		checkRange(t, replayAll(t, p, 0), 1, 10)
		tail := p.WALTail()
		if tail.File != filepath.Join(d, filepath.Base(wal)) || tail.Dropped != 0 || tail.Leftovers != 0 || tail.Zeros < 1<<20 {
			t.Fatalf("%s: WALTail = %+v, want replay to stop in %s before megabytes of zeros, nothing dropped", d, tail, filepath.Base(wal))
		}
		t.Logf("%s: WALTail %+v", d, tail)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
