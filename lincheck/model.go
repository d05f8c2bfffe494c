package lincheck

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/zkembed/zkembed/znode"
)

// node is a znode in the model: present in the state map means it exists.
type node struct {
	Data    string
	Version int32
}

// state is the model's tree restricted to one partition's paths. It is
// never mutated: a step that changes it returns a copy.
type state map[string]node

// input is what the porcupine model is given: the op, and for each path
// it names (the sub-ops of a multi) whether its parent is a path of the
// history. A parent outside the history is assumed to exist throughout.
type input struct {
	op            Op
	parentTracked []bool
}

// applyOne applies a create, delete, setData or check to s (which it may
// modify: callers pass a copy) and returns the result code and the new
// version of the node.
func applyOne(s state, o Op, parentTracked bool) (znode.Code, int32) {
	n, exists := s[o.Path]
	switch o.Kind {
	case KindCreate:
		parent, _ := znode.Split(o.Path)
		if _, ok := s[parent]; parentTracked && !ok {
			return znode.CodeNoNode, 0
		}
		if exists {
			return znode.CodeNodeExists, 0
		}
		s[o.Path] = node{Data: o.Data}
		return znode.CodeOK, 0
	case KindDelete:
		if !exists {
			return znode.CodeNoNode, 0
		}
		if o.Version != -1 && o.Version != n.Version {
			return znode.CodeBadVersion, 0
		}
		if len(children(s, o.Path)) > 0 {
			return znode.CodeNotEmpty, 0
		}
		delete(s, o.Path)
		return znode.CodeOK, 0
	case KindSetData:
		if !exists {
			return znode.CodeNoNode, 0
		}
		if o.Version != -1 && o.Version != n.Version {
			return znode.CodeBadVersion, 0
		}
		s[o.Path] = node{Data: o.Data, Version: n.Version + 1}
		return znode.CodeOK, n.Version + 1
	case KindCheck:
		if !exists {
			return znode.CodeNoNode, 0
		}
		if o.Version != -1 && o.Version != n.Version {
			return znode.CodeBadVersion, 0
		}
		return znode.CodeOK, n.Version
	}
	panic("lincheck: applyOne of " + o.Kind.String())
}

// children returns the sorted names of path's children in s.
func children(s state, path string) []string {
	var names []string
	for p := range s {
		if parent, name := znode.Split(p); parent == path && p != "/" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// step returns the states the model may be in after in produced out from
// s: none if out is impossible, two if out is unknown and the write could
// have been applied or not.
func step(s state, in input, out Result) []state {
	o := in.op
	if out.Unknown {
		if !o.Kind.isWrite() {
			return []state{s}
		}
		next := maps.Clone(s)
		if o.Kind == KindMulti {
			for i, sub := range o.Sub {
				if c, _ := applyOne(next, sub, in.parentTracked[i]); c != znode.CodeOK {
					return []state{s}
				}
			}
		} else if c, _ := applyOne(next, o, in.parentTracked[0]); c != znode.CodeOK {
			return []state{s}
		}
		return []state{s, next}
	}
	n, exists := s[o.Path]
	same := func(ok bool) []state {
		if ok {
			return []state{s}
		}
		return nil
	}
	switch o.Kind {
	case KindGetData:
		if !exists {
			return same(out.Code == znode.CodeNoNode)
		}
		return same(out.Code == znode.CodeOK && out.Data == n.Data && out.Stat.Version == n.Version)
	case KindExists:
		return same(out.Code == znode.CodeOK && out.Exists == exists && (!exists || out.Stat.Version == n.Version))
	case KindGetChildren:
		if !exists {
			return same(out.Code == znode.CodeNoNode)
		}
		return same(out.Code == znode.CodeOK && slices.Equal(out.Children, children(s, o.Path)) && out.Stat.Version == n.Version)
	case KindMulti:
		next := maps.Clone(s)
		for i, sub := range o.Sub {
			c, v := applyOne(next, sub, in.parentTracked[i])
			if c != znode.CodeOK {
				if out.Code != c || (out.Sub != nil && (len(out.Sub) != len(o.Sub) || out.Sub[i].Code != c)) {
					return nil
				}
				return []state{s}
			}
			if out.Code != znode.CodeOK || len(out.Sub) != len(o.Sub) || out.Sub[i].Code != znode.CodeOK {
				// A failing sub-op later on may explain the output; we
				// only know it cannot succeed here if out says so.
				if out.Code == znode.CodeOK {
					return nil
				}
				continue
			}
			if sub.Kind == KindSetData && out.Sub[i].Stat.Version != v {
				return nil
			}
		}
		if out.Code != znode.CodeOK {
			return nil
		}
		return []state{next}
	}
	next := maps.Clone(s)
	c, v := applyOne(next, o, in.parentTracked[0])
	if c != out.Code {
		return nil
	}
	if c != znode.CodeOK {
		return []state{s}
	}
	if o.Kind == KindSetData && out.Stat.Version != v {
		return nil
	}
	return []state{next}
}

// Model is the porcupine model of the znode tree that CheckPorcupine uses.
// Its partitions are the connected components of the history's paths,
// where an op joins the paths it names and a create or delete joins its
// path with its parent's when the parent is a path of the history.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: partition,
		Init:      func() []any { return []any{state{}} },
		Step: func(s, in, out any) []any {
			next := step(s.(state), in.(input), out.(Result))
			r := make([]any, len(next))
			for i, n := range next {
				r[i] = n
			}
			return r
		},
		Equal: func(a, b any) bool { return maps.Equal(a.(state), b.(state)) },
		Hash: func(s any) uint64 {
			var h uint64
			for p, n := range s.(state) {
				f := fnv.New64a()
				fmt.Fprintf(f, "%s\x00%s\x00%d", p, n.Data, n.Version)
				h ^= f.Sum64()
			}
			return h
		},
		DescribeOperation: func(in, out any) string {
			return fmt.Sprintf("%s -> %s", in.(input).op, out.(Result))
		},
		DescribeState: func(s any) string {
			st := s.(state)
			var parts []string
			for _, p := range slices.Sorted(maps.Keys(st)) {
				parts = append(parts, fmt.Sprintf("%s=%q v%d", p, st[p].Data, st[p].Version))
			}
			return "{" + strings.Join(parts, ", ") + "}"
		},
	}
	return nm.ToModel()
}

// partition splits a history into the connected components of its paths.
func partition(history []porcupine.Operation) [][]porcupine.Operation {
	parent := map[string]string{}
	var find func(string) string
	find = func(p string) string {
		q, ok := parent[p]
		if !ok {
			parent[p] = p
			return p
		}
		if q == p {
			return p
		}
		r := find(q)
		parent[p] = r
		return r
	}
	union := func(a, b string) { parent[find(a)] = find(b) }
	for _, h := range history {
		in := h.Input.(input)
		ps := in.op.paths()
		for i, p := range ps {
			union(p, ps[0])
			if in.parentTracked[i] && joinsParent(in.op, i) {
				dir, _ := znode.Split(p)
				union(p, dir)
			}
		}
	}
	byRoot := map[string][]porcupine.Operation{}
	var roots []string
	for _, h := range history {
		r := find(h.Input.(input).op.paths()[0])
		if _, ok := byRoot[r]; !ok {
			roots = append(roots, r)
		}
		byRoot[r] = append(byRoot[r], h)
	}
	out := make([][]porcupine.Operation, len(roots))
	for i, r := range roots {
		out[i] = byRoot[r]
	}
	return out
}

// joinsParent reports whether the i-th path of op depends on its parent.
func joinsParent(op Op, i int) bool {
	k := op.Kind
	if k == KindMulti {
		k = op.Sub[i].Kind
	}
	return k == KindCreate || k == KindDelete
}

// tracked returns the set of paths named by the history.
func tracked(ops []Operation) map[string]bool {
	t := map[string]bool{}
	for _, o := range ops {
		for _, p := range o.Op.paths() {
			t[p] = true
		}
	}
	return t
}

// PorcupineResult is the outcome of CheckPorcupine.
type PorcupineResult struct {
	Result     porcupine.CheckResult // Ok, Illegal or Unknown (timed out)
	Ops        int
	Partitions int
	Duration   time.Duration
	// Visualization is the HTML file written for an Illegal history when
	// one was asked for, else "".
	Visualization string
}

// CheckPorcupine checks ops for linearizability against the znode model
// with porcupine, giving up after timeout (0: no limit). When the history
// is Illegal and visualize is not "", it writes porcupine's visualization
// there.
func CheckPorcupine(ops []Operation, timeout time.Duration, visualize string) (PorcupineResult, error) {
	start := time.Now()
	t := tracked(ops)
	hist := make([]porcupine.Operation, len(ops))
	for i, o := range ops {
		in := input{op: o.Op}
		for _, p := range o.Op.paths() {
			dir, _ := znode.Split(p)
			in.parentTracked = append(in.parentTracked, t[dir])
		}
		ret := o.Return
		if o.Result.Unknown {
			ret = math.MaxInt64
		}
		hist[i] = porcupine.Operation{ClientId: o.Client, Input: in, Call: o.Call, Output: o.Result, Return: ret}
	}
	m := Model()
	res, info := porcupine.CheckOperationsVerbose(m, hist, timeout)
	r := PorcupineResult{Result: res, Ops: len(ops), Partitions: len(partition(hist)), Duration: time.Since(start)}
	if res == porcupine.Illegal && visualize != "" {
		if err := porcupine.VisualizePath(m, info, visualize); err != nil {
			return r, err
		}
		r.Visualization = visualize
	}
	return r, nil
}
