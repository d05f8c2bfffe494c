package inspect

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// keySize is the size of a log key: the zxid, 8 bytes big-endian (see
// package txnlog).
const keySize = 8

func putKey(b []byte, z znode.Zxid) { binary.BigEndian.PutUint64(b, uint64(z)) }

// rawRecord is one key-value pair of the log, undecoded.
type rawRecord struct {
	key   []byte     // valid until the next call
	zxid  znode.Zxid // the key as a zxid, if the key has the right size
	value []byte     // valid until the next call
}

// scan calls fn with every key of the log whose zxid is in [from, to], in
// order. Keys of the wrong size (which the engine never writes) are passed
// too, with zxid 0, so that verification can report them.
func (s *Store) scan(from, to znode.Zxid, fn func(r rawRecord) error) error {
	if s.db == nil {
		return opError("read log", s.logDir(), fmt.Errorf("store is closed"))
	}
	var lo, hi [keySize]byte
	putKey(lo[:], max(from, 0))
	o := &pebble.IterOptions{}
	if from > 0 {
		o.LowerBound = lo[:]
	}
	if to < math.MaxInt64 {
		putKey(hi[:], to+1)
		o.UpperBound = hi[:]
	}
	iter, err := s.db.NewIter(o)
	if err != nil {
		return opError("read log", s.logDir(), err)
	}
	for valid := iter.First(); valid; valid = iter.Next() {
		r := rawRecord{key: iter.Key()}
		if len(r.key) == keySize {
			r.zxid = znode.Zxid(binary.BigEndian.Uint64(r.key))
		}
		v, err := iter.ValueAndErr()
		if err != nil {
			iter.Close()
			return zxidError("read log", s.logDir(), r.zxid, err)
		}
		r.value = v
		if err := fn(r); err != nil {
			iter.Close()
			return err
		}
	}
	if err := iter.Close(); err != nil {
		return opError("read log", s.logDir(), err)
	}
	return nil
}

// decode decodes a raw record as txnlog.Replay does: a key of the wrong
// size, a value that does not decode, or a record whose zxid is not its
// key is an error matching ErrCorrupt (and txn.ErrCorrupt).
func (s *Store) decode(r rawRecord) (*txn.Txn, error) {
	if len(r.key) != keySize {
		return nil, opError("read log", s.logDir(), corruptf(txn.ErrCorrupt, "key %x is %d bytes, not %d", r.key, len(r.key), keySize))
	}
	t, err := txn.Decode(r.value)
	if err != nil {
		return nil, zxidError("read log", s.logDir(), r.zxid, corruptf(err, "record does not decode"))
	}
	if t.Zxid != r.zxid {
		return nil, zxidError("read log", s.logDir(), r.zxid, corruptf(txn.ErrCorrupt, "record under key %x has zxid %v", r.key, t.Zxid))
	}
	return t, nil
}

// Records calls fn with every record whose zxid is in [from, to], in zxid
// order, and stops at fn's first error. A record that does not decode stops
// it with an error matching ErrCorrupt that names its zxid.
func (s *Store) Records(from, to znode.Zxid, fn func(*txn.Txn) error) error {
	return s.scan(from, to, func(r rawRecord) error {
		t, err := s.decode(r)
		if err != nil {
			return err
		}
		return fn(t)
	})
}

// EpochRange is the part of the log in one zxid epoch.
type EpochRange struct {
	Epoch       int64
	First, Last znode.Zxid
	Records     int
}

// LogInfo summarises the log. Records that do not decode are counted, not
// decoded: LogInfo never fails because of one (run VerifyLog).
type LogInfo struct {
	Records     int        // records in the log
	First, Last znode.Zxid // zxids of the first and last records; 0 if empty
	// FirstTime and LastTime are the first and last records' times (ms
	// since the Unix epoch).
	FirstTime, LastTime int64
	Bytes               int64      // encoded size of all records
	Largest             int        // size of the largest record
	LargestZxid         znode.Zxid // its zxid
	Epochs              []EpochRange
	Ops                 map[txn.Type]int // ops by type, multis' sub-ops included
	Multis              int              // multi records
	Corrupt             int              // records that do not decode
	FirstCorrupt        znode.Zxid       // the first of them
	// DiskBytes is the size of the files in the log directory: on Linux
	// it counts each write-ahead log file's preallocated space whole
	// (4.4 MiB), as the disk does.
	DiskBytes int64
	DiskFiles int // files in the log directory
}

// LogInfo reads the whole log and summarises it.
func (s *Store) LogInfo() (LogInfo, error) {
	info := LogInfo{Ops: map[txn.Type]int{}}
	err := s.scan(0, math.MaxInt64, func(r rawRecord) error {
		info.Records++
		info.Bytes += int64(len(r.value))
		if len(r.value) > info.Largest {
			info.Largest, info.LargestZxid = len(r.value), r.zxid
		}
		if info.First == 0 {
			info.First = r.zxid
		}
		info.Last = r.zxid
		epoch := s.layout.Epoch(r.zxid)
		if n := len(info.Epochs); n == 0 || info.Epochs[n-1].Epoch != epoch {
			info.Epochs = append(info.Epochs, EpochRange{Epoch: epoch, First: r.zxid})
		}
		e := &info.Epochs[len(info.Epochs)-1]
		e.Last = r.zxid
		e.Records++
		t, err := s.decode(r)
		if err != nil {
			if info.Corrupt == 0 {
				info.FirstCorrupt = r.zxid
			}
			info.Corrupt++
			return nil
		}
		if info.Records == 1 {
			info.FirstTime = t.Time
		}
		info.LastTime = t.Time
		if t.Multi {
			info.Multis++
		}
		for _, op := range t.Ops {
			info.Ops[op.Type]++
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	err = filepath.WalkDir(s.logDir(), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		info.DiskFiles++
		info.DiskBytes += fi.Size()
		return nil
	})
	if err != nil {
		return info, opError("list log", s.logDir(), err)
	}
	return info, nil
}
