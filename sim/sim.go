package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/internal/walzeros"
	"github.com/zkembed/zkembed/znode"
)

// Config describes one simulated run. The zero value of a field means
// its default.
type Config struct {
	// Seed decides everything: the operations, the engine's session ids,
	// the crash points and what a crash keeps of unsynced data.
	Seed uint64
	// Steps is the number of steps (default 500).
	Steps int
	// MaxSessions bounds the sessions open at once (default 4).
	MaxSessions int
	// NoCrashes leaves out crash-and-restart steps.
	NoCrashes bool
	// NoFaults leaves out disk-fault steps.
	NoFaults bool
}

func (c Config) withDefaults() Config {
	if c.Steps == 0 {
		c.Steps = 500
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 4
	}
	return c
}

// Result is what a run did and found.
type Result struct {
	Seed uint64
	// Counts of what ran.
	Steps, Writes, Multis, Reads, Watches, Events, Sessions, Closes, Expiries, ClockJumps, Crashes, Faults, Reaped int
	// ZeroTails is set when the run's WAL files kept a zero tail, as WALs
	// preallocated at their full size on Linux do (even seeds; see
	// package walzeros); ZeroTailReopens counts the crashes after which
	// replay stopped before such zeros.
	ZeroTails       bool
	ZeroTailReopens int
	// Violation is the first invariant that did not hold ("" if none);
	// the run stops there.
	Violation string
	// History is the canonical history: one line per step (what ran, the
	// outcome, the zxid after it), then the engine's final dump. The same
	// Config gives the same bytes.
	History []byte
	// Hash is the SHA-256 of History.
	Hash [32]byte
}

// ReplayCommand is the command that runs this seed again, alone.
func (r *Result) ReplayCommand(steps int) string {
	return fmt.Sprintf("go test ./sim -run 'TestSimulation$' -sim.seed=%d -sim.steps=%d -v", r.Seed, steps)
}

// String is the one-line summary of the run.
func (r *Result) String() string {
	v := "ok"
	if r.Violation != "" {
		v = "VIOLATION: " + r.Violation
	}
	return fmt.Sprintf("seed=%d steps=%d writes=%d multis=%d reads=%d watches=%d events=%d sessions=%d closes=%d expiries=%d clock-jumps=%d reaped=%d crashes=%d faults=%d history=%x %s",
		r.Seed, r.Steps, r.Writes, r.Multis, r.Reads, r.Watches, r.Events, r.Sessions, r.Closes, r.Expiries, r.ClockJumps, r.Reaped, r.Crashes, r.Faults, r.Hash[:6], v)
}

// errViolation marks an invariant that did not hold.
var errViolation = errors.New("violation")

// run is one simulation's state.
type run struct {
	cfg   Config
	rng   *rand.Rand
	clk   *clock.Virtual
	mem   *vfs.MemFS // the disk; the engine sees it through fault (fs)
	fault faultInjector
	opts  zkembed.Options
	db    *zkembed.DB
	m     *Model
	live  []*zkembed.Session
	// watches holds each live session's watches that have not ended;
	// streams its notification stream (Session.Events).
	watches map[int64][]pending
	streams map[int64]<-chan zkembed.Event
	res     *Result
	hist    bytes.Buffer
	step    int
	where   string
}

const dataDir = "/zk"

// Run simulates cfg: a seeded mix of writes of every kind, multis, reads,
// session opens, closes and expiries, clock jumps, and crashes that
// restart the engine on what pebble's crash-simulating filesystem keeps,
// all on a virtual clock in one goroutine. After every step it checks the
// engine against the reference model (results, error codes, paths, Stat
// fields, data, zxids: the last zxid must be the model's, so zxids are
// contiguous and strictly increasing across restarts), and after every
// crash and at the end the whole tree and the engine's own Check. An error
// is returned only if the simulation itself could not run.
func Run(cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	r := &run{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		clk:     clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		mem:     vfs.NewCrashableMem(),
		m:       NewModel(),
		res:     &Result{Seed: cfg.Seed, ZeroTails: cfg.Seed%2 == 0},
		watches: map[int64][]pending{},
		streams: map[int64]<-chan zkembed.Event{},
	}
	r.opts = zkembed.Options{
		FS: r.fs(), Clock: r.clk, Seed: cfg.Seed, ExtendedTypes: true,
		// Reaping passes are steps of their own (DB.ReapNow), never
		// the engine's timer.
		ContainerCheckInterval: 1000 * time.Hour,
	}
	db, err := zkembed.Open(dataDir, &r.opts)
	if err != nil {
		return nil, err
	}
	r.db = db
	defer func() { r.db.Close() }()
	err = r.simulate()
	if errors.Is(err, errViolation) {
		r.res.Violation = strings.TrimPrefix(err.Error(), errViolation.Error()+": ")
		err = nil
	}
	if err != nil {
		return nil, err
	}
	r.res.History = r.hist.Bytes()
	r.res.Hash = sha256.Sum256(r.res.History)
	return r.res, nil
}

func (r *run) violation(format string, args ...any) error {
	return fmt.Errorf("%w: step %d (%s): %s", errViolation, r.step, r.where, fmt.Sprintf(format, args...))
}

func (r *run) log(format string, args ...any) {
	fmt.Fprintf(&r.hist, "%d ", r.step)
	fmt.Fprintf(&r.hist, format, args...)
	fmt.Fprintf(&r.hist, " zxid=%#x\n", uint64(r.m.Zxid))
}

func (r *run) simulate() error {
	ctx := context.Background()
	if err := r.openSession(ctx); err != nil {
		return err
	}
	for r.step = 0; r.step < r.cfg.Steps; r.step++ {
		r.res.Steps++
		if len(r.live) == 0 {
			if err := r.openSession(ctx); err != nil {
				return err
			}
			continue
		}
		si := r.rng.IntN(len(r.live))
		s := r.live[si]
		var err error
		switch x := r.rng.IntN(100); {
		case x < 40:
			err = r.write(ctx, si, s)
		case x < 53:
			err = r.multi(ctx, si, s)
		case x < 68:
			err = r.read(ctx, si, s, opPaths[r.rng.IntN(len(opPaths))])
		case x < 80:
			err = r.setWatch(ctx, si, s)
		case x < 85:
			if len(r.live) < r.cfg.MaxSessions {
				err = r.openSession(ctx)
			}
		case x < 89:
			err = r.endSession(ctx, si, s, false)
		case x < 92:
			err = r.endSession(ctx, si, s, true)
		case x < 95:
			d := time.Duration(r.rng.IntN(10_000)) * time.Millisecond
			r.clk.Advance(d)
			r.res.ClockJumps++
			r.where = "clock"
			r.log("clock +%v", d)
		case x < 97:
			err = r.reap(ctx)
		case x < 98:
			if !r.cfg.NoFaults {
				err = r.diskFault(ctx, si, s)
			}
		default:
			if !r.cfg.NoCrashes {
				err = r.crash(ctx)
			}
		}
		if err != nil {
			return err
		}
		if got := r.db.LastZxid(); got != r.m.Zxid {
			return r.violation("engine's last zxid %#x, model's %#x", uint64(got), uint64(r.m.Zxid))
		}
	}
	r.where = "end"
	if err := r.compareTree(ctx); err != nil {
		return err
	}
	return r.db.Dump(&r.hist)
}

func (r *run) openSession(ctx context.Context) error {
	s, err := r.db.NewSession(ctx, &zkembed.SessionOptions{Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	r.m.Zxid++ // createSession is a transaction
	r.live = append(r.live, s)
	r.streams[s.ID()] = s.Events()
	r.res.Sessions++
	r.where = "open session"
	r.log("open session %#x", s.ID())
	return nil
}

func (r *run) endSession(ctx context.Context, si int, s *zkembed.Session, expire bool) error {
	var err error
	if expire {
		r.where = "expire session"
		err = r.db.ExpireSession(ctx, s.ID())
		r.res.Expiries++
	} else {
		r.where = "close session"
		err = s.Close(ctx)
		r.res.Closes++
	}
	if err != nil {
		return r.violation("%v", err)
	}
	gone := r.m.CloseSession(s.ID())
	r.live = slices.Delete(r.live, si, si+1)
	r.log("%s %#x", r.where, s.ID())
	state := znode.StateClosed
	if expire {
		state = znode.StateExpired
	}
	var cs []change
	for _, p := range gone {
		cs = append(cs, deleted(p)...)
	}
	if err := r.ended(s, cs, state); err != nil {
		return err
	}
	return r.deliver(ctx, cs)
}

func (r *run) write(ctx context.Context, si int, s *zkembed.Session) error {
	op := RandomOp(r.rng, r.m)
	r.where = op.String()
	r.res.Writes++
	gotPath, err := op.Write(ctx, s)
	wantPath, code := r.m.Apply(op, r.m.Zxid+1, r.clk.Now().UnixMilli(), s.ID())
	if got := znode.CodeOf(err); got != code {
		return r.violation("engine: %v (%d), model: %d", err, got, code)
	}
	var cs []change
	if code == znode.CodeOK {
		r.m.Zxid++
		if gotPath != wantPath {
			return r.violation("engine made %s, model %s", gotPath, wantPath)
		}
		cs = changes(op, wantPath)
	}
	r.log("s%d %s -> %s %d", si, op, gotPath, code)
	return r.deliver(ctx, cs)
}

func (r *run) multi(ctx context.Context, si int, s *zkembed.Session) error {
	var ops []Op
	var mops []zkembed.Op
	var desc []string
	for range 1 + r.rng.IntN(3) {
		op := RandomOp(r.rng, r.m)
		ops = append(ops, op)
		mops = append(mops, op.MultiOp())
		desc = append(desc, op.String())
	}
	r.where = "multi [" + strings.Join(desc, "; ") + "]"
	r.res.Multis++
	_, err := s.Multi(ctx, mops...)
	paths, code := r.m.ApplyMulti(ops, r.m.Zxid+1, r.clk.Now().UnixMilli(), s.ID())
	if got := znode.CodeOf(err); got != code {
		return r.violation("engine: %v (%d), model: %d", err, got, code)
	}
	r.log("s%d %s -> %d", si, r.where, code)
	var cs []change
	for i, op := range ops {
		if code == znode.CodeOK {
			cs = append(cs, changes(op, paths[i])...)
		}
	}
	return r.deliver(ctx, cs)
}

// read compares one node as the session reads it with the model.
func (r *run) read(ctx context.Context, si int, s *zkembed.Session, path string) error {
	r.where = "read " + path
	r.res.Reads++
	data, want, ok := r.m.Node(path)
	exists, st, err := s.Exists(ctx, path)
	if err != nil {
		return r.violation("exists: %v", err)
	}
	if exists != ok {
		return r.violation("exists says %v, model %v", exists, ok)
	}
	got, gst, err := s.GetData(ctx, path)
	if !ok {
		if !errors.Is(err, zkembed.ErrNoNode) {
			return r.violation("getData of a missing node: %v", err)
		}
		r.log("s%d read %s -> none", si, path)
		return nil
	}
	switch {
	case err != nil:
		return r.violation("getData: %v", err)
	case st != want || gst != want:
		return r.violation("stat %+v / %+v, model %+v", st, gst, want)
	case !bytes.Equal(got, data) || (got == nil) != (data == nil):
		return r.violation("data %q, model %q", got, data)
	}
	kids, _, err := s.GetChildren(ctx, path)
	if err != nil {
		return r.violation("getChildren: %v", err)
	}
	if len(kids) != int(want.NumChildren) {
		return r.violation("%d children, model %d", len(kids), want.NumChildren)
	}
	r.log("s%d read %s -> %q %+v", si, path, got, gst)
	return nil
}

// crash takes what pebble's crash-simulating filesystem would keep if the
// machine stopped now (a random share of unsynced data survives), drops
// the engine without closing it, and opens a new one on that copy. Every
// write so far was acknowledged, so every one must be there; the open
// closes the sessions of the previous process, each in a transaction.
func (r *run) crash(ctx context.Context) error {
	r.where = "crash"
	r.res.Crashes++
	keep := []int{0, 50, 100}[r.rng.IntN(3)]
	clone := r.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: keep, RNG: rand.New(rand.NewPCG(r.rng.Uint64(), 1))})
	_ = r.db.Close() // the clone is already taken: nothing it does reaches it
	r.mem = clone
	if err := r.reopen(); err != nil {
		return err
	}
	r.log("crash keeping %d%% of unsynced data, reopen", keep)
	return r.restarted(ctx)
}

// reopen opens a new engine on r.mem.
func (r *run) reopen() error {
	r.opts.FS = r.fs()
	db, err := zkembed.Open(dataDir, &r.opts)
	if err != nil {
		return r.violation("reopen: %v", err)
	}
	r.db = db
	if db.Recovery().WALTail.Zeros > 0 {
		r.res.ZeroTailReopens++
	}
	return nil
}

// fs is the disk as the engine sees it: r.mem through the fault injector,
// with zero tails on WAL files if the run has them.
func (r *run) fs() vfs.FS {
	var fs vfs.FS = errorfs.Wrap(r.mem, &r.fault)
	if r.res.ZeroTails {
		fs = walzeros.Wrap(fs)
	}
	return fs
}

// restarted checks an engine opened on the previous one's disk: the
// sessions of the previous process are closed, each in a transaction, and
// the tree is the model's.
func (r *run) restarted(ctx context.Context) error {
	ids := make([]int64, len(r.live))
	for i, s := range r.live {
		ids[i] = s.ID()
	}
	slices.Sort(ids)
	for _, id := range ids {
		r.m.CloseSession(id)
	}
	r.live = nil
	clear(r.watches) // the old engine's watches went with it
	clear(r.streams)
	if got := r.db.LastZxid(); got != r.m.Zxid {
		return r.violation("after the restart the last zxid is %#x, model's %#x", uint64(got), uint64(r.m.Zxid))
	}
	return r.compareTree(ctx)
}

// compareTree compares every node of the engine with the model, and runs
// the engine's own Check.
func (r *run) compareTree(ctx context.Context) error {
	if err := r.db.Check(); err != nil {
		return r.violation("engine check: %v", err)
	}
	s, err := r.db.NewSession(ctx, nil)
	if err != nil {
		return err
	}
	r.m.Zxid++
	defer func() {
		_ = s.Close(ctx)
		r.m.CloseSession(s.ID())
	}()
	var paths []string
	var walk func(p string) error
	walk = func(p string) error {
		paths = append(paths, p)
		kids, _, err := s.GetChildren(ctx, p)
		if err != nil {
			return r.violation("getChildren %s: %v", p, err)
		}
		for _, k := range kids {
			if err := walk(znode.Join(p, k)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("/"); err != nil {
		return err
	}
	slices.Sort(paths)
	if want := r.m.Paths(); !slices.Equal(paths, want) {
		return r.violation("the engine holds %v, the model %v", paths, want)
	}
	for _, p := range paths {
		if err := r.read(ctx, -1, s, p); err != nil {
			return err
		}
	}
	return nil
}

// reap runs a reaping pass, which deletes the containers and expired TTL
// nodes the model says, each in its own transaction.
func (r *run) reap(ctx context.Context) error {
	r.where = "reap"
	n, err := r.db.ReapNow()
	if err != nil {
		return r.violation("%v", err)
	}
	gone := r.m.Reap(r.clk.Now().UnixMilli())
	if n != len(gone) {
		return r.violation("the engine reaped %d nodes, the model %v", n, gone)
	}
	r.res.Reaped += n
	r.log("reap %v", gone)
	var cs []change
	for _, p := range gone {
		cs = append(cs, deleted(p)...)
	}
	return r.deliver(ctx, cs)
}
