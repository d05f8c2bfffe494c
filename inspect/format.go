package inspect

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zkembed/zkembed/txn"
	"github.com/zkembed/zkembed/znode"
)

// DataLimit is how many bytes of a node's data the text dumps show; the
// rest is summarised by its length. JSON dumps show all of it.
const DataLimit = 64

// timeLayout is how the text dumps show times: UTC, to the millisecond.
const timeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime formats ms since the Unix epoch as the dumps do.
func FormatTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(timeLayout) }

// FormatData shows data for a text dump: null for ZooKeeper's null buffer,
// otherwise a Go-quoted string (bytes that are not UTF-8 escaped) of at most
// DataLimit bytes, followed by "...(N bytes)" when cut.
func FormatData(b []byte) string {
	if b == nil {
		return "null"
	}
	if len(b) <= DataLimit {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%s...(%d bytes)", strconv.Quote(string(b[:DataLimit])), len(b))
}

// FormatPerms shows permission bits as zkCli does: "cdrwa" order, a letter
// per bit (create, delete, read, write, admin), or the number for bits
// ZooKeeper does not define.
func FormatPerms(p znode.Perm) string {
	if p&^znode.PermAll != 0 {
		return fmt.Sprintf("%#x", int32(p))
	}
	return p.Letters()
}

// FormatACL shows an ACL list as [scheme:id:perms ...].
func FormatACL(acl []znode.ACL) string {
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = a.Scheme + ":" + a.ID.ID + ":" + FormatPerms(a.Perms)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// formatOwner shows a raw ephemeralOwner: "" for a persistent node,
// otherwise the kind (ephemeralOwner=0x..., container, ttl=...).
func formatOwner(owner int64) string {
	switch znode.KindOf(owner) {
	case znode.KindEphemeral:
		return fmt.Sprintf("ephemeralOwner=%#x", owner)
	case znode.KindContainer:
		return "container"
	case znode.KindTTL:
		return "ttl=" + znode.TTLOf(owner).String()
	}
	return ""
}

// kindName names a node kind in JSON dumps.
func kindName(owner int64) string {
	switch znode.KindOf(owner) {
	case znode.KindEphemeral:
		return "ephemeral"
	case znode.KindContainer:
		return "container"
	case znode.KindTTL:
		return "ttl"
	}
	return "persistent"
}

// FormatRecord renders a log record on one line, as `zkembed log dump`
// shows it:
//
//	ZXID TIME session SESSION OP
//
// with the zxid in hex, the time in UTC, and a multi's ops after
// "multi(N):", separated by "; ". Each op is its type and its fields (see
// formatOp).
func FormatRecord(t *txn.Txn) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %s session %#x ", t.Zxid, FormatTime(t.Time), t.Session)
	if t.Multi {
		fmt.Fprintf(&b, "multi(%d): ", len(t.Ops))
	}
	for i := range t.Ops {
		if i > 0 {
			b.WriteString("; ")
		}
		formatOp(&b, &t.Ops[i])
	}
	if len(t.Ops) == 0 {
		b.WriteString("(no ops)")
	}
	return b.String()
}

// formatOp writes one op: its type, then
//
//	create           PATH data=DATA acl=ACL [KIND] pcversion=N
//	delete           PATH
//	deleteContainer  PATH
//	setData          PATH data=DATA version=N
//	setACL           PATH acl=ACL aversion=N
//	check            PATH version=N
//	createSession    SESSION timeout=MSms [kind=in-process|remote]
//	closeSession     SESSION [ephemerals=[PATH ...]]
//	epoch            EPOCH
//
// A createSession without a kind was logged before kinds were (format
// version 1). A closeSession without a list deletes every ephemeral the
// session owns: the log stores no list when there is none, or when it is
// too long.
func formatOp(b *strings.Builder, op *txn.Op) {
	b.WriteString(op.Type.String())
	switch op.Type {
	case txn.TypeCreate:
		fmt.Fprintf(b, " %s data=%s acl=%s", op.Path, FormatData(op.Data), FormatACL(op.ACL))
		if o := formatOwner(op.Owner); o != "" {
			b.WriteString(" " + o)
		}
		fmt.Fprintf(b, " pcversion=%d", op.ParentCversion)
	case txn.TypeDelete, txn.TypeDeleteContainer:
		fmt.Fprintf(b, " %s", op.Path)
	case txn.TypeSetData:
		fmt.Fprintf(b, " %s data=%s version=%d", op.Path, FormatData(op.Data), op.Version)
	case txn.TypeSetACL:
		fmt.Fprintf(b, " %s acl=%s aversion=%d", op.Path, FormatACL(op.ACL), op.Version)
	case txn.TypeCheck:
		fmt.Fprintf(b, " %s version=%d", op.Path, op.Version)
	case txn.TypeCreateSession:
		fmt.Fprintf(b, " %#x timeout=%dms%s", op.Session, op.Timeout, formatSessionKind(op.Kind))
	case txn.TypeCloseSession:
		fmt.Fprintf(b, " %#x", op.Session)
		if op.Paths != nil {
			fmt.Fprintf(b, " ephemerals=[%s]", strings.Join(op.Paths, " "))
		}
	case txn.TypeEpoch:
		fmt.Fprintf(b, " %d", op.Epoch)
	}
}

// hexZxid is a zxid as JSON shows it: a "0x..." string, since zxids exceed
// the integers JSON readers keep exactly.
func hexZxid(z znode.Zxid) string { return z.String() }

// hex64 is a session id or digest as JSON shows it.
func hex64(v int64) string { return fmt.Sprintf("%#x", v) }

// JSONACL is one ACL entry in a JSON dump.
type JSONACL struct {
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
	Perms  int32  `json:"perms"` // ZooKeeper's bits: read 1, write 2, create 4, delete 8, admin 16
}

func jsonACL(acl []znode.ACL) []JSONACL {
	out := make([]JSONACL, len(acl))
	for i, a := range acl {
		out[i] = JSONACL{Scheme: a.Scheme, ID: a.ID.ID, Perms: int32(a.Perms)}
	}
	return out
}

// JSONRecord is a log record as `zkembed log dump -json` writes it, one
// object per line. Zxids, session ids and digests are "0x..." strings.
type JSONRecord struct {
	Zxid    string   `json:"zxid"`
	Epoch   int64    `json:"epoch"`   // the zxid's epoch, in the store's layout
	Counter int64    `json:"counter"` // the zxid's counter
	Time    string   `json:"time"`    // UTC, RFC 3339 with ms
	TimeMs  int64    `json:"time_ms"` // ms since the Unix epoch
	Session string   `json:"session"` // the session that issued it; 0x0 for the engine
	Multi   bool     `json:"multi"`
	Digest  string   `json:"digest,omitempty"` // tree digest after it, if recorded
	Ops     []JSONOp `json:"ops"`
}

// JSONOp is one op of a JSONRecord. Type is txn.Type's name (create,
// delete, deleteContainer, setData, setACL, check, createSession,
// closeSession, epoch); the other fields appear only for the types that
// have them.
type JSONOp struct {
	Type string `json:"type"`
	Path string `json:"path,omitempty"` // create, delete, deleteContainer, setData, setACL, check
	// Data is base64 (standard, padded); null is ZooKeeper's null buffer
	// (create, setData).
	Data *[]byte `json:"data,omitempty"`
	// ACL is the node's ACL (create, setACL).
	ACL *[]JSONACL `json:"acl,omitempty"`
	// Owner is the raw ephemeralOwner (create), NodeKind what it encodes
	// (persistent, ephemeral, container, ttl) and TTLMs the TTL of a ttl
	// node.
	Owner    string `json:"owner,omitempty"`
	NodeKind string `json:"node_kind,omitempty"`
	TTLMs    *int64 `json:"ttl_ms,omitempty"`
	// ParentCversion is the parent's stored cversion after a create.
	ParentCversion *int32 `json:"parent_cversion,omitempty"`
	// Version is the new version (setData), the new aversion (setACL) or
	// the expected version (check).
	Version *int32 `json:"version,omitempty"`
	// Session is the session created or closed, Timeout its timeout
	// and SessionKind where its client is, in-process or remote, absent
	// if the record predates kinds (createSession).
	Session     string `json:"session,omitempty"`
	TimeoutMs   *int32 `json:"timeout_ms,omitempty"`
	SessionKind string `json:"session_kind,omitempty"`
	// Ephemerals are the ephemerals a closeSession deletes, in order;
	// null means all the session owns (the record was too large to list
	// them).
	Ephemerals *[]string `json:"ephemerals,omitempty"`
	// Epoch is the new epoch (epoch).
	Epoch *int64 `json:"epoch,omitempty"`
}

// RecordJSON converts a record for `zkembed log dump -json`.
func RecordJSON(t *txn.Txn, layout znode.Layout) JSONRecord {
	r := JSONRecord{
		Zxid: hexZxid(t.Zxid), Epoch: layout.Epoch(t.Zxid), Counter: layout.Counter(t.Zxid),
		Time: FormatTime(t.Time), TimeMs: t.Time, Session: hex64(t.Session), Multi: t.Multi,
		Ops: make([]JSONOp, len(t.Ops)),
	}
	if t.HasDigest {
		r.Digest = fmt.Sprintf("0x%016x", t.Digest)
	}
	for i := range t.Ops {
		r.Ops[i] = opJSON(&t.Ops[i])
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// sessionKindName is a session kind's name, "" if unknown.
func sessionKindName(k txn.SessionKind) string {
	if k == txn.SessionKindUnknown {
		return ""
	}
	return k.String()
}

// formatSessionKind is " kind=NAME", or "" for an unknown kind.
func formatSessionKind(k txn.SessionKind) string {
	if k == txn.SessionKindUnknown {
		return ""
	}
	return " kind=" + k.String()
}

func opJSON(op *txn.Op) JSONOp {
	j := JSONOp{Type: op.Type.String()}
	switch op.Type {
	case txn.TypeCreate:
		j.Path, j.Data, j.ACL = op.Path, ptr(op.Data), ptr(jsonACL(op.ACL))
		j.Owner, j.NodeKind = hex64(op.Owner), kindName(op.Owner)
		if znode.KindOf(op.Owner) == znode.KindTTL {
			j.TTLMs = ptr(znode.TTLOf(op.Owner).Milliseconds())
		}
		j.ParentCversion = ptr(op.ParentCversion)
	case txn.TypeDelete, txn.TypeDeleteContainer:
		j.Path = op.Path
	case txn.TypeSetData:
		j.Path, j.Data, j.Version = op.Path, ptr(op.Data), ptr(op.Version)
	case txn.TypeSetACL:
		j.Path, j.ACL, j.Version = op.Path, ptr(jsonACL(op.ACL)), ptr(op.Version)
	case txn.TypeCheck:
		j.Path, j.Version = op.Path, ptr(op.Version)
	case txn.TypeCreateSession:
		j.Session, j.TimeoutMs, j.SessionKind = hex64(op.Session), ptr(op.Timeout), sessionKindName(op.Kind)
	case txn.TypeCloseSession:
		j.Session, j.Ephemerals = hex64(op.Session), ptr(op.Paths)
	case txn.TypeEpoch:
		j.Epoch = ptr(op.Epoch)
	}
	return j
}

// plural writes n and the noun, plural unless n is 1; forms[0], if given,
// is the plural when it is not noun+"s".
func plural(n int, noun string, forms ...string) string {
	if n == 1 {
		return "1 " + noun
	}
	if len(forms) > 0 {
		return fmt.Sprintf("%d %s", n, forms[0])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
