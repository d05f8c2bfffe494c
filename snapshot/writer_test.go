package snapshot

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/znode"
)

// bufferFile is a file in memory that never needs writeback.
type bufferFile struct{ bytes.Buffer }

func (*bufferFile) SyncTo(int64) (bool, error) { return false, nil }

// fakeClock is a clock whose sleeps advance it, by the time asked plus
// overshoot.
type fakeClock struct {
	t         time.Time
	overshoot time.Duration
	sleeps    []time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(d time.Duration) {
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d + c.overshoot)
}

func fakePacer(rate int64, c *fakeClock) *pacer {
	p := newPacer(rate)
	p.now, p.sleep = c.now, c.sleep
	p.start()
	return p
}

const mib = 1 << 20

// The pacer holds the average rate, in steps of one write each.
func TestPacerRate(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	p := fakePacer(64*mib, c)
	for range 1024 {
		p.step(64 << 10) // 64 MiB in all
	}
	assert.Equal(t, time.Second, c.t.Sub(time.Unix(0, 0)), "64 MiB at 64 MiB/s")
	require.Len(t, c.sleeps, 1024, "one sleep per step: the CPU and the disk are taken a step at a time")
	for _, d := range c.sleeps {
		assert.InDelta(t, float64(time.Second/1024), float64(d), 1)
	}
}

// A sleep that overshoots is made up by the next steps, so the average
// rate holds.
func TestPacerMakesUpOvershoot(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0), overshoot: 300 * time.Microsecond}
	p := fakePacer(64*mib, c)
	for range 1024 {
		p.step(64 << 10)
	}
	elapsed := c.t.Sub(time.Unix(0, 0))
	assert.InDelta(t, float64(time.Second), float64(elapsed), float64(2*time.Millisecond), "got %v", elapsed)
}

// After a stall the pacer lets at most burst's worth of bytes out without
// a sleep, not everything the stall delayed.
func TestPacerNoCatchUpBurst(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	p := fakePacer(64*mib, c)
	for range 10 {
		p.step(64 << 10)
	}
	c.t = c.t.Add(100 * time.Millisecond) // the disk or the scheduler stalled the writer
	c.sleeps = nil
	free := 0
	for range 200 {
		before := len(c.sleeps)
		p.step(64 << 10)
		if len(c.sleeps) > before {
			break
		}
		free += 64 << 10
	}
	// 4 ms at 64 MiB/s is 256 KiB: four steps, not the 100 ms (6.4 MiB) lost.
	burst := int(float64(64*mib) * paceBurst.Seconds())
	assert.LessOrEqual(t, free, burst)
	assert.Greater(t, free, burst-64<<10)
	for range 100 {
		p.step(64 << 10)
	}
	assert.Len(t, c.sleeps, 101, "and then a sleep after every step again")
}

func TestPacerOff(t *testing.T) {
	for _, rate := range []int64{0, -1} {
		c := &fakeClock{t: time.Unix(0, 0)}
		p := fakePacer(rate, c)
		for range 100 {
			p.step(1 << 20)
		}
		assert.Empty(t, c.sleeps, "rate %d", rate)
	}
}

// recFS records the writes and writeback requests of the files it creates.
type recFS struct {
	vfs.FS
	full  bool // SyncTo reports a full sync
	files []*recFile
}

type recFile struct {
	vfs.File
	full   bool
	size   int64
	writes []int
	syncTo []int64 // offsets
	before []int64 // bytes written when each SyncTo came
}

func (fs *recFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err != nil {
		return nil, err
	}
	r := &recFile{File: f, full: fs.full}
	fs.files = append(fs.files, r)
	return r, nil
}

func (f *recFile) Write(b []byte) (int, error) {
	f.writes = append(f.writes, len(b))
	f.size += int64(len(b))
	return f.File.Write(b)
}

func (f *recFile) SyncTo(n int64) (bool, error) {
	f.syncTo = append(f.syncTo, n)
	f.before = append(f.before, f.size)
	return f.full, nil
}

// Write hands the file small writes and starts writeback a step at a time,
// at page boundaries short of the last page written; where SyncTo is a full
// fdatasync, it does so a MiB at a time. The sizes are written out here,
// not taken from the constants: they are what BENCHMARKS.md measured.
func TestWriteSteps(t *testing.T) {
	const (
		kib       = 1 << 10
		maxWrite  = 68 * kib // a 64 KiB chunk and its last record
		syncStep  = 64 * kib
		fullStep  = 1024 * kib
		page      = 4 * kib
		fileSize  = 500 * kib // bigTree, with one 200 KiB record
		fileSlack = 20 * kib
	)
	for _, full := range []bool{false, true} {
		fs := &recFS{FS: newFS(t), full: full}
		snap := bigTree(t).Snapshot()
		meta, err := Write(fs, dir, snap, nil)
		require.NoError(t, err)
		require.Len(t, fs.files, 1)
		f := fs.files[0]
		assert.Equal(t, meta.Size, f.size)
		assert.InDelta(t, fileSize, f.size, fileSlack)
		for _, n := range f.writes {
			assert.LessOrEqual(t, n, maxWrite, "no write call larger than a step")
		}
		step := int64(syncStep)
		wantSyncs := int(f.size / step)
		if full {
			wantSyncs = 1 // then none: the file is less than fullStep
		}
		assert.InDelta(t, wantSyncs, len(f.syncTo), 1, "writeback every %d bytes of %d", step, f.size)
		prev := int64(0)
		for i, off := range f.syncTo {
			if i == 1 && full {
				step = fullStep // the first SyncTo showed what it costs
			}
			assert.Zero(t, off%page, "page-aligned")
			assert.Less(t, off, f.before[i], "short of the page being written")
			assert.GreaterOrEqual(t, off-prev, step, "a step apart")
			assert.Less(t, f.before[i]-prev, step+maxWrite+page, "never more than a step and a write left without writeback")
			prev = off
		}
		got, _, _, err := Load(fs, fs.PathJoin(dir, FileName(snap.Zxid())))
		require.NoError(t, err)
		assert.Equal(t, dump(t, snap), dump(t, got))
	}
}

// WriteWith with a rate takes at least size/rate (less the burst). A lower
// bound only: a slow machine may take longer, never less.
func TestWriteWithPaces(t *testing.T) {
	fs := newFS(t)
	snap := bigTree(t).Snapshot()
	const rate = 8 * mib
	start := time.Now()
	meta, err := WriteWith(fs, dir, snap, nil, WriteOptions{BytesPerSecond: rate})
	require.NoError(t, err)
	elapsed := time.Since(start)
	want := time.Duration(float64(meta.Size)/rate*float64(time.Second)) - paceBurst
	assert.GreaterOrEqual(t, elapsed, want, "%d bytes at %d B/s", meta.Size, rate)
}

// Nodes are read in batches: every node is written, in order, whatever
// the batch boundaries, and an error in the middle of a batch stops the
// write there.
func TestWalkBatches(t *testing.T) {
	for _, n := range []int{0, 1, walkBatchSize - 2, walkBatchSize - 1, walkBatchSize, 3*walkBatchSize + 5} {
		tr := tree.New()
		for i := range n {
			apply(t, tr, create(tr, fmt.Sprintf("/n%04d", i), []byte{byte(i)}, znode.OpenACL(), 0))
		}
		fs := newFS(t)
		snap := tr.Snapshot()
		meta, err := Write(fs, dir, snap, nil)
		require.NoError(t, err)
		assert.Equal(t, tr.Len(), meta.Nodes)
		got, _, _, err := Load(fs, fs.PathJoin(dir, FileName(snap.Zxid())))
		require.NoError(t, err)
		assert.Equal(t, dump(t, snap), dump(t, got), "%d nodes", n)
	}

	tr := tree.New()
	for i := range 3 * walkBatchSize {
		path := fmt.Sprintf("/n%04d", i)
		if i == walkBatchSize+10 {
			path += strings.Repeat("x", MaxPathSize) // one over the limit, mid-batch
		}
		apply(t, tr, create(tr, path, nil, znode.OpenACL(), 0))
	}
	fs := newFS(t)
	_, err := Write(fs, dir, tr.Snapshot(), nil)
	require.ErrorContains(t, err, "over the limit")
	names, err := fs.List(dir)
	require.NoError(t, err)
	assert.Empty(t, names, "no file left behind")
}
