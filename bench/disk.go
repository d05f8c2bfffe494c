package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// DiskSyncResult is the latency of the disk's data sync alone.
type DiskSyncResult struct {
	Syncs    int           // syncs measured
	P50, P99 time.Duration // their latency percentiles
	PerSec   float64       // syncs per second, one after the other
}

// String renders the result on one line.
func (r DiskSyncResult) String() string {
	return fmt.Sprintf("disk: fdatasync of a 200-byte overwrite, one at a time: p50 %v, p99 %v, %.0f/s (%d syncs)",
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.PerSec, r.Syncs)
}

// DiskSync writes 200 bytes into a preallocated file under dir and syncs
// its data (fdatasync on Linux, as pebble's WAL does), again and again for
// d. It is the floor under a durable write: a client that waits for each
// write's acknowledgement, as a go-zookeeper caller does, cannot complete
// more synced writes per second than PerSec on this disk, whatever the
// server does. (The file is written in place, so the sync need not touch
// the file's size: the cheapest sync there is.) dir "" is the system's
// temporary directory, which may not be on the disk a data directory uses;
// d ≤ 0 means 2s.
func DiskSync(dir string, d time.Duration) (DiskSyncResult, error) {
	if d <= 0 {
		d = 2 * time.Second
	}
	parent, err := os.MkdirTemp(dir, "zkembed-disksync-")
	if err != nil {
		return DiskSyncResult{}, err
	}
	defer os.RemoveAll(parent)
	const fileSize = 16 << 20
	f, err := vfs.Default.Create(filepath.Join(parent, "sync"), vfs.WriteCategoryUnspecified)
	if err != nil {
		return DiskSyncResult{}, err
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, fileSize)); err != nil {
		return DiskSyncResult{}, err
	}
	if err := f.Sync(); err != nil {
		return DiskSyncResult{}, err
	}
	buf := make([]byte, 200)
	var lat []time.Duration
	var total time.Duration
	for off := int64(0); total < d; off = (off + int64(len(buf))) % (fileSize - int64(len(buf))) {
		start := time.Now()
		if _, err := f.WriteAt(buf, off); err != nil {
			return DiskSyncResult{}, err
		}
		if err := f.SyncData(); err != nil {
			return DiskSyncResult{}, err
		}
		l := time.Since(start)
		lat = append(lat, l)
		total += l
	}
	slices.Sort(lat)
	return DiskSyncResult{Syncs: len(lat), P50: lat[len(lat)/2], P99: lat[len(lat)*99/100], PerSec: float64(len(lat)) / total.Seconds()}, nil
}
