package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zkembed/zkembed"
)

// RecoveryConfig sizes the recovery workload.
type RecoveryConfig struct {
	Dir         string // parent for the data directory (default os.TempDir())
	Nodes       int    // znodes in the snapshot (default 1,000,000)
	LogRecords  int    // records in the log after the snapshot (default 100,000)
	DataSize    int    // bytes of data per znode (default 100)
	KeepDataDir bool   // leave the directory behind (for inspection)
}

// RecoveryReport is how long a reopen took, and what it restored.
type RecoveryReport struct {
	Nodes, LogRecords int
	Build             time.Duration // building the fixture (NoSync, multis)
	Snapshot          time.Duration // writing the snapshot
	Open              time.Duration // zkembed.Open: snapshot load + log replay
	Recovery          zkembed.Recovery
}

// String renders the report on one line.
func (r RecoveryReport) String() string {
	return fmt.Sprintf("reopen with %d znodes in a snapshot + %d log records: %v (snapshot written in %v; fixture built in %v; replayed %d)",
		r.Nodes, r.LogRecords, r.Open.Round(time.Millisecond), r.Snapshot.Round(time.Millisecond), r.Build.Round(time.Millisecond), r.Recovery.Replayed)
}

// Recovery builds a data directory holding a snapshot of cfg.Nodes znodes
// and cfg.LogRecords log records after it, then measures Open.
func Recovery(cfg RecoveryConfig) (RecoveryReport, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 1_000_000
	}
	if cfg.LogRecords == 0 {
		cfg.LogRecords = 100_000
	}
	if cfg.DataSize == 0 {
		cfg.DataSize = 100
	}
	parent, err := os.MkdirTemp(cfg.Dir, "zkembed-recovery-")
	if err != nil {
		return RecoveryReport{}, err
	}
	if !cfg.KeepDataDir {
		defer os.RemoveAll(parent)
	}
	dir := filepath.Join(parent, "data")
	rep := RecoveryReport{Nodes: cfg.Nodes, LogRecords: cfg.LogRecords}
	start := time.Now()
	db, s, err := buildTree(dir, cfg.Nodes, cfg.DataSize)
	if err != nil {
		return rep, err
	}
	ctx := context.Background()
	data := make([]byte, cfg.DataSize)
	rep.Build = time.Since(start)
	start = time.Now()
	if _, err := db.Snapshot(ctx); err != nil {
		return rep, err
	}
	rep.Snapshot = time.Since(start)
	for i := range cfg.LogRecords {
		if _, err := s.SetData(ctx, Path(i%cfg.Nodes), data, -1); err != nil {
			return rep, err
		}
	}
	if err := db.Close(); err != nil {
		return rep, err
	}
	start = time.Now()
	db, err = zkembed.Open(dir, &zkembed.Options{ResumeSessions: true})
	if err != nil {
		return rep, err
	}
	rep.Open = time.Since(start)
	rep.Recovery = db.Recovery()
	return rep, db.Close()
}

// buildTree opens a data directory without fsync (building a fixture is not
// what is measured) and fills it with nodes znodes of dataSize bytes, in
// multis of 1000, at Path(i).
func buildTree(dir string, nodes, dataSize int) (*zkembed.DB, *zkembed.Session, error) {
	db, err := zkembed.Open(dir, &zkembed.Options{NoSync: true, SnapshotEvery: 1 << 30})
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	s, err := db.NewSession(ctx, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	data := make([]byte, dataSize)
	var ops []zkembed.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		_, err := s.Multi(ctx, ops...)
		ops = ops[:0]
		return err
	}
	for i := range nodes {
		p := Path(i)
		if i%1000 == 0 {
			if err := flush(); err != nil {
				db.Close()
				return nil, nil, err
			}
			if i == 0 {
				ops = append(ops, &zkembed.CreateOp{Path: "/bench", ACL: zkembed.OpenACL()})
			}
			ops = append(ops, &zkembed.CreateOp{Path: p[:strings.LastIndexByte(p, '/')], ACL: zkembed.OpenACL()})
		}
		ops = append(ops, &zkembed.CreateOp{Path: p, Data: data, ACL: zkembed.OpenACL()})
	}
	if err := flush(); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, s, nil
}
