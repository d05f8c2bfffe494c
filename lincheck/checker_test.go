package lincheck_test

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/zkembed/zkembed/lincheck"
	"github.com/zkembed/zkembed/znode"
)

func stat(czxid, mzxid znode.Zxid, version int32, data string) znode.Stat {
	return znode.Stat{Czxid: czxid, Mzxid: mzxid, Pzxid: czxid, Version: version, DataLength: int32(len(data))}
}

func create(call, ret int64, path, data string, z znode.Zxid) lincheck.Operation {
	return lincheck.Operation{Op: lincheck.Op{Kind: lincheck.KindCreate, Path: path, Data: data}, Call: call, Return: ret,
		Result: lincheck.Result{Stat: stat(z, z, 0, data)}}
}

func set(call, ret int64, path, data string, czxid, z znode.Zxid, version int32) lincheck.Operation {
	return lincheck.Operation{Op: lincheck.Op{Kind: lincheck.KindSetData, Path: path, Data: data, Version: -1}, Call: call, Return: ret,
		Result: lincheck.Result{Stat: stat(czxid, z, version, data)}}
}

func get(call, ret int64, path, data string, czxid, mzxid znode.Zxid, version int32) lincheck.Operation {
	return lincheck.Operation{Op: lincheck.Op{Kind: lincheck.KindGetData, Path: path}, Call: call, Return: ret,
		Result: lincheck.Result{Data: data, Stat: stat(czxid, mzxid, version, data)}}
}

func del(call, ret int64, path string) lincheck.Operation {
	return lincheck.Operation{Op: lincheck.Op{Kind: lincheck.KindDelete, Path: path, Version: -1}, Call: call, Return: ret}
}

func getNone(call, ret int64, path string) lincheck.Operation {
	return lincheck.Operation{Op: lincheck.Op{Kind: lincheck.KindGetData, Path: path}, Call: call, Return: ret,
		Result: lincheck.Result{Code: znode.CodeNoNode}}
}

func unknown(o lincheck.Operation) lincheck.Operation {
	o.Result = lincheck.Result{Unknown: true}
	o.Return = math.MaxInt64
	return o
}

// Small histories, each checked by both checkers.
func TestCheckers(t *testing.T) {
	tests := []struct {
		name string
		ops  []lincheck.Operation
		ok   bool
		rule string // the zxid checker's rule when not ok
		// porcupineOK: porcupine's model has no zxids, so it accepts a
		// history whose only fault is in them.
		porcupineOK bool
	}{
		{name: "sequential", ok: true, ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), set(3, 4, "/a", "y", 10, 11, 1), get(5, 6, "/a", "y", 10, 11, 1),
		}},
		{name: "concurrent read sees old value", ok: true, ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), set(3, 6, "/a", "y", 10, 11, 1), get(4, 5, "/a", "x", 10, 10, 0),
		}},
		{name: "stale read", rule: "stale read", ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), set(3, 4, "/a", "y", 10, 11, 1), get(5, 6, "/a", "x", 10, 10, 0),
		}},
		{name: "stale read of another path's order", rule: "stale read", ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), set(3, 4, "/a", "y", 10, 12, 1), create(5, 6, "/b", "z", 13),
			get(7, 8, "/a", "x", 10, 10, 0),
		}},
		{name: "zxid goes backwards", rule: "real-time order", porcupineOK: true, ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 11), create(3, 4, "/b", "y", 10),
		}},
		{name: "read after delete", rule: "stale read", ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), del(3, 4, "/a"), get(5, 6, "/a", "x", 10, 10, 0),
		}},
		{name: "absent after create", rule: "stale or early read", ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), getNone(3, 4, "/a"),
		}},
		{name: "absent after delete", ok: true, ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), del(3, 4, "/a"), getNone(5, 6, "/a"), create(7, 8, "/a", "y", 12),
			get(9, 10, "/a", "y", 12, 12, 0),
		}},
		{name: "unknown write seen", ok: true, ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), unknown(set(3, 4, "/a", "y", 10, 11, 1)), get(5, 6, "/a", "y", 10, 11, 1),
		}},
		{name: "unknown write not seen", ok: true, ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), unknown(set(3, 4, "/a", "y", 10, 11, 1)), get(5, 6, "/a", "x", 10, 10, 0),
		}},
		{name: "lost write", rule: "replay", ops: []lincheck.Operation{
			create(1, 2, "/a", "x", 10), set(3, 4, "/a", "y", 10, 11, 1), get(5, 6, "/a", "x", 10, 10, 1),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.ops {
				tt.ops[i].Client = i
			}
			z := lincheck.CheckZxidOrder(tt.ops)
			if tt.ok != z.Ok() {
				t.Errorf("zxid order: ok=%v, want %v: %v", z.Ok(), tt.ok, z.Violation)
			} else if !tt.ok && z.Violation.Rule != tt.rule {
				t.Errorf("zxid order: rule %q, want %q: %v", z.Violation.Rule, tt.rule, z.Violation)
			}
			p, err := lincheck.CheckPorcupine(tt.ops, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]porcupine.CheckResult{true: porcupine.Ok, false: porcupine.Illegal}[tt.ok || tt.porcupineOK]; p.Result != want {
				t.Errorf("porcupine: %s, want %s", p.Result, want)
			}
		})
	}
}
