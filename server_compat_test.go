package zkembed_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/zkembed/zkembed/wire"
)

// TestWireCompat pins, without a ZooKeeper to compare with, the wire
// behaviour that TestWireConformance found zkembed's server to differ in
// from ZooKeeper 3.8.0: each line below is what ZooKeeper sends.
func TestWireCompat(t *testing.T) {
	r := newWCRun(t, "zkembed", wcStartEmbed(t), "/c")
	a := r.dial("A")
	a.hello("new, no readOnly byte", wcHello{timeout: 10000})
	b := r.dial("B")
	b.hello("new, readOnly byte and 2 more", wcHello{timeout: 10000, readOnly: true, extra: []byte{7, 7}})
	a.mk("")
	a.mk("/p")
	a.watchMode(wire.OpAddWatch, "/p", 0)
	a.watchMode(wire.OpAddWatch, "/p", 2)
	b.set("/p", "1")
	b.set("/p", "2")
	a.ping(-2)
	a.multi(wire.OpMulti, "multi [createContainer /k]", r.mCreate(wire.OpCreateContainer, "/k", 4))
	a.multi(wire.OpMulti, "multi [getData /p]", r.mRead(wire.OpGetData, "/p"))
	a.sendRaw(a.next(), wire.OpMulti, "multi [exists /p]", func(e *wire.Encoder) {
		e.MultiHeader(wire.OpExists, false, -1)
		e.String(r.P("/p"))
		e.Bool(false)
		e.MultiEnd()
	})
	a.sendRaw(a.next(), wire.OpGetData, "getData + 1 byte", func(e *wire.Encoder) {
		e.String(r.P("/p"))
		e.Bool(false)
		e.B = append(e.B, 9)
	})
	a.sendRaw(a.next(), wire.OpReconfig, "reconfig", func(e *wire.Encoder) {
		e.String("")
		e.String("")
		e.String("")
		e.Long(-1)
	})
	a.sendRaw(a.next(), wire.OpDeleteContainer, "deleteContainer", func(e *wire.Encoder) { e.B = append(e.B, r.P("/k")...) })
	a.setWatches(wire.XidSetWatches, wire.OpSetWatches, 0, []string{"/gone"}, nil, []string{}, nil, nil)
	a.ping(-2)
	_ = a.nc.Close()
	a2 := r.dial("A2")
	a2.hello("A's session, timeout 6000", wcHello{timeout: 6000, sid: a.sid, pw: a.pw})
	for _, want := range []string{
		"A: connect new, no readOnly byte -> 36-byte ConnectResponse proto=0 timeout=10000 session=s1 passwd=16 bytes readOnly=absent",
		"B: connect new, readOnly byte and 2 more -> 37-byte ConnectResponse proto=0 timeout=10000 session=s2 passwd=16 bytes readOnly=false",
		"A: addWatch $P/p 2 -> xid=4 zxid=cur -5 marshalling error",
		"A:   event NodeDataChanged state=3 path=$P/p",
		"A: multi [createContainer /k] -> xid=5 zxid=Z5 ok results: [0] type=15 err=0 path=$P/k " +
			"{cz=Z5 mz=Z5 pz=Z5 ctime=set mtime=set v=0 cv=0 av=0 owner=0 len=1 nc=0}; end(-1,true,-1)",
		"A: multi [getData /p] -> xid=6 zxid=cur -5 marshalling error",
		"A: multi [exists /p] -> xid=7 zxid=cur -5 marshalling error",
		"A: getData + 1 byte -> xid=8 zxid=cur ok data=\"2\" {cz=Z2 mz=Z4 pz=Z2 ctime=set mtime=set v=2 cv=0 av=0 owner=0 len=1 nc=0}",
		"A: reconfig -> xid=9 zxid=cur -123 reconfig is disabled",
		"A: deleteContainer -> xid=10 zxid=cur -8 bad arguments",
		"A:   event NodeDeleted state=3 path=$P/gone",
		"A: setWatches(op 101) xid=-8 rel=0 data=[$P/gone] exist=[] child=[] -> xid=-8 zxid=cur -5 marshalling error",
		"A: ping xid=-2 -> xid=-2 zxid=cur ok",
		"A2: connect A's session, timeout 6000 -> 36-byte ConnectResponse proto=0 timeout=6000 session=s1 passwd=16 bytes readOnly=absent",
	} {
		if !slices.Contains(r.lines, want) {
			t.Errorf("missing: %s", want)
		}
	}
	if n := strings.Count(strings.Join(r.lines, "\n"), "event NodeDataChanged state=3 path=$P/p"); n != 2 {
		t.Errorf("a persistent watch fired %d times for two changes", n)
	}
	if t.Failed() {
		t.Logf("transcript:\n%s", strings.Join(r.lines, "\n"))
	}
}
