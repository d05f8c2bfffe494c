package inspect

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// TruncatePlan is what Truncate does to roll a data directory back to the
// state it had at one zxid. PlanTruncate makes it, after proving that the
// engine will open the truncated store at exactly that state.
type TruncatePlan struct {
	Dir  string
	Zxid znode.Zxid // the state to roll back to
	// Records counts the log records after Zxid to delete, FirstDropped
	// and LastDropped are their zxids.
	Records                   int
	FirstDropped, LastDropped znode.Zxid
	// Snapshots are the snapshot files newer than Zxid to remove.
	Snapshots []string
	// Base is the snapshot the engine restores from afterwards (BaseFile;
	// "" and 0 for an empty tree), Replayed the records it then replays.
	Base     znode.Zxid
	BaseFile string
	Replayed int
	// Nodes and Digest describe the tree at Zxid, as the replay rebuilt it.
	Nodes  int
	Digest uint64
}

// Empty reports whether the plan changes nothing: the store is already at
// its zxid.
func (p *TruncatePlan) Empty() bool { return p.Records == 0 && len(p.Snapshots) == 0 }

// String describes the plan on a few lines.
func (p *TruncatePlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "truncate %s to %v:\n", p.Dir, p.Zxid)
	if p.Empty() {
		b.WriteString("  nothing to do: no log record and no snapshot after it\n")
	}
	if p.Records > 0 {
		fmt.Fprintf(&b, "  delete %s, %v to %v\n", plural(p.Records, "log record"), p.FirstDropped, p.LastDropped)
	}
	for _, f := range p.Snapshots {
		fmt.Fprintf(&b, "  remove snapshot %s\n", f)
	}
	base := "an empty tree"
	if p.BaseFile != "" {
		base = fmt.Sprintf("snapshot %v", p.Base)
	}
	fmt.Fprintf(&b, "  the store then opens at %v: %s and %s (%d nodes, digest %#016x)\n",
		p.Zxid, base, plural(p.Replayed, "log record"), p.Nodes, p.Digest)
	return b.String()
}

// PlanTruncate works out how to roll the store back to zxid z: delete every
// log record after z and every snapshot file newer than z, so that the
// engine's recovery (newest valid snapshot, then the log after it) stops at
// z. It reads only, and it refuses (an error matching ErrRefused) unless
// the result opens at exactly the state z:
//   - z is a zxid the store reached: the zxid of a log record, of a valid
//     snapshot, or 0 (every store starts empty: truncating to 0 empties
//     it);
//   - among the snapshots kept (zxid ≤ z), the newest valid one, or an
//     empty tree if none is kept at all, is followed in the log by every
//     record up to z. (If all the kept ones are corrupt the engine would
//     refuse to open rather than start from an empty tree.)
//   - replaying those records succeeds with every recorded digest.
//
// Temporary snapshot files are left alone; the engine ignores them.
func (s *Store) PlanTruncate(z znode.Zxid) (*TruncatePlan, error) {
	refuse := func(format string, args ...any) error {
		return zxidError("truncate", s.dir, z, fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...)))
	}
	if z < 0 {
		return nil, zxidError("truncate", s.dir, z, fmt.Errorf("%w: negative", ErrBadZxid))
	}
	p := &TruncatePlan{Dir: s.dir, Zxid: z}
	first, last, err := s.bounds()
	if err != nil {
		return nil, err
	}
	files, err := listSnapshots(s.dir, true)
	if err != nil {
		return nil, err
	}
	var base *SnapshotFile
	kept := 0
	for i := range files {
		f := &files[i]
		switch {
		case f.Temp:
		case f.Zxid > z:
			p.Snapshots = append(p.Snapshots, f.Path)
		default:
			kept++
			if base != nil {
				break
			}
			if f.Valid() { // newest first
				base = f
			} else if !errors.Is(f.Err, snapshot.ErrCorrupt) {
				// The engine falls back to an older snapshot only when a
				// newer one is corrupt, never on an I/O error.
				return nil, opError("truncate", f.Path, f.Err)
			}
		}
	}
	if kept > 0 && base == nil {
		return nil, refuse("every snapshot at or before it (%d) is corrupt: the engine would not open the store", kept)
	}
	r := s.newReplayer(nil)
	if base != nil {
		snap, err := LoadSnapshot(base.Path)
		if err != nil {
			return nil, err
		}
		r = s.newReplayer(snap)
		p.Base, p.BaseFile = base.Zxid, base.Path
	}
	if first != 0 && first <= z && first > p.Base+1 {
		return nil, refuse("the log starts at %v, after the state it would be rebuilt from (%v): records %v to %v were truncated when a snapshot made them unnecessary",
			first, p.Base, p.Base+1, first-1)
	}
	if err := s.Records(p.Base+1, z, func(x *txn.Txn) error {
		if err := r.apply(x); err != nil {
			return err
		}
		p.Replayed++
		return nil
	}); err != nil {
		return nil, refuse("the log up to it does not replay: %v", err)
	}
	if got := r.t.Zxid(); got != z {
		switch {
		case z > last && got == last:
			return nil, refuse("the store never reached it: the log ends at %v", last)
		case p.Replayed == 0 && first > z:
			return nil, refuse("the log starts at %v, after it, and no snapshot is at it", first)
		default:
			return nil, refuse("no record has this zxid: the log goes from %v to the next record after it", got)
		}
	}
	p.Nodes = r.t.Len()
	p.Digest, _ = r.t.Digest()
	err = s.scan(z+1, math.MaxInt64, func(raw rawRecord) error {
		if p.Records == 0 {
			p.FirstDropped = raw.zxid
		}
		p.LastDropped = raw.zxid
		p.Records++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Truncate carries out a plan made by PlanTruncate on this Store, which
// must have been opened with Options.Exclusive (so that no engine has
// opened the directory since the plan was made).
//
// It first removes the snapshots newer than the plan's zxid and syncs the
// directory, then deletes the log records after it in one synced pebble
// batch (a range deletion). A crash between the two leaves the store as it
// was, less snapshots it did not need: the engine then opens at its old
// last zxid from an older snapshot and the full log, and running the same
// truncation again finishes it.
func (s *Store) Truncate(p *TruncatePlan) error {
	fail := func(err error) error { return zxidError("truncate", s.dir, p.Zxid, err) }
	if !s.exclusive {
		return fail(errors.New("the store was not opened with Options.Exclusive"))
	}
	for _, f := range p.Snapshots {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(err)
		}
	}
	if len(p.Snapshots) > 0 {
		if err := syncDir(s.snapshotDir()); err != nil {
			return fail(err)
		}
	}
	if p.Records == 0 {
		return nil
	}
	if err := s.closeLog(); err != nil {
		return fail(err)
	}
	if err := deleteAfter(s.logDir(), p.Zxid); err != nil {
		return fail(err)
	}
	if err := s.openLog(); err != nil {
		return err
	}
	if _, last, err := s.bounds(); err != nil {
		return err
	} else if last > p.Zxid {
		return fail(fmt.Errorf("the log still ends at %v after the deletion", last))
	}
	return nil
}

// deleteAfter deletes, durably, every log record after z, with the log
// database opened for writing.
func deleteAfter(dir string, z znode.Zxid) (err error) {
	db, plock, err := openPebble(dir, false)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close log: %w", cerr)
		}
		_ = plock.Close()
	}()
	var start [keySize]byte
	putKey(start[:], z+1)
	end := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} // above every zxid key
	b := db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(start[:], end, nil); err != nil {
		return fmt.Errorf("delete records after %v: %w", z, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete records after %v: %w", z, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return d.Close()
}
