package lincheck

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/zkembed/zkembed/znode"
)

// Violation is a breach of linearizability found by CheckZxidOrder: the
// rule broken, the operations that show it (B may be nil) and why.
type Violation struct {
	Rule   string
	A, B   *Operation
	Detail string
}

func (v *Violation) String() string {
	s := v.Rule + ": " + v.Detail + "\n  A: " + v.A.String()
	if v.B != nil {
		s += "\n  B: " + v.B.String()
	}
	return s
}

// ZxidResult is the outcome of CheckZxidOrder.
type ZxidResult struct {
	Violation *Violation // nil: no violation found
	// Ops is the number of operations with a known outcome; Reads the
	// number of reads replayed; SkippedPaths the paths not replayed because
	// a write on them has an unknown outcome or no zxid.
	Ops, Reads, SkippedPaths int
	Duration                 time.Duration
}

// Ok reports whether no violation was found.
func (r ZxidResult) Ok() bool { return r.Violation == nil }

const never = znode.Zxid(math.MaxInt64)

// opInfo is what the zxid checker derives from one operation.
type opInfo struct {
	zxid  znode.Zxid // of a successful write, when its results show it; else 0
	floor znode.Zxid // a zxid the op made or saw: its state is at least this new
	lo    znode.Zxid // the largest floor of the ops that returned before it was invoked
	loBy  int        // which op that floor is from, -1 if none
	hi    znode.Zxid // the smallest zxid of the writes invoked after it returned
}

// CheckZxidOrder checks a history with the zxids its results carry; see
// the package documentation for what exactly it checks. It runs in
// O(n log n) and reports the first violation it finds.
func CheckZxidOrder(ops []Operation) ZxidResult {
	start := time.Now()
	c := zchecker{ops: ops, info: make([]opInfo, len(ops))}
	v := c.derive()
	if v == nil {
		v = c.realTime()
	}
	if v == nil {
		v = c.replay()
	}
	res := ZxidResult{Violation: v, Reads: c.reads, SkippedPaths: c.skipped, Duration: time.Since(start)}
	for _, o := range ops {
		if !o.Result.Unknown {
			res.Ops++
		}
	}
	return res
}

type zchecker struct {
	ops            []Operation
	info           []opInfo
	reads, skipped int
}

func (c *zchecker) violation(rule string, a, b int, format string, args ...any) *Violation {
	v := &Violation{Rule: rule, A: &c.ops[a], Detail: fmt.Sprintf(format, args...)}
	if b >= 0 {
		v.B = &c.ops[b]
	}
	return v
}

// derive finds each op's zxid and floor and checks that a multi's results
// agree on its zxid and that no two writes share one.
func (c *zchecker) derive() *Violation {
	byZxid := map[znode.Zxid]int{}
	for i := range c.ops {
		o := &c.ops[i]
		r := o.Result
		inf := &c.info[i]
		inf.loBy = -1
		inf.hi = never
		if r.Unknown || r.Code != znode.CodeOK {
			continue
		}
		switch o.Op.Kind {
		case KindCreate:
			if r.Stat.Czxid != r.Stat.Mzxid {
				return c.violation("create stat", i, -1, "czxid %#x != mzxid %#x", int64(r.Stat.Czxid), int64(r.Stat.Mzxid))
			}
			inf.zxid = r.Stat.Czxid
		case KindSetData:
			inf.zxid = r.Stat.Mzxid
		case KindMulti:
			for k, s := range o.Op.Sub {
				var z znode.Zxid
				if k < len(r.Sub) {
					switch s.Kind {
					case KindCreate:
						z = r.Sub[k].Stat.Czxid
					case KindSetData:
						z = r.Sub[k].Stat.Mzxid
					}
				}
				if z == 0 {
					continue
				}
				if inf.zxid != 0 && z != inf.zxid {
					return c.violation("multi atomicity", i, -1, "sub-ops report zxids %#x and %#x", int64(inf.zxid), int64(z))
				}
				inf.zxid = z
			}
		case KindGetData, KindExists, KindGetChildren:
			inf.floor = max(r.Stat.Czxid, r.Stat.Mzxid, r.Stat.Pzxid)
		}
		if inf.zxid != 0 {
			inf.floor = inf.zxid
			if j, dup := byZxid[inf.zxid]; dup {
				return c.violation("unique zxid", j, i, "two writes report zxid %#x", int64(inf.zxid))
			}
			byZxid[inf.zxid] = i
		}
	}
	return nil
}

type event struct {
	t   int64
	ret bool
	i   int
}

// realTime sweeps the history in real time. Forward, it gives each op the
// largest floor lo of the ops that returned before it was invoked and
// checks that a write's zxid is above it; backward, it gives each op the
// smallest zxid hi of the writes invoked after it returned. Intervals are
// closed: ops with equal timestamps are concurrent.
func (c *zchecker) realTime() *Violation {
	evs := make([]event, 0, 2*len(c.ops))
	for i, o := range c.ops {
		if o.Result.Unknown {
			continue
		}
		evs = append(evs, event{o.Call, false, i}, event{o.Return, true, i})
	}
	slices.SortFunc(evs, func(a, b event) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return cmpBool(a.ret, b.ret) // invocations first
	})
	var maxFloor znode.Zxid
	maxBy := -1
	for _, e := range evs {
		inf := &c.info[e.i]
		if !e.ret {
			inf.lo, inf.loBy = maxFloor, maxBy
			if inf.zxid != 0 && inf.zxid <= maxFloor {
				return c.violation("real-time order", maxBy, e.i,
					"B was invoked after A returned, yet B's zxid %#x is not above the zxid %#x that A made or saw", int64(inf.zxid), int64(maxFloor))
			}
			continue
		}
		if inf.floor > maxFloor {
			maxFloor, maxBy = inf.floor, e.i
		}
	}
	minZxid := never
	for k := len(evs) - 1; k >= 0; k-- {
		// Descending time; at equal times returns (sorted last) come first.
		e := evs[k]
		inf := &c.info[e.i]
		if e.ret {
			inf.hi = minZxid
		} else if inf.zxid != 0 {
			minZxid = min(minZxid, inf.zxid)
		}
	}
	return nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// pathWrite is a successful create or setData of one path (a multi's
// sub-op included), placed by its zxid.
type pathWrite struct {
	zxid znode.Zxid
	sub  int // index in the multi, 0 otherwise
	i    int // the op
	op   Op  // the create or setData
	stat znode.Stat
}

// incarnation is one life of a path: from a create to the next delete.
type incarnation struct {
	czxid  znode.Zxid
	create int         // op index
	states []pathWrite // the create, then each setData
	last   znode.Zxid  // the zxid of its last known write
}

type pathHistory struct {
	writes  []pathWrite
	deletes []int // successful deletes (ops), in no order
	reads   []int
	skip    bool
}

// replay checks every path's reads against its writes in zxid order.
func (c *zchecker) replay() *Violation {
	paths := map[string]*pathHistory{}
	get := func(p string) *pathHistory {
		h := paths[p]
		if h == nil {
			h = &pathHistory{}
			paths[p] = h
		}
		return h
	}
	for i, o := range c.ops {
		r := o.Result
		if r.Unknown {
			if o.Op.Kind.isWrite() {
				for _, p := range o.Op.paths() {
					get(p).skip = true
				}
			}
			continue
		}
		switch o.Op.Kind {
		case KindGetData, KindExists, KindGetChildren:
			get(o.Op.Path).reads = append(get(o.Op.Path).reads, i)
			continue
		}
		if r.Code != znode.CodeOK {
			continue
		}
		subs, stats := []Op{o.Op}, []znode.Stat{r.Stat}
		if o.Op.Kind == KindMulti {
			subs, stats = o.Op.Sub, make([]znode.Stat, len(o.Op.Sub))
			for k := range stats {
				if k < len(r.Sub) {
					stats[k] = r.Sub[k].Stat
				}
			}
		}
		for k, s := range subs {
			h := get(s.Path)
			switch s.Kind {
			case KindDelete:
				h.deletes = append(h.deletes, i)
			case KindCreate, KindSetData:
				if c.info[i].zxid == 0 {
					h.skip = true
				}
				h.writes = append(h.writes, pathWrite{zxid: c.info[i].zxid, sub: k, i: i, op: s, stat: stats[k]})
			}
		}
	}
	names := make([]string, 0, len(paths))
	for p := range paths {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		h := paths[p]
		if h.skip {
			c.skipped++
			continue
		}
		if len(h.writes) == 0 && len(h.deletes) == 0 {
			continue // a path the history never wrote is outside the model
		}
		if v := c.replayPath(p, h); v != nil {
			return v
		}
	}
	return nil
}

func (c *zchecker) replayPath(path string, h *pathHistory) *Violation {
	slices.SortFunc(h.writes, func(a, b pathWrite) int {
		return cmp.Or(cmp.Compare(a.zxid, b.zxid), cmp.Compare(a.sub, b.sub))
	})
	var incs []incarnation
	for _, w := range h.writes {
		if w.op.Kind == KindCreate {
			if w.stat.Version != 0 || (w.stat.Czxid != 0 && w.stat.Czxid != w.zxid) {
				return c.violation("replay", w.i, -1, "create of %s returned %+v", path, w.stat)
			}
			incs = append(incs, incarnation{czxid: w.zxid, create: w.i, states: []pathWrite{w}, last: w.zxid})
			continue
		}
		if len(incs) == 0 {
			return c.violation("replay", w.i, -1, "setData of %s succeeded before any create of it", path)
		}
		inc := &incs[len(incs)-1]
		prev := inc.states[len(inc.states)-1]
		prevVersion := int32(len(inc.states) - 1)
		if w.op.Version != -1 && w.op.Version != prevVersion {
			return c.violation("replay", w.i, prev.i, "setData of %s expecting version %d succeeded, but the version was %d (after B)", path, w.op.Version, prevVersion)
		}
		if w.stat.Version != prevVersion+1 || w.stat.Czxid != inc.czxid {
			return c.violation("replay", w.i, prev.i, "setData of %s returned version %d czxid %#x; replay gives version %d czxid %#x (after B)",
				path, w.stat.Version, int64(w.stat.Czxid), prevVersion+1, int64(inc.czxid))
		}
		inc.states = append(inc.states, w)
		inc.last = w.zxid
	}
	// Deletes carry no zxid: each successful delete ends one incarnation,
	// in order, so they are placed by counting.
	n, d := len(incs), len(h.deletes)
	delCalls := make([]int64, d)
	delRets := make([]int64, d)
	for k, i := range h.deletes {
		delCalls[k], delRets[k] = c.ops[i].Call, c.ops[i].Return
	}
	slices.Sort(delCalls)
	slices.Sort(delRets)
	// mayPrecede counts the deletes invoked no later than t; mustPrecede
	// those that returned before t.
	mayPrecede := func(t int64) int { return sort.Search(d, func(k int) bool { return delCalls[k] > t }) }
	mustPrecede := func(t int64) int { return sort.Search(d, func(k int) bool { return delRets[k] >= t }) }
	if d > n {
		return c.violation("replay", h.deletes[0], -1, "%d deletes of %s succeeded, but only %d creates", d, path, n)
	}
	if d < n-1 {
		return c.violation("replay", incs[n-1].create, -1, "%d creates of %s succeeded, but only %d deletes between them", n, path, d)
	}
	for k, inc := range incs {
		o := &c.ops[inc.create]
		if got := mayPrecede(o.Return); got < k {
			return c.violation("replay", inc.create, -1, "create number %d of %s succeeded, but only %d deletes of it were invoked before it returned", k+1, path, got)
		}
		if got := mustPrecede(o.Call); got > k {
			return c.violation("replay", inc.create, -1, "create number %d of %s was invoked after %d deletes of it had returned", k+1, path, got)
		}
	}
	for _, i := range h.reads {
		if v := c.checkRead(path, i, incs, mustPrecede, mayPrecede, d); v != nil {
			return v
		}
		c.reads++
	}
	return nil
}

// checkRead checks that read i saw a state of path that held at some zxid
// Z with lo ≤ Z < hi, consistent with the deletes' real-time order.
func (c *zchecker) checkRead(path string, i int, incs []incarnation, mustPrecede, mayPrecede func(int64) int, d int) *Violation {
	o := &c.ops[i]
	r := o.Result
	inf := c.info[i]
	dRet, dInv := mustPrecede(o.Call), mayPrecede(o.Return)
	present := r.Code == znode.CodeOK && (o.Op.Kind != KindExists || r.Exists)
	if !present {
		if r.Code != znode.CodeOK && r.Code != znode.CodeNoNode {
			return nil // not a read of the state
		}
		for j := dRet; j <= min(dInv, d); j++ {
			lower, upper := znode.Zxid(0), never
			if j > 0 {
				lower = incs[j-1].last + 1
			}
			if j < len(incs) {
				upper = incs[j].czxid
			}
			if max(lower, inf.lo) < min(upper, inf.hi) {
				return nil
			}
		}
		return c.violation("stale or early read", i, inf.loBy,
			"A found no node %s, but no absent state of it fits the window [%#x, %#x) the read must see (B set its start) after %d to %d deletes",
			path, int64(inf.lo), int64(inf.hi), dRet, dInv)
	}
	k := slices.IndexFunc(incs, func(in incarnation) bool { return in.czxid == r.Stat.Czxid })
	if k < 0 {
		return c.violation("replay", i, -1, "read of %s saw czxid %#x, which no create of it made", path, int64(r.Stat.Czxid))
	}
	states := incs[k].states
	j := slices.IndexFunc(states, func(w pathWrite) bool { return w.zxid == r.Stat.Mzxid })
	if j < 0 {
		return c.violation("replay", i, -1, "read of %s saw mzxid %#x, which no write of it made", path, int64(r.Stat.Mzxid))
	}
	w := states[j]
	if r.Stat.Version != int32(j) || r.Stat.DataLength != int32(len(w.op.Data)) || (o.Op.Kind == KindGetData && r.Data != w.op.Data) {
		return c.violation("replay", i, w.i, "read of %s returned %s; the write B with its mzxid leaves %q at version %d", path, r, w.op.Data, j)
	}
	end := never
	if j+1 < len(states) {
		end = states[j+1].zxid
	} else if k+1 < len(incs) {
		end = incs[k+1].czxid
	}
	if dRet > k {
		return c.violation("stale read", i, -1, "%s saw the node's life number %d, but %d deletes of it had returned before the read was invoked", path, k+1, dRet)
	}
	if dInv < k {
		return c.violation("early read", i, -1, "%s saw the node's life number %d, but only %d deletes of it were invoked before the read returned", path, k+1, dInv)
	}
	if max(w.zxid, inf.lo) >= min(end, inf.hi) {
		if inf.lo >= end {
			return c.violation("stale read", i, inf.loBy,
				"A read %s in the state of zxid %#x, replaced at zxid %#x, but was invoked after B returned, which made or saw zxid %#x", path, int64(w.zxid), int64(end), int64(inf.lo))
		}
		return c.violation("early read", i, -1, "%s saw the state of zxid %#x, but a write invoked after the read returned has zxid %#x", path, int64(w.zxid), int64(inf.hi))
	}
	return nil
}
