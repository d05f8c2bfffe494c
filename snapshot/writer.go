package snapshot

import (
	"encoding/binary"
	"io"
)

// How a snapshot reaches the disk.
//
// A snapshot of a million znodes is 160 MB, written while the engine's log
// goes on making every write durable with a small fdatasync. Both share
// one disk and, on small machines, a CPU or two, and the log's fdatasyncs
// set the write latency the engine promises. So the writer takes the disk
// and the CPU in small, even steps, never in bursts:
//
//   - Each chunk (64 KiB, see the format) is handed to the file in one
//     write call as soon as it is complete: no larger buffer, so no
//     syscall copies more than about writeStep bytes at a time.
//   - Every writebackStep bytes it asks the kernel to start writing back
//     what it has written (File.SyncTo: sync_file_range on Linux ext4,
//     which first waits for the previous step's writeback). So at most
//     one step is in flight on the device at a time, each fdatasync of
//     the log queues behind at most that much of the snapshot, and a
//     disk slow to take a step slows the snapshot down (the pacer does
//     not let it catch up in a burst). pebble's vfs.NewSyncingFile, used
//     before, starts writeback 1 MiB at a time: on the test VM a WAL-like
//     append+fdatasync loop beside a 64 MiB/s writer had a p99 of about
//     1.25 ms that way, 0.50 ms with 64 KiB steps, 0.40 ms alone.
//     Smaller steps cost CPU (each is an I/O request: about 0.1 s of
//     system time per 160 MB at 64 KiB, against 0.05 s at 1 MiB).
//   - Where SyncTo cannot start writeback without a full fdatasync (it
//     says so with fullSync: file systems without a working
//     sync_file_range), a step costs a flush of the device's cache, so
//     steps are fullSyncStep apart instead.
//   - After each write the pacer (see pacer) sleeps until the bytes are
//     due at WriteOptions.BytesPerSecond, so the encoding too runs in
//     slices of a few hundred µs rather than taking a CPU for the whole
//     snapshot.
//
// Writeback stops at a page boundary, short of the last page written:
// that page is written to again by the next write, which would otherwise
// wait for its writeback and send it to the disk twice.
const (
	writeStep      = chunkTarget + 4<<10 // most bytes per write call: a chunk and its last record, usually
	writebackStep  = 64 << 10
	fullSyncStep   = 1 << 20
	writebackAlign = 4 << 10
)

// chunkHead is room kept in front of a chunk's payload for its length, so
// that a chunk goes to the file in one write without being copied.
const chunkHead = binary.MaxVarintLen64

// file is what writer needs of a vfs.File.
type file interface {
	io.Writer
	// SyncTo starts writeback of the first length bytes; fullSync reports
	// that it made the whole file durable (an fdatasync) instead.
	SyncTo(length int64) (fullSync bool, err error)
}

// writer streams records into chunks and chunks into the file, keeping the
// CRC of every byte written. After the first error every write is a no-op
// and the error sticks.
type writer struct {
	f     file
	crc   uint32
	size  int64  // bytes written to f
	chunk []byte // chunkHead bytes of room, then the payload being built
	err   error
	pace  *pacer

	synced   int64 // writeback has been started up to here
	syncStep int64 // writebackStep, or fullSyncStep once SyncTo proved costly
}

func newWriter(f file, opts WriteOptions) *writer {
	return &writer{
		f:        f,
		chunk:    make([]byte, chunkHead, chunkHead+writeStep),
		pace:     newPacer(opts.BytesPerSecond),
		syncStep: writebackStep,
	}
}

// payload returns how many payload bytes the chunk holds.
func (w *writer) payload() int { return len(w.chunk) - chunkHead }

// write appends b to the file, a step at a time.
func (w *writer) write(b []byte) {
	if w.err != nil {
		return
	}
	w.crc = crc32Update(w.crc, b)
	for len(b) > 0 && w.err == nil {
		n := min(len(b), writeStep)
		// vfs.File.Write may modify what it is given: b is not read again.
		if _, w.err = w.f.Write(b[:n]); w.err != nil {
			return
		}
		w.size += int64(n)
		b = b[n:]
		w.writeback()
		w.pace.step(n)
	}
}

// writeback starts writeback of what has been written, once a step's
// worth is waiting.
func (w *writer) writeback() {
	to := w.size &^ (writebackAlign - 1)
	if to-w.synced < w.syncStep {
		return
	}
	full, err := w.f.SyncTo(to)
	if err != nil {
		w.err = err
		return
	}
	if full {
		w.syncStep = fullSyncStep
	}
	w.synced = to
}

// endRecord cuts the chunk if the record just appended filled it.
func (w *writer) endRecord() {
	if w.payload() >= chunkTarget {
		w.flushChunk()
	}
}

// flushChunk writes the chunk (length, payload, CRC) in one write.
func (w *writer) flushChunk() {
	if w.payload() == 0 {
		return
	}
	var lenBuf [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(lenBuf[:], uint64(w.payload()))
	frame := w.chunk[chunkHead-l:]
	copy(frame, lenBuf[:l])
	frame = binary.LittleEndian.AppendUint32(frame, crc32Update(0, frame)) // CRC of the length and the payload
	w.write(frame)
	w.chunk = w.chunk[:chunkHead]
}
