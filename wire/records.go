package wire

import (
	"errors"
	"fmt"

	"github.com/zkembed/zkembed/znode"
)

// Op codes (ZooDefs.OpCode).
const (
	OpNotification         int32 = 0
	OpCreate               int32 = 1
	OpDelete               int32 = 2
	OpExists               int32 = 3
	OpGetData              int32 = 4
	OpSetData              int32 = 5
	OpGetACL               int32 = 6
	OpSetACL               int32 = 7
	OpGetChildren          int32 = 8
	OpSync                 int32 = 9
	OpPing                 int32 = 11
	OpGetChildren2         int32 = 12
	OpCheck                int32 = 13
	OpMulti                int32 = 14
	OpCreate2              int32 = 15
	OpReconfig             int32 = 16
	OpCheckWatches         int32 = 17
	OpRemoveWatches        int32 = 18
	OpCreateContainer      int32 = 19
	OpDeleteContainer      int32 = 20
	OpCreateTTL            int32 = 21
	OpMultiRead            int32 = 22
	OpAuth                 int32 = 100
	OpSetWatches           int32 = 101
	OpSASL                 int32 = 102
	OpGetEphemerals        int32 = 103
	OpGetAllChildrenNumber int32 = 104
	OpSetWatches2          int32 = 105
	OpAddWatch             int32 = 106
	OpWhoAmI               int32 = 107
	OpCreateSession        int32 = -10
	OpCloseSession         int32 = -11
	OpError                int32 = -1
)

// Special xids.
const (
	XidNotification int32 = -1
	XidPing         int32 = -2
	XidAuth         int32 = -4
	XidSetWatches   int32 = -8
)

// ConnectRequest opens or resumes a session.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	Timeout         int32 // ms
	SessionID       int64
	Password        []byte
	ReadOnly        bool
	HasReadOnly     bool // the client sent the trailing readOnly flag
}

// Encode appends the record.
func (r *ConnectRequest) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(r.LastZxidSeen)
	e.Int(r.Timeout)
	e.Long(r.SessionID)
	e.Buffer(r.Password)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// DecodeConnectRequest decodes a connect request; the readOnly flag is
// optional, as old clients (and go-zookeeper) omit it, and bytes after it
// are ignored, as ZooKeeper ignores them.
func DecodeConnectRequest(b []byte) (ConnectRequest, error) {
	d := NewDecoder(b)
	r := ConnectRequest{
		ProtocolVersion: d.Int(),
		LastZxidSeen:    d.Long(),
		Timeout:         d.Int(),
		SessionID:       d.Long(),
		Password:        d.Buffer(),
	}
	if d.Err() == nil && d.Len() > 0 {
		r.ReadOnly, r.HasReadOnly = d.Bool(), true
	}
	return r, d.Done(false)
}

// ConnectResponse answers a ConnectRequest. A Timeout of 0 tells the
// client its session is gone.
type ConnectResponse struct {
	ProtocolVersion int32
	Timeout         int32
	SessionID       int64
	Password        []byte
	ReadOnly        bool
	// HasReadOnly: the readOnly flag is sent. ZooKeeper sends it only to
	// a client whose ConnectRequest had it (ConnectRequest.HasReadOnly).
	HasReadOnly bool
}

// Encode appends the record, and the readOnly flag if HasReadOnly.
func (r *ConnectResponse) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.Timeout)
	e.Long(r.SessionID)
	e.Buffer(r.Password)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// DecodeConnectResponse decodes a connect response (readOnly optional).
func DecodeConnectResponse(b []byte) (ConnectResponse, error) {
	d := NewDecoder(b)
	r := ConnectResponse{ProtocolVersion: d.Int(), Timeout: d.Int(), SessionID: d.Long(), Password: d.Buffer()}
	if d.Err() == nil && d.Len() > 0 {
		r.ReadOnly, r.HasReadOnly = d.Bool(), true
	}
	return r, d.Done(true)
}

// RequestHeader starts every request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type int32
}

// ReplyHeader starts every reply and notification.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  int32
}

// Encode appends the header.
func (h ReplyHeader) Encode(e *Encoder) {
	e.Int(h.Xid)
	e.Long(h.Zxid)
	e.Int(h.Err)
}

// WatcherEvent is a notification's body.
type WatcherEvent struct {
	Type  int32
	State int32
	Path  string
}

// Encode appends the record.
func (w WatcherEvent) Encode(e *Encoder) {
	e.Int(w.Type)
	e.Int(w.State)
	e.String(w.Path)
}

// Request is a decoded request body: one of the *...Request types below.
type Request interface{ encode(e *Encoder) }

// PathRequest is the body of exists, getData, getChildren, getChildren2
// (path and watch flag), and of getACL, sync, getAllChildrenNumber and
// getEphemerals (path only; Watch unused).
type PathRequest struct {
	Path  string
	Watch bool
}

// CreateRequest is the body of create, create2, createContainer and
// createTTL (TTL only for the last).
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []znode.ACL
	Flags int32
	TTL   int64
}

// DeleteRequest is the body of delete.
type DeleteRequest struct {
	Path    string
	Version int32
}

// SetDataRequest is the body of setData.
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

// SetACLRequest is the body of setACL.
type SetACLRequest struct {
	Path    string
	ACL     []znode.ACL
	Version int32
}

// CheckVersionRequest is the body of a check inside a multi.
type CheckVersionRequest struct {
	Path    string
	Version int32
}

// AuthRequest is the body of setAuth (AuthPacket).
type AuthRequest struct {
	Type   int32
	Scheme string
	Auth   []byte
}

// SetWatchesRequest is the body of setWatches and setWatches2 (the last
// two lists only for setWatches2).
type SetWatchesRequest struct {
	RelativeZxid        int64
	Data, Exist, Child  []string
	Persistent          []string
	PersistentRecursive []string
}

// WatchModeRequest is the body of addWatch (Mode: 0 persistent, 1
// persistent recursive), checkWatches and removeWatches (Mode: the
// WatcherType).
type WatchModeRequest struct {
	Path string
	Mode int32
}

// ReconfigRequest is the body of reconfig.
type ReconfigRequest struct {
	JoiningServers, LeavingServers, NewMembers string
	CurConfigID                                int64
}

// EmptyRequest is the body of ping, closeSession and whoAmI.
type EmptyRequest struct{}

// MultiRequest is the body of multi and multiRead: sub-requests with
// their op codes.
type MultiRequest struct {
	Ops []MultiOp
}

// MultiOp is one operation of a multi.
type MultiOp struct {
	Type    int32
	Request Request
}

func (r *PathRequest) encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *CreateRequest) encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	e.ACLs(r.ACL)
	e.Int(r.Flags)
}
func (r *DeleteRequest) encode(e *Encoder)       { e.String(r.Path); e.Int(r.Version) }
func (r *SetDataRequest) encode(e *Encoder)      { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetACLRequest) encode(e *Encoder)       { e.String(r.Path); e.ACLs(r.ACL); e.Int(r.Version) }
func (r *CheckVersionRequest) encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *AuthRequest) encode(e *Encoder)         { e.Int(r.Type); e.String(r.Scheme); e.Buffer(r.Auth) }
func (r *WatchModeRequest) encode(e *Encoder)    { e.String(r.Path); e.Int(r.Mode) }
func (r *EmptyRequest) encode(*Encoder)          {}
func (r *ReconfigRequest) encode(e *Encoder) {
	e.String(r.JoiningServers)
	e.String(r.LeavingServers)
	e.String(r.NewMembers)
	e.Long(r.CurConfigID)
}
func (r *SetWatchesRequest) encode(e *Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.Data)
	e.Strings(r.Exist)
	e.Strings(r.Child)
}

// setWatches2 carries two more lists than setWatches.
type setWatches2 struct{ *SetWatchesRequest }

func (r setWatches2) encode(e *Encoder) {
	r.SetWatchesRequest.encode(e)
	e.Strings(r.Persistent)
	e.Strings(r.PersistentRecursive)
}

// createTTL carries the TTL after the create fields.
type createTTL struct{ *CreateRequest }

func (r createTTL) encode(e *Encoder) { r.CreateRequest.encode(e); e.Long(r.TTL) }

// pathOnly is a request whose body is just a path.
type pathOnly struct{ *PathRequest }

func (r pathOnly) encode(e *Encoder) { e.String(r.Path) }

func (r *MultiRequest) encode(e *Encoder) {
	for _, op := range r.Ops {
		e.MultiHeader(op.Type, false, -1)
		encodeBody(e, op.Type, op.Request)
	}
	e.MultiEnd()
}

// EncodeRequest appends header and body of a request of type op, as a
// client sends it (without the frame length).
func EncodeRequest(e *Encoder, h RequestHeader, r Request) {
	e.Int(h.Xid)
	e.Int(h.Type)
	encodeBody(e, h.Type, r)
}

func encodeBody(e *Encoder, op int32, r Request) {
	switch op {
	case OpCreateTTL:
		createTTL{r.(*CreateRequest)}.encode(e)
	case OpSetWatches2:
		setWatches2{r.(*SetWatchesRequest)}.encode(e)
	case OpGetACL, OpSync, OpGetAllChildrenNumber, OpGetEphemerals:
		pathOnly{r.(*PathRequest)}.encode(e)
	default:
		r.encode(e)
	}
}

// ErrUnknownOp is returned by DecodeRequest for an op code it does not
// know; it matches znode.ErrUnimplemented.
var ErrUnknownOp = fmt.Errorf("wire: unknown op code: %w", znode.ErrUnimplemented)

// ErrNullPath is returned by DecodeRequest for a request with a null path
// where ZooKeeper's server dereferences the path (reads but sync and
// getEphemerals, creates, delete, addWatch, checkWatches, and the ops of
// a multiRead): ZooKeeper answers MarshallingError. ErrNullPathInMulti is
// the same in any op of a multi: ZooKeeper fails the multi as it prepares
// it, and its reply carries an empty multi response after the error. Both
// match ErrMalformed. (setData and setACL outside a multi validate a null
// path as any bad one: BadArguments.)
//
// ErrNullPathInMultiRead is returned with the *MultiRequest of a multiRead
// that has an op with a null path, holding the ops before it: ZooKeeper
// runs those (if they are all reads), then fails on the null path, and
// answers MarshallingError followed by their results.
var (
	ErrNullPath            = fmt.Errorf("%w: null path", ErrMalformed)
	ErrNullPathInMulti     = fmt.Errorf("%w: null path in a multi", ErrMalformed)
	ErrNullPathInMultiRead = fmt.Errorf("%w: null path in a multiRead", ErrMalformed)
)

// DecodeRequest decodes the body of a request of type op. Unknown op codes
// give ErrUnknownOp; bodies that do not parse give ErrMalformed. Bytes
// after the body are ignored, as ZooKeeper's records read only their
// fields. Only with ErrNullPathInMultiRead is the request not nil on an
// error.
func DecodeRequest(op int32, body []byte) (Request, error) {
	d := NewDecoder(body)
	r, err := decodeBody(d, op, 0)
	if err != nil && !errors.Is(err, ErrNullPathInMultiRead) {
		return nil, err
	}
	return r, err
}

// multiOps are the op types ZooKeeper's MultiOperationRecord reads.
var multiOps = map[int32]bool{OpCreate: true, OpCreate2: true, OpCreateContainer: true, OpCreateTTL: true,
	OpDelete: true, OpSetData: true, OpCheck: true, OpGetChildren: true, OpGetData: true}

// A multi inside a multi is refused (ZooKeeper's MultiOperationRecord
// accepts only the multiOps).
func decodeBody(d *Decoder, op int32, depth int) (Request, error) {
	var r Request
	nullPath := false
	path := func() string {
		p, null := d.NullableString()
		nullPath = nullPath || null
		return p
	}
	switch op {
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		r = &PathRequest{Path: path(), Watch: d.Bool()}
	case OpGetACL, OpSync, OpGetAllChildrenNumber, OpGetEphemerals:
		r = &PathRequest{Path: path()}
	case OpCreate, OpCreate2, OpCreateContainer:
		r = &CreateRequest{Path: path(), Data: d.Buffer(), ACL: d.ACLs(), Flags: d.Int(), TTL: -1}
	case OpCreateTTL:
		r = &CreateRequest{Path: path(), Data: d.Buffer(), ACL: d.ACLs(), Flags: d.Int(), TTL: d.Long()}
	case OpDelete, OpDeleteContainer:
		r = &DeleteRequest{Path: path(), Version: d.Int()}
	case OpSetData:
		r = &SetDataRequest{Path: path(), Data: d.Buffer(), Version: d.Int()}
	case OpSetACL:
		r = &SetACLRequest{Path: path(), ACL: d.ACLs(), Version: d.Int()}
	case OpCheck:
		r = &CheckVersionRequest{Path: path(), Version: d.Int()}
	case OpAuth:
		r = &AuthRequest{Type: d.Int(), Scheme: d.String(), Auth: d.Buffer()}
	case OpSetWatches:
		r = &SetWatchesRequest{RelativeZxid: d.Long(), Data: d.Strings(), Exist: d.Strings(), Child: d.Strings()}
	case OpSetWatches2:
		r = &SetWatchesRequest{RelativeZxid: d.Long(), Data: d.Strings(), Exist: d.Strings(), Child: d.Strings(),
			Persistent: d.Strings(), PersistentRecursive: d.Strings()}
	case OpAddWatch, OpCheckWatches, OpRemoveWatches:
		r = &WatchModeRequest{Path: path(), Mode: d.Int()}
	case OpPing, OpCloseSession, OpWhoAmI:
		r = &EmptyRequest{}
	case OpReconfig:
		r = &ReconfigRequest{JoiningServers: d.String(), LeavingServers: d.String(), NewMembers: d.String(),
			CurConfigID: d.Long()}
	case OpMulti, OpMultiRead:
		if depth > 0 {
			return nil, fmt.Errorf("%w: multi inside a multi", ErrMalformed)
		}
		m := &MultiRequest{}
		nullIn := false // an op of this multi has a null path
		readUpTo := -1  // in a multiRead, the ops before the first null path
		for {
			typ, done, _ := d.Int(), d.Bool(), d.Int()
			if d.Err() != nil {
				return nil, d.Err()
			}
			if done {
				break
			}
			if !multiOps[typ] {
				// ZooKeeper's MultiOperationRecord: "Invalid type of op".
				return nil, fmt.Errorf("%w: op %d in a multi", ErrMalformed, typ)
			}
			sub, err := decodeBody(d, typ, depth+1)
			if errors.Is(err, ErrNullPath) {
				nullIn = true // ZooKeeper reads the rest first
				if readUpTo < 0 {
					readUpTo = len(m.Ops)
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			m.Ops = append(m.Ops, MultiOp{Type: typ, Request: sub})
		}
		if nullIn && op == OpMulti {
			return nil, ErrNullPathInMulti
		}
		if nullIn {
			m.Ops = m.Ops[:readUpTo]
			return m, ErrNullPathInMultiRead
		}
		r = m
	default:
		return nil, fmt.Errorf("%w %d", ErrUnknownOp, op)
	}
	if d.Err() != nil {
		return nil, d.Err()
	}
	if nullPath && (depth > 0 || nullPathRefused[op]) {
		return nil, ErrNullPath
	}
	return r, nil
}

// nullPathRefused are the ops whose null path ZooKeeper's server
// dereferences (ErrNullPath). In a multi every op's is: the multi reads
// each op's path before it runs any. The other ops take a null path as ""
// (sync echoes it, getEphemerals lists nothing, setData and setACL
// validate it: BadArguments, as does zkembed's removeWatches; a check
// outside a multi is Unimplemented whatever its path).
var nullPathRefused = map[int32]bool{OpExists: true, OpGetData: true, OpGetChildren: true, OpGetChildren2: true,
	OpGetACL: true, OpGetAllChildrenNumber: true, OpCreate: true, OpCreate2: true, OpCreateContainer: true,
	OpCreateTTL: true, OpDelete: true, OpAddWatch: true, OpCheckWatches: true}
