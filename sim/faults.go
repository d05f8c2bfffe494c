package sim

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// faultInjector fails the log's WAL writes or syncs while armed.
type faultInjector struct {
	armed atomic.Bool
	kind  errorfs.OpKind
	errno syscall.Errno
}

// MaybeError implements errorfs.Injector.
func (f *faultInjector) MaybeError(op errorfs.Op) error {
	if f.armed.Load() && op.Kind == f.kind && strings.HasSuffix(op.Path, ".log") {
		return f.errno
	}
	return nil
}

// String implements errorfs.Injector.
func (f *faultInjector) String() string { return "sim WAL faults" }

// diskFault runs one write while the disk fails the log's writes or syncs
// (EIO or ENOSPC). A write the model refuses is refused as usual, without
// touching the disk. One it accepts must fail with ErrConnectionLoss (its
// outcome is unknown), and then the engine must refuse writes with
// ErrFailed while reads go on showing the state before it. The engine is
// then closed and opened again on the same disk: the failed write is
// either wholly there or not at all (a failed sync does not mean the bytes
// did not reach the file), and everything before it is.
func (r *run) diskFault(ctx context.Context, si int, s *zkembed.Session) error {
	op := RandomOp(r.rng, r.m)
	r.fault.kind = []errorfs.OpKind{errorfs.OpFileWrite, errorfs.OpFileSyncData}[r.rng.IntN(2)]
	r.fault.errno = []syscall.Errno{syscall.EIO, syscall.ENOSPC}[r.rng.IntN(2)]
	r.where = "disk fault (" + r.fault.errno.Error() + ") under " + op.String()
	after := r.m.Clone()
	wantPath, code := after.Apply(op, r.m.Zxid+1, r.clk.Now().UnixMilli(), s.ID())
	r.fault.armed.Store(true)
	_, err := op.Write(ctx, s)
	r.fault.armed.Store(false)
	if code != znode.CodeOK {
		if got := znode.CodeOf(err); got != code {
			return r.violation("engine: %v (%d), model: %d", err, got, code)
		}
		r.log("s%d %s -> refused %d, the disk untouched", si, r.where, code)
		return r.deliver(ctx, nil)
	}
	r.res.Faults++
	if !errors.Is(err, zkembed.ErrConnectionLoss) {
		return r.violation("the write under a disk fault returned %v, want ErrConnectionLoss", err)
	}
	if _, err := s.Create(ctx, "/after-fault", nil, zkembed.ModePersistent, zkembed.OpenACL()); !errors.Is(err, zkembed.ErrFailed) {
		return r.violation("a write after the fault returned %v, want ErrFailed", err)
	}
	for _, p := range opPaths {
		if err := r.read(ctx, si, s, p); err != nil {
			return err
		}
	}
	if err := r.db.Close(); err != nil && !errors.Is(err, zkembed.ErrFailed) {
		r.log("close after the fault: %v", err)
	}
	if err := r.reopen(); err != nil {
		return err
	}
	// Open closed the previous sessions, one transaction each, after the
	// write if it was kept.
	closes := znode.Zxid(len(r.live))
	kept := false
	switch r.db.LastZxid() {
	case r.m.Zxid + closes:
	case r.m.Zxid + 1 + closes:
		kept = true
		after.Zxid++
		r.m = after
	default:
		return r.violation("reopened at zxid %#x: neither %#x (the failed write lost) nor one more", uint64(r.db.LastZxid()), uint64(r.m.Zxid+closes))
	}
	r.log("s%d %s -> lost connection; reopened, the write kept=%v (%s)", si, r.where, kept, wantPath)
	return r.restarted(ctx)
}
