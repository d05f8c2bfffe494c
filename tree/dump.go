package tree

import (
	"bufio"
	"fmt"
	"io"
)

// Dump writes a canonical text form of t: its zxid, then one line per node
// in (parent, name) order with every persisted field (raw owner, stored
// cversion). Equal trees dump to equal bytes, so tests compare dumps to
// prove determinism and replay.
func (t *Tree) Dump(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "zxid %v nodes %d\n", t.zxid, t.nodes.Len())
	t.Walk(func(n *Node) bool {
		data := fmt.Sprintf("%q", n.data)
		if n.nullData {
			data = "null"
		}
		fmt.Fprintf(bw, "%s czxid=%v mzxid=%v pzxid=%v ctime=%d mtime=%d v=%d cv=%d av=%d owner=%#x children=%d acl=%v data=%s\n",
			n.path, n.czxid, n.mzxid, n.pzxid, n.ctime, n.mtime, n.version, n.cversion, n.aversion, uint64(n.owner), n.numChildren, n.acl.entries, data)
		return true
	})
	return bw.Flush()
}
