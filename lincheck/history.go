package lincheck

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zkembed/zkembed/znode"
)

// Kind is the kind of a recorded operation or of a sub-op of a multi.
type Kind uint8

// The operations the model knows. KindCheck exists only inside a multi.
const (
	KindCreate Kind = iota + 1
	KindDelete
	KindSetData
	KindGetData
	KindExists
	KindGetChildren
	KindMulti
	KindCheck
)

var kindNames = [...]string{"?", "create", "delete", "setData", "getData", "exists", "getChildren", "multi", "check"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// isWrite reports whether a successful op of this kind changes the tree.
func (k Kind) isWrite() bool {
	return k == KindCreate || k == KindDelete || k == KindSetData || k == KindMulti
}

// Op is one operation as invoked: a persistent create with open ACL, a
// delete, a setData, a read, or a multi of Sub (creates, deletes, setDatas
// and checks). Data should be unique per write, so that a read identifies
// the write it saw.
type Op struct {
	Kind    Kind
	Path    string
	Data    string // create, setData
	Version int32  // delete, setData, check: the expected version, -1 for any
	Sub     []Op   // multi
}

func (o Op) String() string {
	switch o.Kind {
	case KindCreate:
		return fmt.Sprintf("create(%s,%q)", o.Path, o.Data)
	case KindSetData:
		return fmt.Sprintf("setData(%s,%q,v%d)", o.Path, o.Data, o.Version)
	case KindDelete, KindCheck:
		return fmt.Sprintf("%s(%s,v%d)", o.Kind, o.Path, o.Version)
	case KindMulti:
		parts := make([]string, len(o.Sub))
		for i, s := range o.Sub {
			parts[i] = s.String()
		}
		return "multi[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("%s(%s)", o.Kind, o.Path)
}

// paths returns every path the op names.
func (o Op) paths() []string {
	if o.Kind != KindMulti {
		return []string{o.Path}
	}
	ps := make([]string, len(o.Sub))
	for i, s := range o.Sub {
		ps[i] = s.Path
	}
	return ps
}

// Result is an operation's outcome. Unknown means the client cannot tell
// whether the operation took effect (a deadline, a lost connection): the
// checkers then treat a write as possibly applied, at any time after its
// invocation, and ignore a read.
type Result struct {
	Unknown  bool
	Code     znode.Code // CodeOK on success; for a failed multi the failing sub-op's code
	Data     string     // getData
	Exists   bool       // exists
	Stat     znode.Stat // create, setData, getData, getChildren, exists (when Exists)
	Children []string   // getChildren, sorted
	Sub      []SubResult
}

// SubResult is the outcome of one sub-op of a multi: its code (the
// failing op has its error, the ops after it CodeRuntimeInconsistency)
// and, for a successful create or setData, the node's Stat.
type SubResult struct {
	Code znode.Code
	Stat znode.Stat
}

func (r Result) String() string {
	if r.Unknown {
		return "unknown"
	}
	if r.Code != znode.CodeOK {
		return r.Code.Error()
	}
	st := fmt.Sprintf("czxid=%#x mzxid=%#x pzxid=%#x v%d", int64(r.Stat.Czxid), int64(r.Stat.Mzxid), int64(r.Stat.Pzxid), r.Stat.Version)
	switch {
	case r.Sub != nil:
		parts := make([]string, len(r.Sub))
		for i, s := range r.Sub {
			parts[i] = fmt.Sprintf("%s(mzxid=%#x v%d)", s.Code.Error(), int64(s.Stat.Mzxid), s.Stat.Version)
		}
		return "ok[" + strings.Join(parts, " ") + "]"
	case r.Children != nil:
		return fmt.Sprintf("ok %v %s", r.Children, st)
	case r.Data != "":
		return fmt.Sprintf("ok %q %s", r.Data, st)
	}
	if r.Stat == (znode.Stat{}) {
		return fmt.Sprintf("ok exists=%v", r.Exists)
	}
	return "ok " + st
}

// Operation is one recorded operation: who invoked it, what, when, and
// what came back. Call and Return are ticks of the History's clock;
// an operation that never returned has Return = math.MaxInt64 and an
// Unknown result.
type Operation struct {
	Client int
	Op     Op
	Result Result
	Call   int64
	Return int64
}

func (o *Operation) String() string {
	ret := "∞"
	if o.Return != math.MaxInt64 {
		ret = fmt.Sprint(o.Return)
	}
	return fmt.Sprintf("client %d [%d,%s] %s -> %s", o.Client, o.Call, ret, o.Op, o.Result)
}

// History records operations of concurrent clients. Its clock is a
// shared counter: every Begin and End takes the next tick, so if one
// operation's End happened before another's Begin (in Go's
// happens-before sense, which a real-time order implies), its Return is
// smaller than the other's Call. A History is safe for concurrent use.
type History struct {
	clock atomic.Int64
	mu    struct {
		sync.Mutex
		ops  []Operation
		done []bool
	}
}

// Call is an operation begun and not yet ended; pass it to End.
type Call struct {
	h  *History
	id int
}

// Begin records the invocation of op by client and returns the handle to
// End it with.
func (h *History) Begin(client int, op Op) Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	// The tick is taken under the lock only for a stable id; its order
	// against other clients' ticks is what matters, and the counter gives
	// that.
	id := len(h.mu.ops)
	h.mu.ops = append(h.mu.ops, Operation{Client: client, Op: op, Call: h.clock.Add(1), Return: math.MaxInt64, Result: Result{Unknown: true}})
	h.mu.done = append(h.mu.done, false)
	return Call{h: h, id: id}
}

// End records the result of c. An Unknown result keeps Return at
// infinity: the operation may take effect at any later time.
func (c Call) End(r Result) {
	t := c.h.clock.Add(1)
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if c.h.mu.done[c.id] {
		panic("lincheck: Call ended twice")
	}
	c.h.mu.done[c.id] = true
	o := &c.h.mu.ops[c.id]
	o.Result = r
	if !r.Unknown {
		o.Return = t
	}
}

// Do records client's op around f, which performs it.
func (h *History) Do(client int, op Op, f func() Result) Result {
	c := h.Begin(client, op)
	r := f()
	c.End(r)
	return r
}

// Operations returns a copy of the operations recorded so far, in order
// of invocation. Operations not yet ended are Unknown.
func (h *History) Operations() []Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	ops := slices.Clone(h.mu.ops)
	return ops
}
