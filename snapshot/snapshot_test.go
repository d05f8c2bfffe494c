package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

const dir = "snap"

// apply applies one-op transactions with consecutive zxids and time = 1000×zxid.
func apply(t testing.TB, tr *tree.Tree, ops ...txn.Op) {
	t.Helper()
	for _, op := range ops {
		z := tr.Zxid() + 1
		require.NoError(t, tr.Apply(&txn.Txn{Zxid: z, Time: 1000 * int64(z), Ops: []txn.Op{op}}, nil))
	}
}

// create returns the create op of path, with the parent cversion it needs.
func create(tr *tree.Tree, path string, data []byte, acl []znode.ACL, owner int64) txn.Op {
	parent, _ := znode.Split(path)
	return txn.Op{Type: txn.TypeCreate, Path: path, Data: data, ACL: acl, Owner: owner,
		ParentCversion: tr.Get(parent).StoredCversion() + 1}
}

var (
	digestACL = []znode.ACL{{Perms: znode.PermRead | znode.PermWrite, ID: znode.ID{Scheme: "digest", ID: "bob:hash="}},
		{Perms: znode.PermAll, ID: znode.ID{Scheme: "ip", ID: "10.0.0.0/8"}}}
	weirdACL = []znode.ACL{{Perms: znode.Perm(-1), ID: znode.ID{Scheme: "", ID: "\x00\xff"}}}
)

// buildRich builds a tree with every kind of node and field value.
func buildRich(t testing.TB) *tree.Tree {
	tr := tree.New()
	c := func(path string, data []byte, acl []znode.ACL, owner int64) {
		apply(t, tr, create(tr, path, data, acl, owner))
	}
	c("/a", []byte("hello"), znode.OpenACL(), 0)
	c("/a/x", nil, znode.OpenACL(), 0)
	c("/a/y", []byte{}, digestACL, 0)
	c("/a-", []byte("\x00\x01\xff"), weirdACL, 0)
	c("/ab", bytes.Repeat([]byte("z"), 300), znode.ReadACL(), 0)
	c("/a/x/eph", []byte("e"), znode.OpenACL(), 0x100000001)
	c("/a/x/eph2", nil, znode.CreatorAllACL(), 0x100000002)
	c("/box", nil, znode.OpenACL(), znode.ContainerOwner)
	c("/box/item", []byte("i"), znode.OpenACL(), 0)
	c("/ttl", []byte("t"), znode.OpenACL(), znode.TTLOwner(5000))
	c("/ünï", []byte("ü"), znode.OpenACL(), 0)
	c("/ünï/cödé", nil, znode.OpenACL(), 0)
	c("/zookeeper/quota/a", []byte("quota"), znode.OpenACL(), 0)
	c("/tmp", nil, znode.OpenACL(), 0)
	apply(t, tr,
		txn.Op{Type: txn.TypeSetData, Path: "/a", Data: []byte("hello again"), Version: 1},
		txn.Op{Type: txn.TypeSetData, Path: "/a/x", Data: nil, Version: 1},
		txn.Op{Type: txn.TypeSetACL, Path: "/a", ACL: digestACL, Version: 1},
		txn.Op{Type: txn.TypeDelete, Path: "/tmp"}, // root: stored cversion > children
		txn.Op{Type: txn.TypeSetData, Path: "/ttl", Data: []byte{}, Version: 7},
	)
	require.NoError(t, tr.Check())
	return tr
}

var richSessions = []Session{{ID: 0x100000002, Timeout: 4000, Kind: txn.SessionRemote}, {ID: 0x100000001, Timeout: 30000, Kind: txn.SessionInProcess},
	{ID: -5, Timeout: 0}, {ID: 1<<63 - 1, Timeout: -1}}

func dump(t testing.TB, tr *tree.Tree) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, tr.Dump(&b))
	return b.String()
}

func newFS(t testing.TB) *vfs.MemFS {
	fs := vfs.NewCrashableMem()
	require.NoError(t, fs.MkdirAll(dir, 0o755))
	require.NoError(t, syncDir(fs, ""))
	return fs
}

func readFile(t testing.TB, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return b
}

func writeFile(t testing.TB, fs vfs.FS, name string, b []byte) {
	t.Helper()
	f, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	// Clone: under the race detector pebble's MemFS scrambles written
	// buffers (vfs.File.Write may modify its argument).
	_, err = f.Write(slices.Clone(b))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

func TestRoundTrip(t *testing.T) {
	fs := newFS(t)
	tr := buildRich(t)
	snap := tr.Snapshot()
	meta, err := Write(fs, dir, snap, richSessions)
	require.NoError(t, err)
	assert.Equal(t, snap.Zxid(), meta.Zxid)
	assert.Equal(t, snap.Len(), meta.Nodes)
	assert.Equal(t, 4, meta.Sessions)
	assert.Equal(t, Digest(snap), meta.Digest)
	path := fs.PathJoin(dir, FileName(snap.Zxid()))
	assert.Equal(t, int64(len(readFile(t, fs, path))), meta.Size)

	got, sessions, gmeta, err := Load(fs, path)
	require.NoError(t, err)
	assert.Equal(t, meta, gmeta)
	assert.Equal(t, dump(t, snap), dump(t, got))
	assert.Equal(t, []Session{{ID: -5}, {ID: 0x100000001, Timeout: 30000, Kind: txn.SessionInProcess},
		{ID: 0x100000002, Timeout: 4000, Kind: txn.SessionRemote}, {ID: 1<<63 - 1, Timeout: -1}}, sessions)
	require.NoError(t, got.Check())

	// Field by field, the things a dump could blur.
	assert.True(t, got.Get("/a/x").IsNullData())
	assert.False(t, got.Get("/a/y").IsNullData())
	assert.NotNil(t, got.Get("/a/y").Data())
	assert.Equal(t, digestACL, got.Get("/a/y").ACL())
	assert.Equal(t, weirdACL, got.Get("/a-").ACL())
	assert.Equal(t, znode.KindContainer, got.Get("/box").Kind())
	assert.Equal(t, znode.KindTTL, got.Get("/ttl").Kind())
	assert.Equal(t, 5*time.Second, znode.TTLOf(got.Get("/ttl").Owner()))
	assert.Equal(t, []string{"/a/x/eph"}, got.Snapshot().EphemeralsWithPrefix(0x100000001, ""))
	var timed []string
	got.Timed(func(n *tree.Node) bool { timed = append(timed, n.Path()); return true })
	assert.ElementsMatch(t, []string{"/box", "/ttl"}, timed)
	snap.Walk(func(n *tree.Node) bool {
		assert.Equal(t, n.Record(), got.Get(n.Path()).Record(), n.Path())
		return true
	})

	// Canonical: writing the loaded tree again gives the same bytes.
	fs2 := newFS(t)
	_, err = Write(fs2, dir, got.Snapshot(), sessions)
	require.NoError(t, err)
	assert.Equal(t, readFile(t, fs, path), readFile(t, fs2, path))

	// The loaded tree is writable and goes on from the snapshot's zxid.
	apply(t, got, create(got, "/after", []byte("x"), znode.OpenACL(), 0))
	require.NoError(t, got.Check())
}

// The format version follows the session table: version 1, which has no
// session kinds, when no session has one, so a file written before kinds
// loads (kinds unknown) and writes back to the same bytes; version 2, with
// each session's kind, otherwise.
func TestSessionKinds(t *testing.T) {
	snap := buildRich(t).Snapshot()
	version := func(fs vfs.FS) byte { return readFile(t, fs, fs.PathJoin(dir, FileName(snap.Zxid())))[len(magic)] }
	for _, tc := range []struct {
		sessions []Session
		version  byte
	}{
		{nil, 1},
		{[]Session{{ID: 1, Timeout: 4000}, {ID: 2, Timeout: -1}}, 1},
		{[]Session{{ID: 1, Timeout: 4000, Kind: txn.SessionInProcess}, {ID: 2, Timeout: -1}}, 2},
		{[]Session{{ID: 1, Timeout: 4000, Kind: txn.SessionRemote}, {ID: 3, Kind: txn.SessionInProcess}}, 2},
	} {
		fs := newFS(t)
		_, err := Write(fs, dir, snap, tc.sessions)
		require.NoError(t, err)
		assert.Equal(t, tc.version, version(fs), "%v", tc.sessions)
		_, got, _, err := Load(fs, fs.PathJoin(dir, FileName(snap.Zxid())))
		require.NoError(t, err)
		assert.Equal(t, tc.sessions, got)
	}
	// The kinds are the only difference: one byte after each timeout.
	kinds := []Session{{ID: 1, Timeout: 4000, Kind: txn.SessionRemote}, {ID: 2, Timeout: 5, Kind: txn.SessionInProcess}}
	noKinds := []Session{{ID: 1, Timeout: 4000}, {ID: 2, Timeout: 5}}
	recs := records(snap)
	v1, v2 := craft(int64(snap.Zxid()), noKinds, recs, nil), craft(int64(snap.Zxid()), kinds, recs, nil)
	// id 1, timeout 4000, remote; id 2, timeout 5, in-process (zigzag varints).
	assert.True(t, bytes.Contains(v2, []byte{0x02, 0xc0, 0x3e, 2, 0x04, 0x0a, 1}), "v2 sessions: %x", v2)
	assert.True(t, bytes.Contains(v1, []byte{0x02, 0xc0, 0x3e, 0x04, 0x0a}), "v1 sessions: %x", v1)
	assert.Equal(t, []byte{1, 2}, []byte{v1[len(magic)], v2[len(magic)]}, "versions")
}

// A tree larger than a chunk, with a record larger than a chunk.
func bigTree(t testing.TB) *tree.Tree {
	tr := tree.New()
	apply(t, tr, create(tr, "/big", nil, znode.OpenACL(), 0))
	for i := range 60 {
		apply(t, tr, create(tr, fmt.Sprintf("/big/n%03d", i), bytes.Repeat([]byte{byte(i)}, 5000), znode.OpenACL(), 0))
	}
	apply(t, tr, create(tr, "/huge", bytes.Repeat([]byte("h"), 200<<10), digestACL, 0))
	apply(t, tr, create(tr, "/last", []byte("l"), znode.OpenACL(), 0))
	return tr
}

func TestRoundTripChunks(t *testing.T) {
	fs := newFS(t)
	snap := bigTree(t).Snapshot()
	meta, err := Write(fs, dir, snap, nil)
	require.NoError(t, err)
	path := fs.PathJoin(dir, FileName(snap.Zxid()))
	b := readFile(t, fs, path)
	assert.Greater(t, len(b), 400<<10)
	got, sessions, _, err := Load(fs, path)
	require.NoError(t, err)
	assert.Nil(t, sessions)
	assert.Equal(t, dump(t, snap), dump(t, got))
	assert.Equal(t, meta.Digest, Digest(got))

	// A flipped byte and a cut, every 997 bytes: chunks and their
	// boundaries all over the file.
	for off := 0; off < len(b); off += 997 {
		c := slices.Clone(b)
		c[off] ^= 0x10
		writeFile(t, fs, "x", c)
		_, _, _, err := Load(fs, "x")
		require.ErrorIs(t, err, ErrCorrupt, "flip at %d", off)
		writeFile(t, fs, "x", b[:off])
		_, _, _, err = Load(fs, "x")
		require.ErrorIs(t, err, ErrCorrupt, "cut at %d", off)
	}
}

// Write reads a published snapshot while the engine goes on writing.
func TestWriteWhileTreeChanges(t *testing.T) {
	fs := newFS(t)
	tr := bigTree(t)
	snap := tr.Snapshot()
	want := dump(t, snap)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 2000 {
			p := fmt.Sprintf("/big/n%03d", i%60)
			apply(t, tr, txn.Op{Type: txn.TypeSetData, Path: p, Data: []byte{byte(i)}, Version: tr.Get(p).Version() + 1})
			if i%100 == 0 {
				tr.Snapshot()
			}
		}
	}()
	_, err := Write(fs, dir, snap, nil)
	wg.Wait()
	require.NoError(t, err)
	got, _, _, err := Load(fs, fs.PathJoin(dir, FileName(snap.Zxid())))
	require.NoError(t, err)
	assert.Equal(t, want, dump(t, got))
	assert.Equal(t, want, dump(t, snap), "Write left the snapshot as it was")
}

func TestWriteRefuses(t *testing.T) {
	fs := newFS(t)
	_, err := Write(fs, dir, tree.New().Snapshot(), []Session{{ID: 1}, {ID: 2}, {ID: 1}})
	require.ErrorContains(t, err, "twice")
	_, err = Write(fs, dir, tree.New().Snapshot(), []Session{{ID: 1, Kind: txn.SessionRemote + 1}})
	require.ErrorContains(t, err, "unknown kind")
	zxids, err := List(fs, dir)
	require.NoError(t, err)
	assert.Empty(t, zxids)
	names, err := fs.List(dir)
	require.NoError(t, err)
	assert.Empty(t, names)
}

func TestEmptyTree(t *testing.T) {
	fs := newFS(t)
	snap := tree.New().Snapshot()
	meta, err := Write(fs, dir, snap, nil)
	require.NoError(t, err)
	assert.Equal(t, FileName(0), "snapshot.0000000000000000")
	got, ss, m, err := Load(fs, fs.PathJoin(dir, FileName(0)))
	require.NoError(t, err)
	assert.Nil(t, ss)
	assert.Equal(t, meta, m)
	assert.Equal(t, dump(t, snap), dump(t, got))
}

// smallFile returns the bytes of a small snapshot with sessions and every
// node kind.
func smallFile(t testing.TB) []byte {
	fs := newFS(t)
	snap := buildRich(t).Snapshot()
	_, err := Write(fs, dir, snap, richSessions[:2])
	require.NoError(t, err)
	return readFile(t, fs, fs.PathJoin(dir, FileName(snap.Zxid())))
}

func TestEveryBitFlipDetected(t *testing.T) {
	b := smallFile(t)
	fs := vfs.NewMem()
	t.Logf("file: %d bytes, %d flips", len(b), 8*len(b))
	for off := range b {
		for bit := range 8 {
			c := slices.Clone(b)
			c[off] ^= 1 << bit
			writeFile(t, fs, "x", c)
			_, _, _, err := Load(fs, "x")
			require.ErrorIs(t, err, ErrCorrupt, "bit %d of byte %d", bit, off)
			require.ErrorIs(t, err, znode.ErrDataInconsistency)
		}
	}
}

func TestEveryTruncationDetected(t *testing.T) {
	b := smallFile(t)
	fs := vfs.NewMem()
	for n := range len(b) {
		writeFile(t, fs, "x", b[:n])
		_, _, _, err := Load(fs, "x")
		require.ErrorIs(t, err, ErrCorrupt, "cut at %d", n)
	}
	for _, extra := range [][]byte{{0}, {1}, b} {
		writeFile(t, fs, "x", append(slices.Clone(b), extra...))
		_, _, _, err := Load(fs, "x")
		require.ErrorIs(t, err, ErrCorrupt, "%d bytes appended", len(extra))
	}
	writeFile(t, fs, "x", b)
	_, _, _, err := Load(fs, "x")
	require.NoError(t, err, "any name that is not a snapshot name loads")
}

func TestLoadChecksNameAgainstZxid(t *testing.T) {
	b := smallFile(t)
	fs := newFS(t)
	writeFile(t, fs, fs.PathJoin(dir, FileName(3)), b)
	_, _, _, err := Load(fs, fs.PathJoin(dir, FileName(3)))
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "file name says zxid 0x3")
}

// craft encodes arbitrary records with Write's framing, so tests can make
// files whose checksums are right but whose content is wrong.
func craft(zxid int64, sessions []Session, records []tree.NodeRecord, digest *uint64) []byte {
	return craftVersion(formatOf(sessions), zxid, sessions, records, digest)
}

// craftVersion is craft in the given format version, whatever the
// sessions need.
func craftVersion(version byte, zxid int64, sessions []Session, records []tree.NodeRecord, digest *uint64) []byte {
	var out bufferFile
	w := newWriter(&out, WriteOptions{})
	hdr := append([]byte(magic), version)
	hdr = binary.AppendVarint(hdr, zxid)
	hdr = binary.AppendUvarint(hdr, uint64(len(sessions)))
	hdr = binary.AppendUvarint(hdr, uint64(len(records)))
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32Update(0, hdr))
	w.write(hdr)
	for _, s := range sessions {
		w.chunk = appendSession(w.chunk, s, version)
		w.endRecord()
	}
	var sum uint64
	for i := range records {
		start := len(w.chunk)
		w.chunk = tree.AppendRecord(w.chunk, &records[i])
		sum += tree.EncodedDigest(w.chunk[start:])
		w.endRecord()
	}
	w.flushChunk()
	if digest != nil {
		sum = *digest
	}
	tr := binary.AppendUvarint([]byte{0}, uint64(len(records)))
	tr = binary.LittleEndian.AppendUint64(tr, sum)
	w.write(tr)
	w.write(binary.LittleEndian.AppendUint32(nil, w.crc))
	return out.Bytes()
}

func records(tr *tree.Tree) []tree.NodeRecord {
	var rs []tree.NodeRecord
	tr.Walk(func(n *tree.Node) bool { rs = append(rs, n.Record()); return true })
	return rs
}

// Files with valid checksums but content Write would never produce.
func TestLoadRejectsBadContent(t *testing.T) {
	fs := vfs.NewMem()
	good := records(buildRich(t))
	zxid := int64(buildRich(t).Zxid())
	load := func(b []byte) error {
		writeFile(t, fs, "x", b)
		_, _, _, err := Load(fs, "x")
		return err
	}
	require.NoError(t, load(craft(zxid, []Session{{ID: -5}, {ID: 7, Timeout: 3}}, good, nil)), "craft matches Write")

	wrong := uint64(12345)
	swapped := slices.Clone(good)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	sorted := func(rs []tree.NodeRecord) []tree.NodeRecord {
		slices.SortFunc(rs, func(a, b tree.NodeRecord) int {
			if nodeLess(a.Path, b.Path) {
				return -1
			}
			return 1
		})
		return rs
	}
	orphan := sorted(append(slices.Clone(good), tree.NodeRecord{Path: "/a/orphan/x", ACL: znode.OpenACL()}))
	badPath := sorted(append(slices.Clone(good), tree.NodeRecord{Path: "/a/bad/", ACL: znode.OpenACL()}))
	ephParent := sorted(append(slices.Clone(good), tree.NodeRecord{Path: "/a/x/eph/child", ACL: znode.OpenACL()}))
	relative := slices.Clone(good)
	relative[len(relative)-1].Path = "zz"
	future := slices.Clone(good)
	future[3].Mzxid = znode.Zxid(zxid + 1)
	noRoot := good[1:]
	dupSessions := []Session{{ID: 1}, {ID: 1}}
	cases := map[string][]byte{
		"wrong digest":          craft(zxid, nil, good, &wrong),
		"nodes out of order":    craft(zxid, nil, swapped, nil),
		"duplicate node":        craft(zxid, nil, append(slices.Clone(good[:3]), good[2:]...), nil),
		"missing parent":        craft(zxid, nil, orphan, nil),
		"invalid path":          craft(zxid, nil, badPath, nil),
		"child of ephemeral":    craft(zxid, nil, ephParent, nil),
		"relative path":         craft(zxid, nil, relative, nil),
		"mzxid after tree zxid": craft(zxid, nil, future, nil),
		"no root":               craft(zxid, nil, noRoot, nil),
		"no nodes":              craft(zxid, nil, nil, nil),
		"negative zxid":         craft(-1, nil, good, nil),
		"duplicate sessions":    craft(zxid, dupSessions, good, nil),
		"unsorted sessions":     craft(zxid, richSessions, good, nil),
		"unknown version":       craftVersion(3, zxid, nil, good, nil),
		"v2 without a kind":     craftVersion(2, zxid, []Session{{ID: 1}, {ID: 2}}, good, nil),
		"unknown session kind":  craftVersion(2, zxid, []Session{{ID: 1, Kind: txn.SessionRemote + 1}}, good, nil),
	}
	for name, b := range cases {
		err := load(b)
		assert.ErrorIs(t, err, ErrCorrupt, name)
		t.Logf("%s: %v", name, err)
	}
}

func TestDigest(t *testing.T) {
	tr := buildRich(t)
	var sum uint64
	NodeDigest := func(r tree.NodeRecord) uint64 { return tree.NodeDigest(&r) }
	tr.Walk(func(n *tree.Node) bool { sum += NodeDigest(n.Record()); return true })
	assert.Equal(t, sum, Digest(tr))

	// Every field counts, and nil data differs from empty data.
	base := tr.Get("/a/y").Record()
	d0 := NodeDigest(base)
	mods := []func(r *tree.NodeRecord){
		func(r *tree.NodeRecord) { r.Path = "/a/z" },
		func(r *tree.NodeRecord) { r.Data = nil },
		func(r *tree.NodeRecord) { r.Data = []byte{0} },
		func(r *tree.NodeRecord) { r.ACL = znode.OpenACL() },
		func(r *tree.NodeRecord) { r.Czxid++ },
		func(r *tree.NodeRecord) { r.Mzxid++ },
		func(r *tree.NodeRecord) { r.Pzxid++ },
		func(r *tree.NodeRecord) { r.Ctime++ },
		func(r *tree.NodeRecord) { r.Mtime++ },
		func(r *tree.NodeRecord) { r.Version++ },
		func(r *tree.NodeRecord) { r.Cversion++ },
		func(r *tree.NodeRecord) { r.Aversion++ },
		func(r *tree.NodeRecord) { r.Owner++ },
	}
	seen := map[uint64]int{d0: -1}
	for i, mod := range mods {
		r := base
		r.ACL = slices.Clone(r.ACL)
		mod(&r)
		d := NodeDigest(r)
		prev, dup := seen[d]
		assert.False(t, dup, "mod %d digests as mod %d", i, prev)
		seen[d] = i
	}

	// Incremental maintenance: subtract the old node, add the new one.
	before := Digest(tr)
	assert.Equal(t, before, tr.TrackDigest())
	old := tr.Get("/a").Record()
	apply(t, tr, txn.Op{Type: txn.TypeSetData, Path: "/a", Data: []byte("v3"), Version: 2})
	assert.Equal(t, before-NodeDigest(old)+NodeDigest(tr.Get("/a").Record()), Digest(tr))
	p := tr.Get("/box").Record()
	apply(t, tr, create(tr, "/box/new", nil, znode.OpenACL(), 0))
	want := before - NodeDigest(old) + NodeDigest(tr.Get("/a").Record()) - NodeDigest(p) +
		NodeDigest(tr.Get("/box").Record()) + NodeDigest(tr.Get("/box/new").Record())
	assert.Equal(t, want, Digest(tr))
	got, ok := tr.Digest()
	assert.True(t, ok)
	assert.Equal(t, want, got, "tracked digest")

	// The tracked digest follows every kind of change, and snapshots keep
	// the digest of their moment.
	snap := tr.Snapshot()
	apply(t, tr, txn.Op{Type: txn.TypeSetACL, Path: "/a", ACL: znode.ReadACL(), Version: 1})
	apply(t, tr, txn.Op{Type: txn.TypeDelete, Path: "/box/new"})
	got, _ = tr.Digest()
	assert.Equal(t, Digest(tr), got)
	sd, ok := snap.Digest()
	assert.True(t, ok)
	assert.Equal(t, want, sd)
	assert.Equal(t, Digest(snap), sd)
	require.NoError(t, tr.Check())
}

func TestListLoadNewestPrune(t *testing.T) {
	fs := newFS(t)
	_, _, _, errs, err := LoadNewest(fs, dir)
	require.ErrorIs(t, err, ErrNone)
	assert.Empty(t, errs)
	_, _, _, _, err = LoadNewest(fs, "nope")
	require.ErrorIs(t, err, ErrNone)

	tr := buildRich(t)
	var zxids []znode.Zxid
	dumps := map[znode.Zxid]string{}
	for i := range 4 {
		apply(t, tr, create(tr, fmt.Sprintf("/s%d", i), nil, znode.OpenACL(), 0))
		snap := tr.Snapshot()
		_, err := Write(fs, dir, snap, []Session{{ID: int64(i), Timeout: 1}})
		require.NoError(t, err)
		zxids = append([]znode.Zxid{snap.Zxid()}, zxids...)
		dumps[snap.Zxid()] = dump(t, snap)
	}
	junk := []string{"snapshot.zz", "snapshot.00000000000000AB", "snapshot.000000000000000001", "snapshot.",
		"other", "snapshot.0000000000000001.bak", "snapshot.ffffffffffffffff"}
	for _, name := range junk {
		writeFile(t, fs, fs.PathJoin(dir, name), []byte("junk"))
	}
	writeFile(t, fs, fs.PathJoin(dir, FileName(zxids[0]+5)+".tmp"), []byte("partial"))
	writeFile(t, fs, fs.PathJoin(dir, FileName(1)+".tmp"), []byte("partial"))
	got, err := List(fs, dir)
	require.NoError(t, err)
	assert.Equal(t, zxids, got)

	tr2, ss, meta, errs, err := LoadNewest(fs, dir)
	require.NoError(t, err)
	assert.Empty(t, errs)
	assert.Equal(t, zxids[0], meta.Zxid)
	assert.Equal(t, dumps[zxids[0]], dump(t, tr2))
	assert.Equal(t, []Session{{ID: 3, Timeout: 1}}, ss)

	require.Error(t, Prune(fs, dir, 0))
	require.NoError(t, Prune(fs, dir, 2))
	got, err = List(fs, dir)
	require.NoError(t, err)
	assert.Equal(t, zxids[:2], got)
	names, err := fs.List(dir)
	require.NoError(t, err)
	slices.Sort(names)
	want := append(slices.Clone(junk), FileName(zxids[0]), FileName(zxids[1]))
	slices.Sort(want)
	assert.Equal(t, want, names, "Prune removes old snapshots and .tmp files, nothing else")
	require.NoError(t, Prune(fs, dir, 5), "keeping more than there are is fine")

	// Pruning survives a crash: it synced the directory.
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	got, err = List(crashed, dir)
	require.NoError(t, err)
	assert.Equal(t, zxids[:2], got)
}

func TestLoadNewestFallsBack(t *testing.T) {
	fs := newFS(t)
	tr := buildRich(t)
	old := tr.Snapshot()
	_, err := Write(fs, dir, old, nil)
	require.NoError(t, err)
	apply(t, tr, create(tr, "/new", nil, znode.OpenACL(), 0))
	newer := tr.Snapshot()
	_, err = Write(fs, dir, newer, nil)
	require.NoError(t, err)

	path := fs.PathJoin(dir, FileName(newer.Zxid()))
	b := readFile(t, fs, path)
	b[len(b)/2] ^= 0x01
	writeFile(t, fs, path, b)

	got, _, meta, errs, err := LoadNewest(fs, dir)
	require.NoError(t, err)
	assert.Equal(t, old.Zxid(), meta.Zxid)
	assert.Equal(t, dump(t, old), dump(t, got))
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrCorrupt)
	assert.Contains(t, errs[0].Error(), FileName(newer.Zxid()))

	// All corrupt: an error, not an empty start.
	path = fs.PathJoin(dir, FileName(old.Zxid()))
	writeFile(t, fs, path, []byte("ZKE-SNAP"))
	got, _, _, errs, err = LoadNewest(fs, dir)
	require.ErrorIs(t, err, ErrCorrupt)
	require.NotErrorIs(t, err, ErrNone)
	assert.Nil(t, got)
	assert.Len(t, errs, 2)

	// A read error is not corruption: LoadNewest stops.
	efs := errorfs.Wrap(fs, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpFileRead {
			return syscall.EIO
		}
		return nil
	}))
	_, _, _, _, err = LoadNewest(efs, dir)
	require.ErrorIs(t, err, syscall.EIO)
	require.NotErrorIs(t, err, ErrCorrupt)
}

// crashCheck checks a crashed filesystem: LoadNewest must give exactly one
// of the allowed snapshots, and no complete-looking file may be damaged.
func crashCheck(fs vfs.FS, allowed map[znode.Zxid]string) error {
	tr, _, meta, errs, err := LoadNewest(fs, dir)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("skipped corrupt snapshots: %v", errs)
	}
	want, ok := allowed[meta.Zxid]
	if !ok {
		return fmt.Errorf("loaded zxid %v, not an allowed one", meta.Zxid)
	}
	var b strings.Builder
	if err := tr.Dump(&b); err != nil {
		return err
	}
	if b.String() != want {
		return fmt.Errorf("zxid %v: tree differs", meta.Zxid)
	}
	return nil
}

// snapshotAWithBNext returns a filesystem holding snapshot A of a big tree,
// the tree B one create later (not yet written), and the dumps a load may
// then return: A's or B's, by zxid.
func snapshotAWithBNext(t *testing.T) (mem *vfs.MemFS, b *tree.Tree, allowed map[znode.Zxid]string) {
	mem = newFS(t)
	tr := bigTree(t)
	a := tr.Snapshot()
	_, err := Write(mem, dir, a, nil)
	require.NoError(t, err)
	apply(t, tr, create(tr, "/b", []byte("b"), znode.OpenACL(), 0))
	b = tr.Snapshot()
	return mem, b, map[znode.Zxid]string{a.Zxid(): dump(t, a), b.Zxid(): dump(t, b)}
}

// crashSweep writes snapshot A, then snapshot B (with the given mutation
// of the protocol) through an FS that takes a crash clone before its k-th
// operation, for every k, and checks each clone. The operations are
// create, the writes, fsync, rename, open dir and dir fsync (not the
// writeback requests between the writes), so the clones
// cover every step of the protocol. After Write returns, the clone must hold B. It returns the
// failures instead of failing, for the mutant tests.
func crashSweep(t *testing.T, cfg func() vfs.CrashCloneCfg, mutant int) []error {
	var failures []error
	for k := 0; ; k++ {
		mem, b, allowed := snapshotAWithBNext(t)

		n := 0
		var clone *vfs.MemFS
		fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
			if op.Kind == errorfs.OpFileSyncTo {
				// Writeback makes nothing durable (MemFS's does nothing):
				// a crash before it is a crash after the write before it.
				return nil
			}
			if n == k {
				clone = mem.CrashClone(cfg())
			}
			n++
			return nil
		}))
		testMutant = mutant
		_, err := Write(fs, dir, b, nil)
		testMutant = mutantNone
		require.NoError(t, err)
		if clone == nil {
			// Past the last operation: Write returned, B must survive.
			if err := crashCheck(mem.CrashClone(cfg()), map[znode.Zxid]string{b.Zxid(): allowed[b.Zxid()]}); err != nil {
				failures = append(failures, fmt.Errorf("after Write returned: %w", err))
			}
			t.Logf("%d crash points", k)
			return failures
		}
		if err := crashCheck(clone, allowed); err != nil {
			failures = append(failures, fmt.Errorf("crash before op %d: %w", k, err))
		}
	}
}

func crashConfigs() map[string]func() vfs.CrashCloneCfg {
	rng := rand.New(rand.NewPCG(1, 2))
	return map[string]func() vfs.CrashCloneCfg{
		"synced only": func() vfs.CrashCloneCfg { return vfs.CrashCloneCfg{} },
		"50% unsynced": func() vfs.CrashCloneCfg {
			return vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rng}
		},
		"all unsynced": func() vfs.CrashCloneCfg { return vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rng} },
	}
}

func TestCrashDuringWrite(t *testing.T) {
	for name, cfg := range crashConfigs() {
		t.Run(name, func(t *testing.T) {
			rounds := 1
			if strings.HasPrefix(name, "50") {
				rounds = 5
			}
			for range rounds {
				for _, f := range crashSweep(t, cfg, mutantNone) {
					t.Error(f)
				}
			}
		})
	}
}

// The crash sweep notices a missing file sync or directory sync.
func TestCrashSweepCatchesMutants(t *testing.T) {
	for _, m := range []int{mutantNoFileSync, mutantNoDirSync} {
		failures := crashSweep(t, func() vfs.CrashCloneCfg { return vfs.CrashCloneCfg{} }, m)
		assert.NotEmpty(t, failures, "mutant %d went unnoticed", m)
		for _, f := range failures[:min(2, len(failures))] {
			t.Logf("mutant %d: %v", m, f)
		}
	}
}

// A Write that fails at any operation leaves A loadable, no temporary
// file, and no damaged complete-looking file; after a crash too.
func TestWriteFaults(t *testing.T) {
	for _, errno := range []error{syscall.EIO, syscall.ENOSPC} {
		for k := 0; ; k++ {
			mem, b, allowed := snapshotAWithBNext(t)

			n := 0
			var failed errorfs.Op
			fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
				n++
				if n-1 == k {
					failed = op
					return errno
				}
				return nil
			}))
			_, err := Write(fs, dir, b, nil)
			if n <= k {
				require.NoError(t, err)
				t.Logf("%v: %d fault points", errno, k)
				break
			}
			require.ErrorIs(t, err, errno, "fault at op %d (%v %s)", k, failed.Kind, failed.Path)
			names, lerr := mem.List(dir)
			require.NoError(t, lerr)
			for _, name := range names {
				assert.False(t, strings.HasSuffix(name, tmpSuffix), "fault at op %d (%v): %s left", k, failed.Kind, name)
			}
			require.NoError(t, crashCheck(mem, allowed), "fault at op %d (%v)", k, failed.Kind)
			require.NoError(t, crashCheck(mem.CrashClone(vfs.CrashCloneCfg{}), allowed), "fault at op %d, then crash", k)
			zxids, _ := List(mem, dir)
			for _, z := range zxids {
				_, _, _, err := Load(mem, mem.PathJoin(dir, FileName(z)))
				require.NoError(t, err, "fault at op %d (%v): complete-looking file is damaged", k, failed.Kind)
			}
		}
	}
}

func FuzzLoad(f *testing.F) {
	small := smallFile(f)
	f.Add(small)
	f.Add(craft(5, []Session{{ID: 1, Timeout: 2}}, records(tree.New()), nil))
	f.Add(craft(5, []Session{{ID: 1, Timeout: 2, Kind: txn.SessionRemote}, {ID: 3}}, records(tree.New()), nil))
	f.Add([]byte{})
	f.Add([]byte(magic))
	cut := slices.Clone(small[:len(small)/2])
	f.Add(cut)
	f.Fuzz(func(t *testing.T, b []byte) {
		fs := vfs.NewMem()
		writeFile(t, fs, "x", b)
		tr, ss, meta, err := Load(fs, "x")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("not ErrCorrupt: %v", err)
			}
			return
		}
		// Canonical: a loaded file writes back to the same bytes.
		require.NoError(t, fs.MkdirAll(dir, 0o755))
		m2, err := Write(fs, dir, tr.Snapshot(), ss)
		require.NoError(t, err)
		assert.Equal(t, meta, m2)
		assert.Equal(t, b, readFile(t, fs, fs.PathJoin(dir, FileName(meta.Zxid))))
	})
}

// --- Benchmarks -----------------------------------------------------------

// largeTree builds n nodes with 100-byte data, 1000 children per parent.
func largeTree(b *testing.B, n int) *tree.Tree {
	tr := tree.New()
	data := bytes.Repeat([]byte("d"), 100)
	var parent string
	var pcv int32
	for i := range n {
		if i%1001 == 0 {
			parent = fmt.Sprintf("/p%04d", i/1001)
			apply(b, tr, create(tr, parent, data, znode.OpenACL(), 0))
			pcv = 0
			continue
		}
		pcv++
		z := tr.Zxid() + 1
		op := txn.Op{Type: txn.TypeCreate, Path: fmt.Sprintf("%s/node-%010d", parent, i), Data: data, ACL: znode.OpenACL(), ParentCversion: pcv}
		if err := tr.Apply(&txn.Txn{Zxid: z, Time: int64(z), Ops: []txn.Op{op}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	return tr
}

func benchWriteLoad(b *testing.B, n int) {
	tr := largeTree(b, n)
	snap := tr.Snapshot()
	dirPath := b.TempDir()
	fs := vfs.Default
	meta, err := Write(fs, dirPath, snap, nil) // for Load, run alone
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Write", func(b *testing.B) {
		for b.Loop() {
			var err error
			meta, err = Write(fs, dirPath, snap, nil)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(meta.Size)
		b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/op")
	})
	b.Run("Load", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := Load(fs, fs.PathJoin(dirPath, FileName(snap.Zxid()))); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(meta.Size)
		b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/op")
	})
	b.Run("Digest", func(b *testing.B) {
		for b.Loop() {
			Digest(snap)
		}
		b.SetBytes(meta.Size)
	})
}

func BenchmarkWriteLoad10k(b *testing.B) { benchWriteLoad(b, 10_000) }

// BenchmarkWriteLoad1M runs only with ZKEMBED_BENCH_1M=1: building the
// tree alone takes seconds and a few hundred MB.
func BenchmarkWriteLoad1M(b *testing.B) {
	if os.Getenv("ZKEMBED_BENCH_1M") == "" || testing.Short() {
		b.Skip("set ZKEMBED_BENCH_1M=1 to run")
	}
	benchWriteLoad(b, 1_000_000)
}
