package snapshot

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// threadNice returns the calling thread's nice value (-1 on error).
func threadNice() int {
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		return -1
	}
	return 20 - prio
}

// hookFS calls onCreate from Create, on the writing goroutine.
type hookFS struct {
	vfs.FS
	onCreate func()
}

func (fs *hookFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	fs.onCreate()
	return fs.FS.Create(name, c)
}

// With LowerPriority, the snapshot is written on another thread, whose
// nice value is raised by it; the caller's thread keeps its own. Without,
// it is written on the caller's thread, at its priority.
func TestWriteWithLowerPriority(t *testing.T) {
	runtime.LockOSThread() // so that "the caller's thread" is one thread
	defer runtime.UnlockOSThread()
	caller, before := syscall.Gettid(), threadNice()
	var writer, during int
	fs := &hookFS{FS: newFS(t), onCreate: func() { writer, during = syscall.Gettid(), threadNice() }}

	_, err := WriteWith(fs, dir, bigTree(t).Snapshot(), nil, WriteOptions{LowerPriority: 7})
	require.NoError(t, err)
	assert.NotEqual(t, caller, writer, "written on a thread of its own")
	assert.Equal(t, min(before+7, 19), during, "at a lower priority")
	assert.Equal(t, before, threadNice(), "the caller's thread keeps its priority")

	_, err = WriteWith(fs, dir, bigTree(t).Snapshot(), nil, WriteOptions{})
	require.NoError(t, err)
	assert.Equal(t, caller, writer)
	assert.Equal(t, before, during)
}

// lowerThreadPriority never goes past 19.
func TestLowerThreadPriorityCaps(t *testing.T) {
	done := make(chan int)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded
		if err := lowerThreadPriority(100); err != nil {
			done <- -1
			return
		}
		done <- threadNice()
	}()
	assert.Equal(t, 19, <-done)
}
