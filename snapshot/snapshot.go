package snapshot

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// ErrNone is returned by LoadNewest when the directory holds no snapshot
// file at all (or does not exist). It is not returned when snapshot files
// exist but all are corrupt: that is an ErrCorrupt error.
var ErrNone = errors.New("snapshot: no snapshot")

// Meta describes a snapshot file.
type Meta struct {
	Zxid     znode.Zxid // the tree's zxid: replay the log from Zxid+1
	Digest   uint64     // the tree digest (see Digest)
	Nodes    int        // nodes in the tree, the root and built-ins included
	Sessions int        // entries in the session table
	Size     int64      // bytes in the file
}

const (
	filePrefix = "snapshot."
	tmpSuffix  = ".tmp"
	hexDigits  = 16
	bufSize    = 256 << 10
)

// FileName returns the name of the snapshot file at zxid (without a
// directory): "snapshot." and zxid as 16 lowercase hex digits.
func FileName(zxid znode.Zxid) string {
	return fmt.Sprintf("%s%016x", filePrefix, uint64(zxid))
}

// parseName returns the zxid of a complete snapshot's file name.
func parseName(name string) (znode.Zxid, bool) {
	hex, ok := strings.CutPrefix(name, filePrefix)
	if !ok || len(hex) != hexDigits {
		return 0, false
	}
	for _, c := range []byte(hex) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || v > 1<<63-1 {
		return 0, false
	}
	return znode.Zxid(v), true
}

// isTmpName reports whether name is a temporary file Write makes.
func isTmpName(name string) bool {
	base, ok := strings.CutSuffix(name, tmpSuffix)
	if !ok {
		return false
	}
	_, ok = parseName(base)
	return ok
}

// Mutations for the tests' sensitivity checks: each removes one step of
// the protocol, and the crash tests must notice.
const (
	mutantNone = iota
	mutantNoFileSync
	mutantNoDirSync
)

var testMutant = mutantNone

// WriteOptions tune WriteWith.
type WriteOptions struct {
	// BytesPerSecond caps the average write rate; 0 or less means no cap.
	// A large snapshot written at full speed takes the disk from the log's
	// small fsyncs, and their latency with it. Whatever the rate, the
	// bytes go to the file and to the disk in steps of 64 KiB.
	BytesPerSecond int64

	// LowerPriority, if positive, is added to the nice value of the
	// thread that encodes and writes the snapshot (Linux only; elsewhere
	// it is ignored), so that when the CPUs are short, the kernel runs
	// the threads that wait for the log's fsyncs first. WriteWith then
	// writes on a new thread of its own, discarded afterwards, and waits
	// for it: the caller's thread keeps its priority.
	LowerPriority int
}

// Write writes a snapshot of t and sessions to dir, which must exist, as
// dir/FileName(t.Zxid()), replacing any file of that name. t must be a
// published immutable tree (tree.Snapshot); Write only reads it, and may
// run concurrently with the engine's writes to the tree it came from.
// sessions are stored sorted by id; duplicate ids are an error. See the
// package doc for the protocol and what an error leaves behind.
func Write(fs vfs.FS, dir string, t *tree.Tree, sessions []Session) (Meta, error) {
	return WriteWith(fs, dir, t, sessions, WriteOptions{})
}

// WriteWith is Write with options.
func WriteWith(fs vfs.FS, dir string, t *tree.Tree, sessions []Session, opts WriteOptions) (Meta, error) {
	if opts.LowerPriority <= 0 {
		return writeWith(fs, dir, t, sessions, opts)
	}
	// On a thread of its own, whose priority is lowered and which the
	// runtime discards afterwards (see lowerThreadPriority).
	type result struct {
		meta Meta
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		// Best effort: a sandbox may forbid it, and the snapshot is
		// written all the same.
		_ = lowerThreadPriority(opts.LowerPriority)
		meta, err := writeWith(fs, dir, t, sessions, opts)
		done <- result{meta, err}
	}()
	r := <-done
	return r.meta, r.err
}

// writeWith is WriteWith on the calling thread.
func writeWith(fs vfs.FS, dir string, t *tree.Tree, sessions []Session, opts WriteOptions) (meta Meta, err error) {
	zxid := t.Zxid()
	if zxid < 0 {
		return Meta{}, fmt.Errorf("snapshot: write: negative zxid %v", zxid)
	}
	ss := slices.Clone(sessions)
	slices.SortFunc(ss, func(a, b Session) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(ss); i++ {
		if ss[i].ID == ss[i-1].ID {
			return Meta{}, fmt.Errorf("snapshot: write: session %#x appears twice", ss[i].ID)
		}
	}
	for _, s := range ss {
		if s.Kind > txn.SessionRemote {
			return Meta{}, fmt.Errorf("snapshot: write: session %#x has unknown kind %v", s.ID, s.Kind)
		}
	}
	version := formatOf(ss)
	final := fs.PathJoin(dir, FileName(zxid))
	tmp := final + tmpSuffix
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return Meta{}, fmt.Errorf("snapshot: write: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			fs.Remove(tmp) // best effort: List ignores .tmp files anyway
			err = fmt.Errorf("snapshot: write %s: %w", final, err)
		}
	}()

	nodes := t.Len()
	w := newWriter(f, opts) // small, paced steps: see writer.go
	hdr := append([]byte(magic), version)
	hdr = binary.AppendVarint(hdr, int64(zxid))
	hdr = binary.AppendUvarint(hdr, uint64(len(ss)))
	hdr = binary.AppendUvarint(hdr, uint64(nodes))
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32Update(0, hdr))
	w.write(hdr)
	for _, s := range ss {
		w.chunk = appendSession(w.chunk, s, version)
		w.endRecord()
	}
	var digest uint64
	count := 0
	encode := func(r *tree.NodeRecord) bool {
		switch {
		case len(r.Path) > MaxPathSize:
			w.err = fmt.Errorf("node %.64q...: path is %d bytes, over the limit of %d", r.Path, len(r.Path), MaxPathSize)
		case len(r.Data) > MaxDataSize:
			w.err = fmt.Errorf("node %s: data is %d bytes, over the limit of %d", r.Path, len(r.Data), MaxDataSize)
		}
		start := len(w.chunk)
		w.chunk = tree.AppendRecord(w.chunk, r)
		if size := len(w.chunk) - start; size > MaxRecordSize && w.err == nil {
			w.err = fmt.Errorf("node %s: record is %d bytes, over the limit of %d", r.Path, size, MaxRecordSize)
		}
		digest += tree.EncodedDigest(w.chunk[start:])
		count++
		w.endRecord()
		return w.err == nil
	}
	var batch walkBatch // nodes read a batch at a time: see walkBatch
	t.Walk(func(n *tree.Node) bool { return batch.add(n, encode) })
	if w.err == nil {
		batch.flush(encode)
	}
	if w.err == nil && count != nodes {
		w.err = fmt.Errorf("tree changed while written (%d nodes, then %d): not an immutable snapshot", nodes, count)
	}
	if d, ok := t.Digest(); ok && w.err == nil && d != digest {
		// The tree's own bookkeeping disagrees with its nodes: never
		// persist a tree that cannot be trusted.
		w.err = fmt.Errorf("tree digest %#016x, nodes digest to %#016x: %w", d, digest, znode.ErrDataInconsistency)
	}
	w.flushChunk()
	trailer := []byte{0}
	trailer = binary.AppendUvarint(trailer, uint64(nodes))
	trailer = binary.LittleEndian.AppendUint64(trailer, digest)
	w.write(trailer)
	w.write(binary.LittleEndian.AppendUint32(nil, w.crc))
	if w.err != nil {
		return Meta{}, w.err
	}
	if testMutant != mutantNoFileSync {
		if err := f.Sync(); err != nil {
			return Meta{}, err
		}
	}
	err = f.Close()
	f = nil
	if err != nil {
		return Meta{}, err
	}
	if err := fs.Rename(tmp, final); err != nil {
		return Meta{}, err
	}
	meta = Meta{Zxid: zxid, Digest: digest, Nodes: nodes, Sessions: len(ss), Size: w.size}
	if testMutant != mutantNoDirSync {
		if err := syncDir(fs, dir); err != nil {
			return Meta{}, err
		}
	}
	return meta, nil
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// reader reads a snapshot file, keeping the CRC of every byte consumed.
type reader struct {
	br   *bufio.Reader
	off  int64 // bytes consumed
	size int64 // file size
	crc  uint32
}

func (r *reader) left() int64 { return r.size - r.off }

// readFull reads len(p) bytes. A short file is corruption; any other
// read error is returned as it is.
func (r *reader) readFull(p []byte, what string) error {
	if int64(len(p)) > r.left() {
		return corrupt("truncated: %s at offset %d needs %d bytes, %d left", what, r.off, len(p), r.left())
	}
	n, err := io.ReadFull(r.br, p)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return corrupt("truncated: %s at offset %d: file ends after %d bytes", what, r.off, r.off+int64(n))
		}
		return err
	}
	r.crc = crc32Update(r.crc, p)
	r.off += int64(len(p))
	return nil
}

// uvarint reads a minimal uvarint and returns it with its bytes.
func (r *reader) uvarint(what string, buf *[binary.MaxVarintLen64]byte) (uint64, []byte, error) {
	start := r.off
	for i := range buf {
		if err := r.readFull(buf[i:i+1], what); err != nil {
			return 0, nil, err
		}
		if buf[i] < 0x80 {
			v, n := binary.Uvarint(buf[:i+1])
			if n <= 0 {
				return 0, nil, corrupt("%s at offset %d: varint overflows 64 bits", what, start)
			}
			if n > 1 && buf[i] == 0 {
				return 0, nil, corrupt("%s at offset %d: varint is not minimal", what, start)
			}
			return v, buf[:i+1], nil
		}
	}
	return 0, nil, corrupt("%s at offset %d: varint overflows 64 bits", what, start)
}

// Load reads and verifies the snapshot file at path (see the package doc
// for what it checks) and returns the tree, writable, as tree.Restore
// builds it, with the session table sorted by id (nil if empty). If the
// file's name is a snapshot name, the zxid in it must match the file's.
func Load(fs vfs.FS, path string) (_ *tree.Tree, _ []Session, _ Meta, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("snapshot: load %s: %w", path, err)
		}
	}()
	f, err := fs.Open(path, vfs.SequentialReadsOption)
	if err != nil {
		return nil, nil, Meta{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, Meta{}, err
	}
	r := &reader{br: bufio.NewReaderSize(f, bufSize), size: st.Size()}
	if r.size < int64(minHeaderSize+minTrailerSize) {
		return nil, nil, Meta{}, corrupt("truncated: file is %d bytes", r.size)
	}

	// Header.
	var vbuf [binary.MaxVarintLen64]byte
	var fixed [len(magic) + 1]byte
	if err := r.readFull(fixed[:], "header"); err != nil {
		return nil, nil, Meta{}, err
	}
	if string(fixed[:len(magic)]) != magic {
		return nil, nil, Meta{}, corrupt("bad magic %q", fixed[:len(magic)])
	}
	version := fixed[len(magic)]
	if version != 1 && version != FormatVersion {
		return nil, nil, Meta{}, corrupt("unknown format version %d", version)
	}
	u, _, err := r.uvarint("zxid", &vbuf)
	if err != nil {
		return nil, nil, Meta{}, err
	}
	zxid := znode.Zxid(int64(u>>1) ^ -int64(u&1))
	nsess, _, err := r.uvarint("session count", &vbuf)
	if err != nil {
		return nil, nil, Meta{}, err
	}
	nnodes, _, err := r.uvarint("node count", &vbuf)
	if err != nil {
		return nil, nil, Meta{}, err
	}
	hcrc := r.crc
	var crcBuf [crcSize]byte
	if err := r.readFull(crcBuf[:], "header checksum"); err != nil {
		return nil, nil, Meta{}, err
	}
	if got := binary.LittleEndian.Uint32(crcBuf[:]); got != hcrc {
		return nil, nil, Meta{}, corrupt("bad header checksum: computed %#08x, stored %#08x", hcrc, got)
	}
	left := uint64(r.left())
	switch {
	case zxid < 0:
		return nil, nil, Meta{}, corrupt("negative zxid %v", zxid)
	case nnodes == 0:
		return nil, nil, Meta{}, corrupt("no nodes")
	case nsess > left/minSessionSize, nnodes > left/minNodeSize, nsess*minSessionSize+nnodes*minNodeSize > left:
		return nil, nil, Meta{}, corrupt("%d sessions and %d nodes cannot fit in the %d bytes left", nsess, nnodes, left)
	}
	if z, ok := parseName(fs.PathBase(path)); ok && z != zxid {
		return nil, nil, Meta{}, corrupt("file name says zxid %v, header says %v", z, zxid)
	}

	// Chunks.
	var sessions []Session
	if nsess > 0 {
		sessions = make([]Session, 0, nsess)
	}
	records := make([]tree.NodeRecord, 0, nnodes)
	total := nsess + nnodes
	read := uint64(0)
	prevPath := ""
	acls := map[string][]znode.ACL{}
	for {
		start := r.off
		n, lenBytes, err := r.uvarint("chunk length", &vbuf)
		if err != nil {
			return nil, nil, Meta{}, err
		}
		if n == 0 {
			if read < total {
				return nil, nil, Meta{}, corrupt("end marker at offset %d after %d of %d records", start, read, total)
			}
			break
		}
		if read == total {
			return nil, nil, Meta{}, corrupt("chunk at offset %d after the last record", start)
		}
		if n > maxChunk || int64(n) > r.left()-crcSize-minTrailerSize {
			return nil, nil, Meta{}, corrupt("chunk at offset %d: length %d is too large (%d bytes left)", start, n, r.left())
		}
		payload := make([]byte, n) // never reused: records alias it
		if err := r.readFull(payload, "chunk"); err != nil {
			return nil, nil, Meta{}, err
		}
		want := crc32Update(crc32Update(0, lenBytes), payload)
		if err := r.readFull(crcBuf[:], "chunk checksum"); err != nil {
			return nil, nil, Meta{}, err
		}
		if got := binary.LittleEndian.Uint32(crcBuf[:]); got != want {
			return nil, nil, Meta{}, corrupt("chunk at offset %d: bad checksum: computed %#08x, stored %#08x", start, want, got)
		}
		d := &decoder{b: payload, base: start + int64(len(lenBytes)), acls: acls, version: version}
		for d.off < len(d.b) && d.err == nil {
			if read == total {
				d.fail("chunk at offset %d: %d bytes after the last record", start, d.remaining())
				break
			}
			if d.off >= chunkTarget {
				d.fail("chunk at offset %d: not cut at %d bytes", start, chunkTarget)
				break
			}
			roff := d.off
			if read < nsess {
				s := d.session()
				if d.err == nil && len(sessions) > 0 && s.ID <= sessions[len(sessions)-1].ID {
					d.fail("session at offset %d: id %#x not after %#x", d.at(roff), s.ID, sessions[len(sessions)-1].ID)
				}
				sessions = append(sessions, s)
			} else {
				records = append(records, tree.NodeRecord{})
				rec := &records[len(records)-1]
				d.node(rec)
				if d.err == nil && len(records) > 1 && !nodeLess(prevPath, rec.Path) {
					d.fail("node at offset %d: %q not after %q", d.at(roff), rec.Path, prevPath)
				}
				prevPath = rec.Path
			}
			read++
		}
		if d.err == nil && d.off < chunkTarget && read < total {
			d.fail("chunk at offset %d: cut at %d bytes, before %d", start, d.off, chunkTarget)
		}
		if d.err != nil {
			return nil, nil, Meta{}, d.err
		}
	}

	if v := formatOf(sessions); version != v {
		return nil, nil, Meta{}, corrupt("format version %d for a session table of version %d: no session has a kind", version, v)
	}

	// Trailer.
	tnodes, _, err := r.uvarint("trailer node count", &vbuf)
	if err != nil {
		return nil, nil, Meta{}, err
	}
	if tnodes != nnodes {
		return nil, nil, Meta{}, corrupt("trailer says %d nodes, header %d", tnodes, nnodes)
	}
	var digestBuf [digestSize]byte
	if err := r.readFull(digestBuf[:], "digest"); err != nil {
		return nil, nil, Meta{}, err
	}
	fcrc := r.crc
	if err := r.readFull(crcBuf[:], "file checksum"); err != nil {
		return nil, nil, Meta{}, err
	}
	if got := binary.LittleEndian.Uint32(crcBuf[:]); got != fcrc {
		return nil, nil, Meta{}, corrupt("bad file checksum: computed %#08x, stored %#08x", fcrc, got)
	}
	if r.left() != 0 {
		return nil, nil, Meta{}, corrupt("%d bytes after the trailer", r.left())
	}
	if _, err := r.br.ReadByte(); err != io.EOF {
		if err == nil {
			return nil, nil, Meta{}, corrupt("file grew while read")
		}
		return nil, nil, Meta{}, err
	}

	t, err := tree.Restore(zxid, records)
	if err != nil {
		return nil, nil, Meta{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	digest := binary.LittleEndian.Uint64(digestBuf[:])
	// The restored tree tracks its digest from here on (see tree.TrackDigest).
	if got := t.TrackDigest(); got != digest {
		return nil, nil, Meta{}, corrupt("tree digest %#016x, stored %#016x", got, digest)
	}
	return t, sessions, Meta{Zxid: zxid, Digest: digest, Nodes: int(nnodes), Sessions: int(nsess), Size: r.size}, nil
}

// List returns the zxids of the complete snapshot files in dir, newest
// first. Temporary files and other names are ignored. It does not read the
// files.
func List(fs vfs.FS, dir string) ([]znode.Zxid, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: list %s: %w", dir, err)
	}
	var zxids []znode.Zxid
	for _, name := range names {
		if z, ok := parseName(name); ok {
			zxids = append(zxids, z)
		}
	}
	slices.SortFunc(zxids, func(a, b znode.Zxid) int { return cmp.Compare(b, a) })
	return zxids, nil
}

// LoadNewest loads the newest valid snapshot in dir. It tries the
// snapshots newest first, skipping corrupt ones (errors wrapping
// ErrCorrupt), and returns the errors of those it skipped, oldest last,
// so the engine can report them. Any other error (a failed open or read)
// stops it and is returned, since an older snapshot is no answer to an
// I/O fault.
//
// With no snapshot file at all (or no dir) it returns ErrNone. If there
// are snapshot files but all are corrupt, it returns an error wrapping
// ErrCorrupt, never an empty tree: the caller must not start from
// scratch then.
func LoadNewest(fs vfs.FS, dir string) (*tree.Tree, []Session, Meta, []error, error) {
	zxids, err := List(fs, dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, Meta{}, nil, ErrNone
		}
		return nil, nil, Meta{}, nil, err
	}
	if len(zxids) == 0 {
		return nil, nil, Meta{}, nil, ErrNone
	}
	var skipped []error
	for _, z := range zxids {
		t, ss, meta, err := Load(fs, fs.PathJoin(dir, FileName(z)))
		if err == nil {
			return t, ss, meta, skipped, nil
		}
		if !errors.Is(err, ErrCorrupt) {
			return nil, nil, Meta{}, skipped, err
		}
		skipped = append(skipped, err)
	}
	return nil, nil, Meta{}, skipped, fmt.Errorf("snapshot: all %d snapshots in %s are corrupt: %w", len(zxids), dir, errors.Join(skipped...))
}

// Prune removes all but the newest keep (at least 1) complete snapshots
// in dir, and every temporary file Write left behind, then syncs dir. It
// must not run concurrently with Write (whose temporary file it would
// remove, failing that Write). It does not check the snapshots it keeps.
func Prune(fs vfs.FS, dir string, keep int) error {
	if keep < 1 {
		return fmt.Errorf("snapshot: prune %s: keep is %d, must be at least 1", dir, keep)
	}
	names, err := fs.List(dir)
	if err != nil {
		return fmt.Errorf("snapshot: prune %s: %w", dir, err)
	}
	var zxids []znode.Zxid
	var remove []string
	for _, name := range names {
		if z, ok := parseName(name); ok {
			zxids = append(zxids, z)
		} else if isTmpName(name) {
			remove = append(remove, name)
		}
	}
	slices.SortFunc(zxids, func(a, b znode.Zxid) int { return cmp.Compare(b, a) })
	for _, z := range zxids[min(keep, len(zxids)):] {
		remove = append(remove, FileName(z))
	}
	if len(remove) == 0 {
		return nil
	}
	for _, name := range remove {
		if err := fs.Remove(fs.PathJoin(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("snapshot: prune %s: %w", dir, err)
		}
	}
	if err := syncDir(fs, dir); err != nil {
		return fmt.Errorf("snapshot: prune %s: %w", dir, err)
	}
	return nil
}
