package inspect

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/snapshot"
	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/znode"
)

// nextSessionMarker is the Timeout of the session-table entry in which the
// engine records its next session id (see snapshots.go in the root
// package, whose convention this follows).
const nextSessionMarker = -1

// SnapshotFile describes one file of a data directory's snapshots
// directory.
type SnapshotFile struct {
	Name string     // file name
	Path string     // dir/snapshots/Name
	Zxid znode.Zxid // the zxid its name says
	Size int64      // bytes
	// Temp marks a temporary file a snapshot writer left behind (crash or
	// error); the engine ignores it and removes it at its next prune. It
	// is not loaded.
	Temp bool
	// Meta is what Load found in a valid file; Err why it is not valid
	// (an error matching snapshot.ErrCorrupt, or the filesystem's).
	Meta snapshot.Meta
	Err  error
	// Sessions counts the open sessions of a valid file (Meta.Sessions
	// also counts the entry holding the next session id).
	Sessions int
}

// Valid reports whether the file is a complete snapshot that loads.
func (f *SnapshotFile) Valid() bool { return !f.Temp && f.Err == nil }

// ListSnapshots lists the snapshot files of the data directory dir, newest
// first, temporary files last, and fully loads each complete one (see
// snapshot.Load for what that verifies) to say whether it is valid.
//
// It reads only snapshot files, which the engine writes under a temporary
// name and renames when complete and never modifies afterwards, so it takes
// no lock and may run beside a running engine. A file the engine prunes
// while it runs is reported with an error matching os.ErrNotExist.
func ListSnapshots(dir string) ([]SnapshotFile, error) {
	return listSnapshots(dir, true)
}

func listSnapshots(dir string, load bool) ([]SnapshotFile, error) {
	if _, _, err := checkStore(dir); err != nil {
		return nil, err
	}
	sdir := filepath.Join(dir, snapshotSubdir)
	entries, err := os.ReadDir(sdir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, opError("list snapshots", sdir, err)
	}
	var files, temps []SnapshotFile
	for _, e := range entries {
		name := e.Name()
		base, temp := strings.CutSuffix(name, ".tmp")
		z, ok := parseSnapshotName(base)
		if !ok || e.IsDir() {
			continue
		}
		f := SnapshotFile{Name: name, Path: filepath.Join(sdir, name), Zxid: z, Temp: temp}
		if fi, err := e.Info(); err == nil {
			f.Size = fi.Size()
		} else {
			f.Err = err
		}
		if temp {
			temps = append(temps, f)
		} else {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b SnapshotFile) int { return cmp.Compare(b.Zxid, a.Zxid) })
	if load {
		for i := range files {
			f := &files[i]
			if f.Err != nil {
				continue
			}
			var sessions []snapshot.Session
			_, sessions, f.Meta, f.Err = snapshot.Load(vfs.Default, f.Path)
			for _, ss := range sessions {
				if ss.Timeout != nextSessionMarker {
					f.Sessions++
				}
			}
		}
	}
	return append(files, temps...), nil
}

// parseSnapshotName returns the zxid of a snapshot file name: "snapshot."
// and 16 lowercase hex digits, as snapshot.FileName makes it.
func parseSnapshotName(name string) (znode.Zxid, bool) {
	hex, ok := strings.CutPrefix(name, "snapshot.")
	if !ok || len(hex) != 16 || strings.ToLower(hex) != hex {
		return 0, false
	}
	z, err := ParseZxid("0x" + hex)
	if err != nil || snapshot.FileName(z) != name {
		return 0, false
	}
	return z, true
}

// Snapshot is a loaded snapshot file.
type Snapshot struct {
	Path     string
	Meta     snapshot.Meta
	Tree     *tree.Tree
	Sessions []snapshot.Session // the open sessions, by id
	// NextSession is the id the engine hands out next (0 if the file does
	// not record it).
	NextSession int64
}

// LoadSnapshot loads and verifies the snapshot file at path (see
// snapshot.Load).
func LoadSnapshot(path string) (*Snapshot, error) {
	t, sessions, meta, err := snapshot.Load(vfs.Default, path)
	if err != nil {
		return nil, opError("load snapshot", path, err)
	}
	s := &Snapshot{Path: path, Meta: meta, Tree: t}
	for _, ss := range sessions {
		if ss.Timeout == nextSessionMarker {
			s.NextSession = ss.ID
			continue
		}
		s.Sessions = append(s.Sessions, ss)
	}
	return s, nil
}

// FindSnapshot returns the path of the snapshot at zxid z in the data
// directory dir, or of the newest valid one if z is negative.
func FindSnapshot(dir string, z znode.Zxid) (string, error) {
	files, err := listSnapshots(dir, z < 0)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		switch {
		case f.Temp:
		case z >= 0 && f.Zxid == z:
			return f.Path, nil
		case z < 0 && f.Valid():
			return f.Path, nil
		}
	}
	sdir := filepath.Join(dir, snapshotSubdir)
	if z >= 0 {
		return "", zxidError("find snapshot", sdir, z, fmt.Errorf("no snapshot file %s: %w", snapshot.FileName(z), os.ErrNotExist))
	}
	if len(files) > 0 {
		return "", opError("find snapshot", sdir, corruptf(nil, "no valid snapshot among %d files", len(files)))
	}
	return "", opError("find snapshot", sdir, fmt.Errorf("no snapshot: %w", os.ErrNotExist))
}
