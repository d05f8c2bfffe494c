package inspect

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// The commands of `zkembed log` and `zkembed snapshot`: each opens what it
// needs, writes its report to w and returns an error for a failure (which
// the command line turns into a non-zero exit status).

// LogList writes a summary of the data directory dir's log: zxid range,
// record count and sizes, per-epoch ranges, op counts, and the snapshots.
func LogList(w io.Writer, dir string) error {
	s, err := Open(dir, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	info, err := s.LogInfo()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	layout := "from its FORMAT file"
	if !s.hasFormat {
		layout = "no FORMAT file: ZooKeeper's default"
	}
	fmt.Fprintf(bw, "data directory %s: zxid counter %d bits (%s)\n", dir, s.layout.CounterBits, layout)
	if info.Records == 0 {
		fmt.Fprintf(bw, "log: empty\n")
	} else {
		fmt.Fprintf(bw, "log: %s, %v to %v, %d bytes (largest %d bytes, at %v)\n",
			plural(info.Records, "record"), info.First, info.Last, info.Bytes, info.Largest, info.LargestZxid)
		if info.Corrupt < info.Records {
			fmt.Fprintf(bw, "time: %s to %s\n", FormatTime(info.FirstTime), FormatTime(info.LastTime))
		}
		for _, e := range info.Epochs {
			fmt.Fprintf(bw, "epoch %d: %v to %v, %s\n", e.Epoch, e.First, e.Last, plural(e.Records, "record"))
		}
		types := make([]txn.Type, 0, len(info.Ops))
		for t := range info.Ops {
			types = append(types, t)
		}
		slices.SortFunc(types, func(a, b txn.Type) int { return strings.Compare(a.String(), b.String()) })
		ops := make([]string, len(types))
		for i, t := range types {
			ops[i] = fmt.Sprintf("%v %d", t, info.Ops[t])
		}
		fmt.Fprintf(bw, "ops: %s; %s\n", strings.Join(ops, ", "), plural(info.Multis, "multi record"))
	}
	fmt.Fprintf(bw, "disk: %d bytes in %d files in %s\n", info.DiskBytes, info.DiskFiles, s.logDir())
	files, err := listSnapshots(dir, false)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		if !f.Temp {
			names = append(names, f.Zxid.String())
		}
	}
	if len(names) == 0 {
		fmt.Fprintf(bw, "snapshots: none\n")
	} else {
		fmt.Fprintf(bw, "snapshots: %d, at %s (see zkembed snapshot list)\n", len(names), strings.Join(names, " "))
	}
	if info.Corrupt > 0 {
		fmt.Fprintf(bw, "warning: %d records do not decode, the first at %v (see zkembed log verify)\n", info.Corrupt, info.FirstCorrupt)
	}
	return bw.Flush()
}

// DumpOptions configure LogDump.
type DumpOptions struct {
	From, To znode.Zxid // the zxid range, both included; To 0 means no bound
	JSON     bool       // one JSONRecord per line instead of FormatRecord's text
}

// LogDump writes the log records of the data directory dir whose zxids are
// in the range, one per line, and stops with an error at a record that does
// not decode.
func LogDump(w io.Writer, dir string, opts DumpOptions) error {
	s, err := Open(dir, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	to := opts.To
	if to == 0 {
		to = 1<<63 - 1
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err = s.Records(opts.From, to, func(x *txn.Txn) error {
		if opts.JSON {
			return enc.Encode(RecordJSON(x, s.layout))
		}
		_, err := fmt.Fprintln(bw, FormatRecord(x))
		return err
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// LogVerify verifies the log of the data directory dir (see
// Store.VerifyLog) and writes what it checked, or the first problem.
func LogVerify(w io.Writer, dir string) error {
	s, err := Open(dir, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := s.VerifyLog()
	if err != nil {
		fmt.Fprintf(w, "FAILED after %d records: %v\n", rep.Records, err)
		return err
	}
	_, err = io.WriteString(w, "OK\n"+rep.String())
	return err
}

// LogTruncate plans the truncation of the data directory dir to zxid z
// (see Store.PlanTruncate) and writes the plan. Only if apply is set does
// it carry it out; otherwise nothing is written to dir.
func LogTruncate(w io.Writer, dir string, z znode.Zxid, apply bool) error {
	s, err := Open(dir, &Options{Exclusive: apply})
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.PlanTruncate(z)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, p.String()); err != nil {
		return err
	}
	switch {
	case p.Empty():
		return nil
	case !apply:
		_, err = io.WriteString(w, "dry run: nothing was changed; add -yes to truncate\n")
		return err
	}
	if err := s.Truncate(p); err != nil {
		return err
	}
	_, err = io.WriteString(w, "done\n")
	return err
}

// SnapshotList writes one line per snapshot file of the data directory
// dir: zxid, size, node and session counts, and whether it is valid (or
// why not). See ListSnapshots.
func SnapshotList(w io.Writer, dir string) error {
	files, err := ListSnapshots(dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ZXID\tBYTES\tNODES\tSESSIONS\tSTATUS\tFILE")
	for _, f := range files {
		switch {
		case f.Temp:
			fmt.Fprintf(tw, "%v\t%d\t-\t-\ttemporary (ignored)\t%s\n", f.Zxid, f.Size, f.Name)
		case f.Err != nil:
			fmt.Fprintf(tw, "%v\t%d\t-\t-\tINVALID: %v\t%s\n", f.Zxid, f.Size, f.Err, f.Name)
		default:
			fmt.Fprintf(tw, "%v\t%d\t%d\t%d\tvalid\t%s\n", f.Zxid, f.Size, f.Meta.Nodes, f.Sessions, f.Name)
		}
	}
	if len(files) == 0 {
		fmt.Fprintln(tw, "(no snapshots)")
	}
	return tw.Flush()
}

// SnapshotDumpOptions configure SnapshotDump.
type SnapshotDumpOptions struct {
	// File is the snapshot file to dump. If empty, the snapshot at Zxid in
	// the data directory Dir, or its newest valid one if Zxid is negative.
	File string
	Dir  string
	Zxid znode.Zxid
	JSON bool // JSON lines (see JSONSnapshot) instead of text
}

// SnapshotDump loads and verifies a snapshot file and writes its tree and
// sessions: in text, a header, one line per node (see FormatNode) in tree
// order and one per session; in JSON, one object per line, a JSONSnapshot
// then JSONNode and JSONSession objects.
func SnapshotDump(w io.Writer, opts SnapshotDumpOptions) error {
	path := opts.File
	if path == "" {
		var err error
		if path, err = FindSnapshot(opts.Dir, opts.Zxid); err != nil {
			return err
		}
	}
	snap, err := LoadSnapshot(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if opts.JSON {
		err = writeSnapshotJSON(bw, snap)
	} else {
		writeSnapshotText(bw, snap)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// SnapshotVerify fully loads every snapshot file of the data directory dir
// (see snapshot.Load), writes one line per file, and returns an error
// matching ErrCorrupt that names the newest invalid one, if any.
func SnapshotVerify(w io.Writer, dir string) error {
	files, err := ListSnapshots(dir)
	if err != nil {
		return err
	}
	var bad []SnapshotFile
	for _, f := range files {
		switch {
		case f.Temp:
			fmt.Fprintf(w, "ignored %s: temporary file of an unfinished write\n", f.Name)
		case f.Err != nil:
			fmt.Fprintf(w, "INVALID %s: %v\n", f.Name, f.Err)
			bad = append(bad, f)
		default:
			fmt.Fprintf(w, "ok %s: zxid %v, %d nodes, %s, digest %#016x\n", f.Name, f.Zxid, f.Meta.Nodes, plural(f.Sessions, "session"), f.Meta.Digest)
		}
	}
	if len(files) == 0 {
		fmt.Fprintln(w, "no snapshots")
	}
	if len(bad) > 0 {
		cause := bad[0].Err
		if !errors.Is(cause, snapshot.ErrCorrupt) {
			return opError("verify snapshot", bad[0].Path, cause)
		}
		return opError("verify snapshot", bad[0].Path, corruptf(cause, "%d of %d snapshots invalid", len(bad), len(files)))
	}
	return nil
}

// FormatNode renders a node on one line, as `zkembed snapshot dump` shows
// it: path, the Stat a client sees (cversion visible, ephemeralOwner 0 for
// containers and TTL nodes), the kind of node when it is not persistent,
// the ACL, and the data (see FormatData).
func FormatNode(n *tree.Node) string {
	st := n.Stat()
	var b strings.Builder
	fmt.Fprintf(&b, "%s czxid=%v mzxid=%v pzxid=%v ctime=%s mtime=%s version=%d cversion=%d aversion=%d",
		n.Path(), st.Czxid, st.Mzxid, st.Pzxid, FormatTime(st.Ctime), FormatTime(st.Mtime), st.Version, st.Cversion, st.Aversion)
	if o := formatOwner(n.Owner()); o != "" {
		b.WriteString(" " + o)
	}
	fmt.Fprintf(&b, " children=%d acl=%s data=%s", st.NumChildren, FormatACL(n.ACL()), FormatData(n.Data()))
	return b.String()
}

func writeSnapshotText(w io.Writer, s *Snapshot) {
	fmt.Fprintf(w, "snapshot %s\n", s.Path)
	fmt.Fprintf(w, "zxid %v, %d nodes, %s, digest %#016x, %d bytes, next session id %#x\n",
		s.Meta.Zxid, s.Meta.Nodes, plural(len(s.Sessions), "session"), s.Meta.Digest, s.Meta.Size, s.NextSession)
	s.Tree.Walk(func(n *tree.Node) bool {
		fmt.Fprintln(w, FormatNode(n))
		return true
	})
	for _, ss := range s.Sessions {
		n := 0
		s.Tree.Ephemerals(ss.ID, func(string) bool { n++; return true })
		fmt.Fprintf(w, "session %#x timeout=%dms ephemerals=%d%s\n", ss.ID, ss.Timeout, n, formatSessionKind(ss.Kind))
	}
}

// JSONSnapshot is the first line of `zkembed snapshot dump -json`.
type JSONSnapshot struct {
	Kind        string `json:"kind"` // "snapshot"
	File        string `json:"file"`
	Zxid        string `json:"zxid"`
	Nodes       int    `json:"nodes"`    // the root and built-in nodes included
	Sessions    int    `json:"sessions"` // open sessions
	Digest      string `json:"digest"`
	Bytes       int64  `json:"bytes"`
	NextSession string `json:"next_session"` // the id the engine hands out next
}

// JSONNode is a node line of `zkembed snapshot dump -json`.
type JSONNode struct {
	Kind string `json:"kind"` // "node"
	Path string `json:"path"`
	// Data is base64 (standard, padded); null is ZooKeeper's null buffer.
	Data  []byte    `json:"data"`
	ACL   []JSONACL `json:"acl"`
	Czxid string    `json:"czxid"`
	Mzxid string    `json:"mzxid"`
	Pzxid string    `json:"pzxid"`
	Ctime int64     `json:"ctime_ms"`
	Mtime int64     `json:"mtime_ms"`
	// Version, Cversion (as clients see it), Aversion, EphemeralOwner (0
	// for containers and TTL nodes), DataLength and NumChildren are the
	// Stat's fields.
	Version        int32  `json:"version"`
	Cversion       int32  `json:"cversion"`
	Aversion       int32  `json:"aversion"`
	EphemeralOwner string `json:"ephemeral_owner"`
	DataLength     int32  `json:"data_length"`
	NumChildren    int32  `json:"num_children"`
	// NodeKind is persistent, ephemeral, container or ttl; TTLMs the TTL
	// of a ttl node.
	NodeKind string `json:"node_kind"`
	TTLMs    *int64 `json:"ttl_ms,omitempty"`
}

// JSONSession is a session line of `zkembed snapshot dump -json`.
type JSONSession struct {
	Kind       string `json:"kind"` // "session"
	ID         string `json:"id"`
	TimeoutMs  int32  `json:"timeout_ms"`
	Ephemerals int    `json:"ephemerals"` // nodes it owns
	// SessionKind is where its client is, in-process or remote; absent
	// for a snapshot written before kinds were recorded.
	SessionKind string `json:"session_kind,omitempty"`
}

func writeSnapshotJSON(w io.Writer, s *Snapshot) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err := enc.Encode(JSONSnapshot{Kind: "snapshot", File: s.Path, Zxid: hexZxid(s.Meta.Zxid), Nodes: s.Meta.Nodes,
		Sessions: len(s.Sessions), Digest: fmt.Sprintf("0x%016x", s.Meta.Digest), Bytes: s.Meta.Size, NextSession: hex64(s.NextSession)})
	s.Tree.Walk(func(n *tree.Node) bool {
		if err != nil {
			return false
		}
		st := n.Stat()
		j := JSONNode{Kind: "node", Path: n.Path(), Data: n.Data(), ACL: jsonACL(n.ACL()),
			Czxid: hexZxid(st.Czxid), Mzxid: hexZxid(st.Mzxid), Pzxid: hexZxid(st.Pzxid), Ctime: st.Ctime, Mtime: st.Mtime,
			Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion, EphemeralOwner: hex64(st.EphemeralOwner),
			DataLength: st.DataLength, NumChildren: st.NumChildren, NodeKind: kindName(n.Owner())}
		if n.Kind() == znode.KindTTL {
			j.TTLMs = ptr(znode.TTLOf(n.Owner()).Milliseconds())
		}
		err = enc.Encode(j)
		return true
	})
	for _, ss := range s.Sessions {
		if err != nil {
			break
		}
		n := 0
		s.Tree.Ephemerals(ss.ID, func(string) bool { n++; return true })
		err = enc.Encode(JSONSession{Kind: "session", ID: hex64(ss.ID), TimeoutMs: ss.Timeout, Ephemerals: n,
			SessionKind: sessionKindName(ss.Kind)})
	}
	return err
}
