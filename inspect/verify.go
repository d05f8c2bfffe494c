package inspect

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// follows reports whether record x may follow zxid last in a log, as the
// engine's recovery decides it (DB.follows in the root package): by one,
// or, for an epoch record, at counter 0 of the next epoch once the counter
// is spent (the last counter is never used, and the engine rolls over when
// it reaches MaxCounter-1).
func follows(l znode.Layout, x *txn.Txn, last znode.Zxid) bool {
	if len(x.Ops) == 0 || x.Ops[0].Type != txn.TypeEpoch {
		return x.Zxid == last+1
	}
	return l.Counter(last) >= l.MaxCounter()-1 &&
		x.Zxid == l.Make(l.Epoch(last)+1, 0) && x.Ops[0].Epoch == l.Epoch(x.Zxid)
}

// replayer applies records to a tree as the engine's recovery does, with
// the same checks: every record has ops, follows the one before, applies,
// and leaves the digest it recorded.
type replayer struct {
	s *Store
	t *tree.Tree
}

// newReplayer starts from snap's tree, or from an empty tree if snap is nil.
func (s *Store) newReplayer(snap *Snapshot) *replayer {
	if snap != nil {
		return &replayer{s: s, t: snap.Tree}
	}
	t := tree.New()
	t.TrackDigest()
	return &replayer{s: s, t: t}
}

func (r *replayer) apply(x *txn.Txn) error {
	fail := func(cause error, format string, args ...any) error {
		return zxidError("replay", r.s.logDir(), x.Zxid, corruptf(cause, format, args...))
	}
	if len(x.Ops) == 0 {
		return fail(nil, "record has no ops")
	}
	if last := r.t.Zxid(); last != 0 && !follows(r.s.layout, x, last) {
		return fail(nil, "zxid gap: %v follows %v", x.Zxid, last)
	}
	if err := r.t.Apply(x, nil); err != nil {
		return fail(err, "record does not apply")
	}
	if d, _ := r.t.Digest(); x.HasDigest && d != x.Digest {
		return fail(nil, "after replay the tree digest is %#016x, the record says %#016x", d, x.Digest)
	}
	return nil
}

// LogReport is what VerifyLog checked.
type LogReport struct {
	Records      int        // records decoded (checksums and keys)
	First, Last  znode.Zxid // first and last zxids; 0 if the log is empty
	EpochChanges int        // epoch records among them
	// Base is where replay started: the zxid of the snapshot BaseFile, or
	// 0 and "" for an empty tree. Records up to Base were decoded and
	// checked for order but not replayed.
	Base     znode.Zxid
	BaseFile string
	Replayed int // records replayed after Base, each one's digest checked
	// SnapshotsChecked counts the valid snapshots after Base (or at zxid 0)
	// whose stored digest the replay reproduced at their zxid.
	SnapshotsChecked int
	// CorruptSnapshots are the snapshot files that do not load; replay
	// ignores them, as the engine does (see SnapshotVerify).
	CorruptSnapshots []string
}

// VerifyLog checks the whole log and its agreement with the snapshots:
//   - every record decodes (format, checksum) under its own zxid;
//   - zxids are strictly increasing and contiguous: each is the one before
//     plus one, or an epoch record at counter 0 of the next epoch after a
//     spent counter;
//   - the store can be opened: there is a valid snapshot at or after the
//     log's first zxid minus one, or the log starts at zxid 1 and there are
//     no snapshots or at least one valid one;
//   - replayed from the oldest such start (an empty tree or a snapshot),
//     every record applies and leaves the tree digest it recorded, and
//     every later valid snapshot's digest is the replay's at its zxid.
//
// It returns at the first problem, with the report so far and an *Error
// that names the zxid (or file) and matches ErrCorrupt.
func (s *Store) VerifyLog() (LogReport, error) {
	var rep LogReport
	first, last, err := s.bounds()
	if err != nil {
		return rep, err
	}
	rep.First, rep.Last = first, last
	files, err := listSnapshots(s.dir, true)
	if err != nil {
		return rep, err
	}
	var valid []SnapshotFile // oldest first
	complete := 0
	for _, f := range files {
		switch {
		case f.Temp:
		case f.Valid():
			valid = append(valid, f)
			complete++
		default:
			rep.CorruptSnapshots = append(rep.CorruptSnapshots, f.Name)
			complete++
		}
	}
	slices.Reverse(valid)
	if complete > 0 && len(valid) == 0 {
		return rep, opError("verify log", s.snapshotDir(), corruptf(nil,
			"all %d snapshots are corrupt: the engine refuses to open the store rather than start from an empty tree", complete))
	}
	// The oldest start replay can use: the empty tree if the log begins at
	// 1 (or is empty), else the oldest valid snapshot at first-1 or later.
	var base *Snapshot
	if first > 1 {
		i := slices.IndexFunc(valid, func(f SnapshotFile) bool { return f.Zxid >= first-1 })
		if i < 0 {
			return rep, zxidError("verify log", s.logDir(), first, corruptf(nil,
				"the log starts at %v and no valid snapshot is at %v or later: the store cannot be opened", first, first-1))
		}
		if base, err = LoadSnapshot(valid[i].Path); err != nil {
			return rep, err
		}
		rep.Base, rep.BaseFile = base.Meta.Zxid, base.Path
		valid = valid[i+1:]
	}
	r := s.newReplayer(base)
	// A snapshot at zxid 0 (of an engine that had written nothing) is the
	// empty tree replay starts from.
	for len(valid) > 0 && valid[0].Zxid <= r.t.Zxid() {
		if d, _ := r.t.Digest(); d != valid[0].Meta.Digest {
			return rep, zxidError("verify log", s.logDir(), valid[0].Zxid, corruptf(nil,
				"snapshot %s's digest %#016x is not the empty tree's %#016x", valid[0].Name, valid[0].Meta.Digest, d))
		}
		rep.SnapshotsChecked++
		valid = valid[1:]
	}
	var prev *txn.Txn
	err = s.scan(0, math.MaxInt64, func(raw rawRecord) error {
		x, err := s.decode(raw)
		if err != nil {
			return err
		}
		rep.Records++
		if len(x.Ops) > 0 && x.Ops[0].Type == txn.TypeEpoch {
			rep.EpochChanges++
		}
		if prev != nil && !follows(s.layout, x, prev.Zxid) {
			return zxidError("verify log", s.logDir(), x.Zxid, corruptf(nil, "zxid gap: %v follows %v", x.Zxid, prev.Zxid))
		}
		prev = x
		if x.Zxid <= r.t.Zxid() {
			return nil // at or before the base snapshot
		}
		if len(valid) > 0 && valid[0].Zxid < x.Zxid {
			return zxidError("verify log", s.logDir(), valid[0].Zxid, corruptf(nil,
				"snapshot %s is at a zxid the log does not have (the log goes from %v to %v)", valid[0].Name, r.t.Zxid(), x.Zxid))
		}
		if err := r.apply(x); err != nil {
			return err
		}
		rep.Replayed++
		if len(valid) > 0 && valid[0].Zxid == x.Zxid {
			if d, _ := r.t.Digest(); d != valid[0].Meta.Digest {
				return zxidError("verify log", s.logDir(), x.Zxid, corruptf(nil,
					"replay's tree digest %#016x differs from snapshot %s's %#016x", d, valid[0].Name, valid[0].Meta.Digest))
			}
			rep.SnapshotsChecked++
			valid = valid[1:]
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	if len(valid) > 0 {
		return rep, zxidError("verify log", s.logDir(), valid[0].Zxid, corruptf(nil,
			"snapshot %s is after the log's last record %v: records are missing", valid[0].Name, last))
	}
	return rep, nil
}

// bounds returns the first and last zxids of the log (0, 0 if empty).
func (s *Store) bounds() (first, last znode.Zxid, err error) {
	iter, err := s.db.NewIter(nil)
	if err != nil {
		return 0, 0, opError("read log", s.logDir(), err)
	}
	key := func() (znode.Zxid, error) {
		k := iter.Key()
		if len(k) != keySize {
			return 0, opError("read log", s.logDir(), corruptf(txn.ErrCorrupt, "key %x is %d bytes, not %d", k, len(k), keySize))
		}
		return znode.Zxid(binary.BigEndian.Uint64(k)), nil
	}
	if iter.First() {
		first, err = key()
		if err == nil && iter.Last() {
			last, err = key()
		}
	}
	if cerr := iter.Close(); err == nil && cerr != nil {
		err = opError("read log", s.logDir(), cerr)
	}
	return first, last, err
}

// String summarises the report on a few lines.
func (r LogReport) String() string {
	s := "log: " + plural(r.Records, "record")
	if r.Records > 0 {
		s += fmt.Sprintf(", %v to %v, contiguous", r.First, r.Last)
		if r.EpochChanges > 0 {
			s += " (" + plural(r.EpochChanges, "epoch change") + ")"
		}
		s += ", every checksum good"
	}
	s += "\n"
	base := "an empty tree"
	if r.BaseFile != "" {
		base = fmt.Sprintf("snapshot %v (%s)", r.Base, r.BaseFile)
	}
	s += fmt.Sprintf("replay: %s from %s, every digest reproduced", plural(r.Replayed, "record"), base)
	if r.SnapshotsChecked > 0 {
		s += fmt.Sprintf("; %s the log", plural(r.SnapshotsChecked, "later snapshot agrees with", "later snapshots agree with"))
	}
	s += "\n"
	for _, name := range r.CorruptSnapshots {
		s += fmt.Sprintf("warning: snapshot %s is corrupt and was skipped (see zkembed snapshot verify)\n", name)
	}
	return s
}
