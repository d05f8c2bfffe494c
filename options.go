package zkembed

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/txnlog"
)

// Options configures an engine. A nil *Options, or a zero field, means the
// default, which is ZooKeeper 3.8's default where ZooKeeper has one.
type Options struct {
	// Clock is the source of time for ctime, mtime, session expiry and
	// container/TTL reaping. Default: the wall clock. Sessions are timed on
	// its steady reading if it has one (clock.Steady: the wall clock and
	// clock.Virtual do), so that a step of the wall clock moves no session
	// deadline, as in ZooKeeper. Use a clock.Virtual for deterministic tests
	// and simulations.
	Clock clock.Clock

	// Seed makes session ids reproducible: with the same Seed and the same
	// calls, an engine hands out the same ids. Zero derives the first id from
	// the clock, as ZooKeeper does (still deterministic on a virtual clock).
	Seed uint64

	// TickTime is ZooKeeper's tickTime: the unit of session expiry buckets
	// and of the default session timeout bounds. Default 2s.
	TickTime time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound the negotiated session
	// timeout. Defaults: 2 and 20 ticks.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration

	// MaxDataSize is the largest znode data accepted, in bytes; larger data
	// fails with ErrBadArguments. Default 1,048,575 (jute.maxbuffer). The
	// wire protocol has its own frame limit.
	MaxDataSize int

	// ZxidCounterBits is the width of the zxid counter below the epoch.
	// Default 32, ZooKeeper's layout; allowed 2 to 48. A small value makes
	// counter rollover (a new epoch) frequent, for tests.
	ZxidCounterBits int

	// ExtendedTypes enables TTL nodes (zookeeper.extendedTypesEnabled).
	// Default false: creating a TTL node fails with ErrUnimplemented.
	ExtendedTypes bool

	// ContainerCheckInterval is how often containers and TTL nodes are
	// checked for reaping (znode.container.checkIntervalMs). Default 60s.
	ContainerCheckInterval time.Duration
	// ContainerMaxNeverUsed reaps a container that never had a child once
	// its mtime is older than this (znode.container.maxNeverUsedIntervalMs).
	// Default 0: never-used containers are kept forever.
	ContainerMaxNeverUsed time.Duration

	// ResumeSessions resumes every session a reopened engine restores,
	// in-process ones included. By default Open tells them apart: a
	// remote session (opened by a client of the wire protocol, see
	// Server) is resumed with a full timeout for its client to reconnect,
	// as ZooKeeper does after a restart; an in-process session
	// (DB.NewSession) belonged to the previous process and can never be
	// reclaimed, so Open closes it, deleting its ephemerals in a logged
	// transaction. A session logged before kinds were (format version 1
	// of the log or snapshot) is of unknown kind and closed too, unless
	// ResumeSessions. Default false. A resumed session nobody reclaims
	// expires after its timeout, its ephemerals with it.
	ResumeSessions bool

	// FS is the filesystem a data directory lives on. Default: the
	// operating system's. Tests pass pebble's vfs.NewCrashableMem() to
	// simulate crashes, or an errorfs wrapper to inject faults.
	FS vfs.FS

	// WriteTimeout bounds, in real time, how long the engine waits for the
	// log to complete a write. Past it the engine stops accepting writes
	// (ErrFailed) instead of hanging with a stalled disk. Default 5s.
	WriteTimeout time.Duration

	// NoSync makes the log skip fsync. FOR TESTS AND BENCHMARKS ONLY: a
	// crash can then lose writes that were acknowledged.
	NoSync bool

	// SnapshotEvery is how many logged records trigger a snapshot, taken in
	// the background (zookeeper.snapCount). Default 100,000. Data
	// directories only.
	SnapshotEvery int
	// SnapshotRetain is how many snapshots are kept; the log is kept from
	// the oldest of them on (autopurge.snapRetainCount). Default 3.
	SnapshotRetain int

	// SnapshotBytesPerSecond caps how fast snapshots are written, so that
	// a large one leaves the disk and the CPUs to the log's fsyncs (synced
	// write p99 on a 1M-znode tree fell from about 4.8ms to 1.6-1.9ms at
	// 50 MiB/s; see BENCHMARKS.md). Default 64 MiB/s; negative means no
	// cap. DB.Snapshot writes at this rate. An automatic snapshot goes as
	// slowly as it can and still end in half the time the last
	// SnapshotEvery records took, but no slower than a quarter of this
	// rate: when writes are few, the snapshot's share of the disk and the
	// CPUs is smaller still.
	//
	// It also bounds how well snapshots keep up with writes. A snapshot of
	// S bytes takes at least S/rate (1M znodes of 100 bytes: 160 MB, 2.5 s
	// at the default), so snapshots keep up with SnapshotEvery as long as
	// the engine logs fewer than SnapshotEvery×rate/S records per second
	// (about 40k/s for that tree, the durable setData rate of 16 writers
	// on the 2-CPU VM of BENCHMARKS.md). Faster than that, each snapshot
	// starts as soon as the last one ends, and the log after the newest
	// snapshot — what a restart replays — holds up to SnapshotEvery
	// records plus S/rate seconds' worth, instead of SnapshotEvery. Set it
	// no lower than S × peak records per second ÷ SnapshotEvery. (The
	// first automatic snapshot after a quiet spell is paced for the quiet
	// spell's rate and may take up to 4×S/rate; the next is paced for the
	// new rate.)
	SnapshotBytesPerSecond int64

	// Log receives every transaction record in zxid order; Open replays the
	// records it already holds. Default: none (an in-memory engine keeps no
	// history). Pass a txnlog.Mem to inspect or replay the history. With a
	// data directory, the log is the directory's and Log must be nil.
	Log txnlog.Log

	// WatchBacklog bounds, in events, how far the consumer of a persistent
	// watch or a session stream may fall behind: events beyond a small
	// channel buffer wait in a backlog of at most this many (about 100
	// bytes each, plus the path), and one more ends the stream with
	// ErrWatchOverflow. One-shot watches need no backlog. Default 65536.
	WatchBacklog int

	// SuperDigest enables ZooKeeper's super user
	// (zookeeper.DigestAuthenticationProvider.superDigest): a digest id,
	// "super:" + base64(sha1("super:" + password)) as acl.Digest makes it.
	// A session that adds auth "digest" with "super:" + password then
	// passes every permission check. Default: none.
	SuperDigest string

	// AuthProviders add authentication schemes (zookeeper.authProvider.*):
	// each provider's scheme becomes valid in ACLs and in Session.AddAuth.
	AuthProviders []acl.Provider

	// auth is the authorizer built from SuperDigest and AuthProviders.
	auth *acl.Authorizer
}

// Option defaults.
const (
	DefaultTickTime               = 2 * time.Second
	DefaultMaxDataSize            = 0xfffff
	DefaultZxidCounterBits        = 32
	DefaultContainerCheckInterval = 60 * time.Second
	DefaultSnapshotEvery          = 100_000
	DefaultSnapshotRetain         = 3
	DefaultWriteTimeout           = 5 * time.Second
	DefaultSnapshotBytesPerSecond = 64 << 20
	DefaultWatchBacklog           = 1 << 16
)

// resolve returns a copy of o with defaults filled in, or an error naming the
// first bad field.
func (o *Options) resolve() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Clock == nil {
		r.Clock = clock.Real()
	}
	if r.TickTime == 0 {
		r.TickTime = DefaultTickTime
	}
	if r.MinSessionTimeout == 0 {
		r.MinSessionTimeout = 2 * r.TickTime
	}
	if r.MaxSessionTimeout == 0 {
		r.MaxSessionTimeout = 20 * r.TickTime
	}
	if r.MaxDataSize == 0 {
		r.MaxDataSize = DefaultMaxDataSize
	}
	if r.ZxidCounterBits == 0 {
		r.ZxidCounterBits = DefaultZxidCounterBits
	}
	if r.WriteTimeout == 0 {
		r.WriteTimeout = DefaultWriteTimeout
	}
	if r.WatchBacklog == 0 {
		r.WatchBacklog = DefaultWatchBacklog
	}
	if r.SnapshotEvery == 0 {
		r.SnapshotEvery = DefaultSnapshotEvery
	}
	if r.SnapshotBytesPerSecond == 0 {
		r.SnapshotBytesPerSecond = DefaultSnapshotBytesPerSecond
	}
	if r.SnapshotRetain == 0 {
		r.SnapshotRetain = DefaultSnapshotRetain
	}
	if r.ContainerCheckInterval == 0 {
		r.ContainerCheckInterval = DefaultContainerCheckInterval
	}
	auth, err := acl.NewAuthorizer(r.SuperDigest, r.AuthProviders...)
	if err != nil {
		return r, optionError("SuperDigest or AuthProviders", "", err.Error())
	}
	r.auth = auth
	switch {
	case r.TickTime < time.Millisecond:
		return r, optionError("TickTime", r.TickTime, "must be at least 1ms")
	case r.MinSessionTimeout < 0:
		return r, optionError("MinSessionTimeout", r.MinSessionTimeout, "must not be negative")
	case r.MaxSessionTimeout < r.MinSessionTimeout:
		return r, optionError("MaxSessionTimeout", r.MaxSessionTimeout, "must not be below MinSessionTimeout")
	case r.MaxSessionTimeout > time.Duration(1<<31-1)*time.Millisecond:
		return r, optionError("MaxSessionTimeout", r.MaxSessionTimeout, "must fit in int32 milliseconds")
	case r.MaxDataSize < 0 || r.MaxDataSize > txn.MaxRecordSize/2:
		return r, optionError("MaxDataSize", r.MaxDataSize, fmt.Sprintf("must be between 0 and %d (half the largest log record)", txn.MaxRecordSize/2))
	case r.WatchBacklog < 0:
		return r, optionError("WatchBacklog", r.WatchBacklog, "must not be negative")
	case r.ZxidCounterBits < 2 || r.ZxidCounterBits > 48:
		return r, optionError("ZxidCounterBits", r.ZxidCounterBits, "must be between 2 and 48")
	case r.ContainerCheckInterval < time.Millisecond:
		return r, optionError("ContainerCheckInterval", r.ContainerCheckInterval, "must be at least 1ms")
	case r.WriteTimeout < 0:
		return r, optionError("WriteTimeout", r.WriteTimeout, "must not be negative")
	case r.SnapshotEvery < 0:
		return r, optionError("SnapshotEvery", r.SnapshotEvery, "must not be negative")
	case r.SnapshotRetain < 0:
		return r, optionError("SnapshotRetain", r.SnapshotRetain, "must not be negative")
	case r.ContainerMaxNeverUsed < 0:
		return r, optionError("ContainerMaxNeverUsed", r.ContainerMaxNeverUsed, "must not be negative")
	}
	return r, nil
}

// OptionError reports an invalid Options field.
type OptionError struct {
	Field  string
	Value  any
	Reason string
}

// Error implements error: "zkembed: Options.Field = value: reason".
func (e *OptionError) Error() string {
	return fmt.Sprintf("zkembed: Options.%s = %v: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrBadArguments.
func (e *OptionError) Unwrap() error { return ErrBadArguments }

func optionError(field string, value any, reason string) error {
	return &OptionError{Field: field, Value: value, Reason: reason}
}
