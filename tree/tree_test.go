package tree

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// apply applies one-op transactions with consecutive zxids and time = zxid.
// apply applies each op as a record of its own at the next zxid, with the
// zxid as its time, and returns the records.
func apply(t testing.TB, tr *Tree, ops ...txn.Op) []*txn.Txn { return applyAt(t, tr, 0, ops...) }

// applyAt is apply with times from epoch+zxid.
func applyAt(t testing.TB, tr *Tree, epoch int64, ops ...txn.Op) []*txn.Txn {
	t.Helper()
	records := make([]*txn.Txn, 0, len(ops))
	for _, op := range ops {
		z := tr.Zxid() + 1
		x := &txn.Txn{Zxid: z, Time: epoch + int64(z), Ops: []txn.Op{op}}
		require.NoError(t, tr.Apply(x, nil))
		records = append(records, x)
	}
	return records
}

func create(path string, pcv int32) txn.Op {
	return txn.Op{Type: txn.TypeCreate, Path: path, Data: []byte(path), ACL: znode.OpenACL(), ParentCversion: pcv}
}

func TestBuiltins(t *testing.T) {
	tr := New()
	require.NoError(t, tr.Check())
	assert.Equal(t, 4, tr.Len())
	root := tr.Get("/")
	require.NotNil(t, root)
	assert.Equal(t, root, tr.Get(""), `"" is the root's alias`)
	assert.Equal(t, int32(-1), root.Stat().Cversion)
	assert.Equal(t, int32(-2), tr.Get("/zookeeper").Stat().Cversion)
	cfg := tr.Get("/zookeeper/config").Stat()
	assert.Equal(t, int32(-1), cfg.Aversion)
	assert.Equal(t, znode.ReadACL(), tr.Get("/zookeeper/config").ACL())
	assert.Equal(t, []string{"zookeeper"}, tr.ChildNames(tr.Get("/")))
	assert.Equal(t, []string{"config", "quota"}, tr.ChildNames(tr.Get("/zookeeper")))
	assert.Equal(t, 3, tr.CountDescendants("/"))
	for _, p := range []string{"a", "/a/", "//", "/zookeeper/", "/nope"} {
		assert.Nil(t, tr.Get(p), p)
	}
}

// Children are one contiguous run: listing never sees grandchildren or
// nodes whose names share a prefix with the parent.
func TestChildrenContiguous(t *testing.T) {
	tr := New()
	apply(t, tr, create("/a", 1), create("/a/x", 1), create("/a/x/deep", 1), create("/a/y", 2),
		create("/ab", 2), create("/a-", 3), create("/a/x-", 3), create("/a/x/deep/er", 1))
	require.NoError(t, tr.Check())
	assert.Equal(t, []string{"a", "a-", "ab", "zookeeper"}, tr.ChildNames(tr.Get("/")))
	assert.Equal(t, []string{"x", "x-", "y"}, tr.ChildNames(tr.Get("/a")))
	assert.Equal(t, []string{"deep"}, tr.ChildNames(tr.Get("/a/x")))
	assert.Equal(t, 5, tr.CountDescendants("/a"))
	var visited []string
	tr.Children("/a", func(n *Node) bool {
		visited = append(visited, n.Path())
		return true
	})
	assert.Equal(t, []string{"/a/x", "/a/x-", "/a/y"}, visited)
}

func TestSnapshotIsolation(t *testing.T) {
	tr := New()
	apply(t, tr, create("/a", 1))
	snap := tr.Snapshot()
	apply(t, tr, create("/b", 2), txn.Op{Type: txn.TypeSetData, Path: "/a", Data: []byte("new"), Version: 1},
		txn.Op{Type: txn.TypeCreate, Path: "/e", Owner: 77, ParentCversion: 3, ACL: znode.OpenACL()})
	assert.Nil(t, snap.Get("/b"))
	assert.Equal(t, "/a", snap.Get("/a").DataString())
	assert.Equal(t, "new", tr.Get("/a").DataString())
	assert.Equal(t, znode.Zxid(1), snap.Zxid())
	assert.Equal(t, znode.Zxid(4), tr.Zxid())
	var ephs []string
	snap.Ephemerals(77, func(p string) bool { ephs = append(ephs, p); return true })
	assert.Empty(t, ephs, "the snapshot's ephemeral index is isolated too")
	assert.Equal(t, []string{"/e"}, tr.Snapshot().EphemeralsWithPrefix(77, ""))
	require.NoError(t, snap.Check())
	require.NoError(t, tr.Check())
}

// A writable copy of a snapshot, given the records applied to the tree
// since, equals that tree, and neither changes the snapshot nor the tree.
func TestWritableCatchesUpWithTheTree(t *testing.T) {
	tr := New()
	tr.TrackDigest()
	apply(t, tr, create("/a", 1), txn.Op{Type: txn.TypeCreate, Path: "/a/e", Owner: 77, ParentCversion: 1, ACL: znode.ReadACL()})
	snap := tr.Snapshot()
	var before strings.Builder
	require.NoError(t, snap.Dump(&before))
	since := []txn.Op{
		create("/b", 3),
		txn.Op{Type: txn.TypeSetData, Path: "/a", Data: []byte("new"), Version: 1},
		txn.Op{Type: txn.TypeDelete, Path: "/a/e"},
		txn.Op{Type: txn.TypeCreate, Path: "/a/f", Owner: 78, ParentCversion: 3, ACL: znode.ReadACL()},
		txn.Op{Type: txn.TypeSetACL, Path: "/b", ACL: znode.ReadACL(), Version: 1},
	}
	records := apply(t, tr, since...)
	cp := snap.Writable()
	for _, x := range records {
		require.NoError(t, cp.Apply(x, nil))
	}
	var want, got, after strings.Builder
	require.NoError(t, tr.Dump(&want))
	require.NoError(t, cp.Snapshot().Dump(&got))
	require.NoError(t, snap.Dump(&after))
	assert.Equal(t, want.String(), got.String())
	assert.Equal(t, before.String(), after.String(), "the snapshot is unchanged")
	assert.Equal(t, []string{"/a/f"}, cp.Snapshot().EphemeralsWithPrefix(78, ""))
	assert.Empty(t, snap.EphemeralsWithPrefix(78, ""))
	_, digesting := cp.Digest()
	assert.False(t, digesting, "the copy does not track the digest")
	require.NoError(t, cp.Check())
	require.NoError(t, tr.Check())
}

func TestApplyBookkeeping(t *testing.T) {
	tr := New()
	apply(t, tr, create("/p", 1), create("/p/a", 1), create("/p/b", 2))
	p := tr.Get("/p").Stat()
	assert.Equal(t, int32(2), p.Cversion)
	assert.Equal(t, znode.Zxid(3), p.Pzxid)
	assert.Equal(t, znode.Zxid(1), p.Mzxid, "child creates do not touch mzxid")
	apply(t, tr, txn.Op{Type: txn.TypeDelete, Path: "/p/a"})
	p = tr.Get("/p").Stat()
	assert.Equal(t, int32(3), p.Cversion, "visible cversion counts deletes: 2×2−1")
	assert.Equal(t, int32(2), tr.Get("/p").StoredCversion())
	assert.Equal(t, znode.Zxid(4), p.Pzxid)
	apply(t, tr, txn.Op{Type: txn.TypeSetACL, Path: "/p", ACL: znode.ReadACL(), Version: 1})
	p = tr.Get("/p").Stat()
	assert.Equal(t, int32(1), p.Aversion)
	assert.Equal(t, znode.Zxid(1), p.Mzxid, "setACL leaves mzxid")
	apply(t, tr, txn.Op{Type: txn.TypeSetData, Path: "/p", Data: nil, Version: 1})
	assert.True(t, tr.Get("/p").IsNullData())
	assert.Nil(t, tr.Get("/p").Data())
	assert.Equal(t, int32(0), tr.Get("/p").Stat().DataLength)
	require.NoError(t, tr.Check())
}

func TestApplyRejectsInconsistentRecords(t *testing.T) {
	tr := New()
	apply(t, tr, create("/a", 1))
	bad := []txn.Op{
		create("/a", 2),   // exists
		create("/x/y", 1), // no parent
		{Type: txn.TypeDelete, Path: "/nope"},
		{Type: txn.TypeSetData, Path: "/nope"},
		{Type: txn.Type(99), Path: "/a"},
	}
	for _, op := range bad {
		err := tr.Apply(&txn.Txn{Zxid: tr.Zxid() + 1, Ops: []txn.Op{op}}, nil)
		assert.ErrorIs(t, err, znode.ErrDataInconsistency, "%v", op)
	}
	err := tr.Apply(&txn.Txn{Zxid: tr.Zxid(), Ops: []txn.Op{create("/b", 2)}}, nil)
	assert.ErrorIs(t, err, znode.ErrDataInconsistency, "zxid must increase")
	apply(t, tr, create("/a/c", 1))
	assert.Error(t, tr.Apply(&txn.Txn{Zxid: tr.Zxid() + 1, Ops: []txn.Op{{Type: txn.TypeDelete, Path: "/a"}}}, nil), "not empty")
}

func TestEvents(t *testing.T) {
	tr := New()
	var got []string
	emit := func(e znode.Event, _ []znode.ACL) { got = append(got, fmt.Sprintf("%v %s %v", e.Type, e.Path, e.Zxid)) }
	require.NoError(t, tr.Apply(&txn.Txn{Zxid: 1, Multi: true, Ops: []txn.Op{
		create("/m", 1), create("/m/c", 1),
		{Type: txn.TypeSetData, Path: "/m/c", Data: []byte("x"), Version: 1},
		{Type: txn.TypeDelete, Path: "/m/c"},
	}}, emit))
	assert.Equal(t, []string{
		"NodeCreated /m 0x1", "NodeChildrenChanged / 0x1",
		"NodeCreated /m/c 0x1", "NodeChildrenChanged /m 0x1",
		"NodeDataChanged /m/c 0x1",
		"NodeDeleted /m/c 0x1", "NodeChildrenChanged /m 0x1",
	}, got)
}

// Check must notice every kind of corruption it promises to.
func TestCheckFindsCorruption(t *testing.T) {
	corrupt := map[string]func(tr *Tree){
		"numChildren": func(tr *Tree) {
			n := *tr.Get("/a")
			n.numChildren = 5
			tr.nodes.Set(&n)
		},
		"orphan": func(tr *Tree) {
			tr.nodes.Set(&Node{path: "/x/y", split: 2, acl: openACL})
		},
		"zxid order": func(tr *Tree) {
			n := *tr.Get("/a")
			n.mzxid = 100
			tr.nodes.Set(&n)
		},
		"ephemeral index": func(tr *Tree) {
			n := *tr.Get("/a/b")
			n.owner = 42
			tr.nodes.Set(&n)
		},
		"timed index": func(tr *Tree) {
			tr.timed.Set("/a")
		},
		"child of ephemeral": func(tr *Tree) {
			apply(t, tr, txn.Op{Type: txn.TypeCreate, Path: "/e", Owner: 9, ACL: znode.OpenACL(), ParentCversion: 2},
				txn.Op{Type: txn.TypeCreate, Path: "/e/c", ACL: znode.OpenACL(), ParentCversion: 1})
		},
	}
	for name, f := range corrupt {
		t.Run(name, func(t *testing.T) {
			tr := New()
			apply(t, tr, create("/a", 1), create("/a/b", 1))
			require.NoError(t, tr.Check())
			f(tr)
			assert.Error(t, tr.Check())
		})
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	tr := New()
	apply(t, tr, create("/a", 1), create("/a/b", 1), create("/c", 2),
		txn.Op{Type: txn.TypeCreate, Path: "/e", Owner: 9, ACL: znode.ReadACL(), ParentCversion: 3},
		txn.Op{Type: txn.TypeCreate, Path: "/box", Owner: znode.ContainerOwner, ACL: znode.OpenACL(), ParentCversion: 4},
		txn.Op{Type: txn.TypeDelete, Path: "/c"},
		txn.Op{Type: txn.TypeSetData, Path: "/a", Data: nil, Version: 1})
	var recs []NodeRecord
	tr.Walk(func(n *Node) bool { recs = append(recs, n.Record()); return true })
	slices.Reverse(recs) // any order
	back, err := Restore(tr.Zxid(), slices.Clone(recs))
	require.NoError(t, err)
	var want, got strings.Builder
	require.NoError(t, tr.Dump(&want))
	require.NoError(t, back.Dump(&got))
	assert.Equal(t, want.String(), got.String())
	assert.Equal(t, []string{"/e"}, back.EphemeralsWithPrefix(9, ""))
	apply(t, back, create("/a/z", 2)) // and it is writable
	require.NoError(t, back.Check())

	_, err = Restore(tr.Zxid(), append(slices.Clone(recs), recs[0]))
	assert.ErrorIs(t, err, znode.ErrDataInconsistency, "duplicate")
	noRoot := slices.DeleteFunc(slices.Clone(recs), func(r NodeRecord) bool { return r.Path == "/" })
	_, err = Restore(tr.Zxid(), noRoot)
	assert.ErrorIs(t, err, znode.ErrDataInconsistency, "no root")
	orphan := slices.DeleteFunc(slices.Clone(recs), func(r NodeRecord) bool { return r.Path == "/a" })
	_, err = Restore(tr.Zxid(), orphan)
	assert.ErrorIs(t, err, znode.ErrDataInconsistency, "/a/b without /a")
	bad := slices.Clone(recs)
	bad[0].Mzxid = tr.Zxid() + 5
	_, err = Restore(tr.Zxid(), bad)
	assert.ErrorIs(t, err, znode.ErrDataInconsistency, "a zxid beyond the snapshot's")
}
