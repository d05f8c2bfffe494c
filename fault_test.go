package zkembed_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
)

// Disk faults on the log (EIO, ENOSPC on the WAL's write or sync): the
// failing request gets an error that says its outcome is unknown; the engine
// stops accepting writes at once instead of hanging or exiting the process;
// reads keep working on the last durable state; Close returns; and after a
// reopen every acknowledged write is there.
func TestDiskFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  errorfs.OpKind
		errno syscall.Errno
	}{
		{"WAL sync EIO", errorfs.OpFileSyncData, syscall.EIO},
		{"WAL sync ENOSPC", errorfs.OpFileSyncData, syscall.ENOSPC},
		{"WAL write EIO", errorfs.OpFileWrite, syscall.EIO},
		{"WAL write ENOSPC", errorfs.OpFileWrite, syscall.ENOSPC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			var armed atomic.Bool
			fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
				if armed.Load() && op.Kind == tc.kind && strings.HasSuffix(op.Path, ".log") {
					return tc.errno
				}
				return nil
			}))
			db, err := zkembed.Open("/db", &zkembed.Options{FS: fs})
			require.NoError(t, err)
			s, err := db.NewSession(ctx, nil)
			require.NoError(t, err)
			for i := range 10 {
				mustCreate(t, s, fmt.Sprintf("/ok%d", i), "acked")
			}

			// Concurrent writers hit the fault together: none may hang.
			armed.Store(true)
			var wg sync.WaitGroup
			var failed atomic.Int64
			start := time.Now()
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 20 {
						_, err := s.Create(ctx, fmt.Sprintf("/f%d-%d", w, i), nil, zkembed.ModePersistent, zkembed.OpenACL())
						if err != nil {
							failed.Add(1)
							assert.ErrorIs(t, err, zkembed.ErrConnectionLoss, "the outcome of a failed write is unknown")
						}
					}
				}()
			}
			wg.Wait()
			assert.Less(t, time.Since(start), 5*time.Second, "writes fail within a bounded time")
			assert.Greater(t, failed.Load(), int64(0))
			_, err = s.Create(ctx, "/after", nil, zkembed.ModePersistent, zkembed.OpenACL())
			require.ErrorIs(t, err, zkembed.ErrFailed, "the engine stopped accepting writes")
			assert.ErrorIs(t, err, tc.errno, "the cause is reported")

			// Reads keep working, on durable state only.
			data, _, err := s.GetData(ctx, "/ok9")
			require.NoError(t, err)
			assert.Equal(t, "acked", string(data))
			assert.False(t, exists(t, s, "/after"))

			closed := make(chan error, 1)
			go func() { closed <- db.Close() }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("Close hangs after a disk fault")
			}

			// Every acknowledged write survives a crash right after.
			clone := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
			db2, err := zkembed.Open("/db", &zkembed.Options{FS: clone})
			require.NoError(t, err)
			defer db2.Close()
			s2, err := db2.NewSession(ctx, nil)
			require.NoError(t, err)
			for i := range 10 {
				assert.True(t, exists(t, s2, fmt.Sprintf("/ok%d", i)))
			}
			require.NoError(t, db2.Check())
		})
	}
}

// A disk that stalls instead of failing (pebble can wait forever on a full
// disk without an error): writes fail once Options.WriteTimeout has passed,
// reads go on, and nothing hangs.
func TestStalledDisk(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var armed atomic.Bool
	release := make(chan struct{})
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if armed.Load() && op.Kind == errorfs.OpFileSyncData && strings.HasSuffix(op.Path, ".log") {
			<-release
		}
		return nil
	}))
	db, err := zkembed.Open("/db", &zkembed.Options{FS: fs, WriteTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	s, err := db.NewSession(ctx, nil)
	require.NoError(t, err)
	mustCreate(t, s, "/ok", "acked")

	armed.Store(true)
	start := time.Now()
	stalled := make(chan error, 1)
	go func() {
		_, err := s.Create(ctx, "/stalled", nil, zkembed.ModePersistent, zkembed.OpenACL())
		stalled <- err
	}()
	select {
	case err = <-stalled:
	case <-time.After(3 * time.Second):
		close(release) // unstick the disk so the test can end
		t.Fatal("a write on a stalled disk did not fail by its deadline")
	}
	assert.ErrorIs(t, err, zkembed.ErrFailed)
	assert.ErrorIs(t, err, zkembed.ErrOperationTimeout)
	assert.Less(t, time.Since(start), 2*time.Second, "the write fails at its deadline")
	_, err = s.Create(ctx, "/next", nil, zkembed.ModePersistent, zkembed.OpenACL())
	assert.ErrorIs(t, err, zkembed.ErrFailed, "and the engine stops accepting writes")
	data, _, err := s.GetData(ctx, "/ok")
	require.NoError(t, err, "reads go on")
	assert.Equal(t, "acked", string(data))
	assert.False(t, exists(t, s, "/stalled"))

	close(release) // the disk comes back; the stuck append may now finish
	require.NoError(t, db.Close())
}
