package zkembed

import (
	"context"
	"errors"
	"time"

	"github.com/zkembed/zkembed/watch"
	"github.com/zkembed/zkembed/wire"
	"github.com/zkembed/zkembed/znode"
)

// serve runs one request frame and queues its reply. It reports whether
// the connection goes on. As in ZooKeeper, a frame too short for a request
// header, an unknown op code, closeSession and a failed auth end the
// connection; a body that does not decode is answered with
// MarshallingError and the connection stays.
func (c *conn) serve(frame []byte) bool {
	d := wire.NewDecoder(frame)
	h := wire.RequestHeader{Xid: d.Int(), Type: d.Int()}
	if d.Err() != nil {
		return false // shorter than a header: ZooKeeper closes too
	}
	if h.Type == wire.OpDeleteContainer {
		// ZooKeeper takes the whole frame, request header included, for
		// the path of a client's deleteContainer: never a valid path.
		c.reply(h.Xid, 0, znode.ErrBadArguments, nil)
		return true
	}
	if h.Type == wire.OpSASL {
		// A ZooKeeper without a JAAS login section has no SASL server for
		// the connection: processSasl answers OK, zxid 0, with a null
		// token, and the connection stays; a request it cannot read, or
		// with a null token, closes the connection unanswered.
		if token := d.Buffer(); d.Err() != nil || token == nil {
			return false
		}
		c.send(func(e *wire.Encoder) {
			wire.ReplyHeader{Xid: h.Xid}.Encode(e)
			e.Buffer(nil)
		})
		return true
	}
	req, err := wire.DecodeRequest(h.Type, d.Rest())
	if errors.Is(err, wire.ErrUnknownOp) {
		// ZooKeeper's UnimplementedRequestProcessor: zxid -1, then close.
		c.send(func(e *wire.Encoder) {
			wire.ReplyHeader{Xid: h.Xid, Zxid: -1, Err: int32(znode.CodeUnimplemented)}.Encode(e)
		})
		c.endAfterFlush()
		return false
	}
	switch {
	case errors.Is(err, wire.ErrNullPathInMulti):
		c.answer(h.Xid, 0, znode.ErrMarshallingError, func(e *wire.Encoder) { e.MultiEnd() }, true)
		return true
	case errors.Is(err, wire.ErrNullPathInMultiRead):
		body, rerr := c.multiRead(context.Background(), req.(*wire.MultiRequest))
		if rerr != nil {
			c.reply(h.Xid, 0, rerr, nil)
		} else {
			c.answer(h.Xid, 0, znode.ErrMarshallingError, body, true)
		}
		return true
	}
	if err != nil {
		// A body that does not parse: MarshallingError, and the
		// connection stays open.
		c.reply(h.Xid, 0, znode.ErrMarshallingError, nil)
		return true
	}
	ctx := context.Background()
	s := c.sess
	switch h.Type {
	case wire.OpPing:
		err := s.Ping(ctx)
		c.reply(wire.XidPing, 0, err, nil)
		return err == nil
	case wire.OpAuth:
		return c.setAuth(h.Xid, req.(*wire.AuthRequest))
	case wire.OpSetWatches, wire.OpSetWatches2:
		// Its events are queued before the reply, as ZooKeeper sends them.
		sw := req.(*wire.SetWatchesRequest)
		if h.Type == wire.OpSetWatches {
			// setWatches has no persistent lists: ZooKeeper passes empty
			// ones.
			sw.Persistent, sw.PersistentRecursive = []string{}, []string{}
		}
		err := c.srv.db.setWatches(s, sw)
		c.reply(h.Xid, 0, err, nil)
		return true
	case wire.OpCloseSession:
		zxid, err := s.close(ctx)
		c.reply(h.Xid, zxid, err, nil)
		c.endAfterFlush()
		return false
	}
	body, zxid, err := c.run(ctx, h.Type, req)
	c.reply(h.Xid, zxid, err, body)
	return true
}

// run runs one operation and returns the encoder of its reply body and, for
// a write that succeeded, the zxid of its record (0 for any other request).
func (c *conn) run(ctx context.Context, op int32, req wire.Request) (func(e *wire.Encoder), Zxid, error) {
	s := c.sess
	switch op {
	case wire.OpCreate, wire.OpCreate2, wire.OpCreateContainer, wire.OpCreateTTL:
		r := req.(*wire.CreateRequest)
		cr := &createReq{path: r.Path, data: r.Data, mode: znode.CreateMode(r.Flags), acl: r.ACL, ttl: -1}
		switch op {
		case wire.OpCreate, wire.OpCreate2:
			cr.as = asCreate
		case wire.OpCreateContainer:
			cr.as = asContainer
		case wire.OpCreateTTL:
			cr.ttl = max(r.TTL, 0) // ms, as ttlMillis makes them
		}
		path, st, zxid, err := s.create(ctx, opName(op), cr)
		if op == wire.OpCreate {
			return func(e *wire.Encoder) { e.String(path) }, zxid, err
		}
		return func(e *wire.Encoder) { e.String(path); e.Stat(&st) }, zxid, err
	case wire.OpDelete:
		r := req.(*wire.DeleteRequest)
		zxid, err := s.delete(ctx, r.Path, r.Version)
		return nil, zxid, err
	case wire.OpExists:
		r := req.(*wire.PathRequest)
		var ok bool
		var st Stat
		var err error
		if r.Watch {
			ok, st, _, err = s.ExistsW(ctx, r.Path)
		} else {
			ok, st, err = s.Exists(ctx, r.Path)
		}
		if err == nil && !ok {
			err = znode.ErrNoNode
		}
		return func(e *wire.Encoder) { e.Stat(&st) }, 0, err
	case wire.OpGetData:
		r := req.(*wire.PathRequest)
		var data []byte
		var st Stat
		var err error
		if r.Watch {
			data, st, _, err = s.GetW(ctx, r.Path)
		} else {
			data, st, err = s.GetData(ctx, r.Path)
		}
		return func(e *wire.Encoder) { e.Buffer(data); e.Stat(&st) }, 0, err
	case wire.OpSetData:
		r := req.(*wire.SetDataRequest)
		st, zxid, err := s.setData(ctx, r.Path, r.Data, r.Version)
		return func(e *wire.Encoder) { e.Stat(&st) }, zxid, err
	case wire.OpGetACL:
		r := req.(*wire.PathRequest)
		list, st, err := s.GetACL(ctx, r.Path)
		return func(e *wire.Encoder) { e.ACLs(list); e.Stat(&st) }, 0, err
	case wire.OpSetACL:
		r := req.(*wire.SetACLRequest)
		st, zxid, err := s.setACL(ctx, r.Path, r.ACL, r.Version)
		return func(e *wire.Encoder) { e.Stat(&st) }, zxid, err
	case wire.OpGetChildren, wire.OpGetChildren2:
		r := req.(*wire.PathRequest)
		var names []string
		var st Stat
		var err error
		if r.Watch {
			names, st, _, err = s.ChildrenW(ctx, r.Path)
		} else {
			names, st, err = s.GetChildren(ctx, r.Path)
		}
		if op == wire.OpGetChildren {
			return func(e *wire.Encoder) { e.Strings(names) }, 0, err
		}
		return func(e *wire.Encoder) { e.Strings(names); e.Stat(&st) }, 0, err
	case wire.OpSync:
		r := req.(*wire.PathRequest)
		p, err := s.Sync(ctx, r.Path)
		return func(e *wire.Encoder) { e.String(p) }, 0, err
	case wire.OpMulti:
		return c.multi(ctx, req.(*wire.MultiRequest))
	case wire.OpMultiRead:
		body, err := c.multiRead(ctx, req.(*wire.MultiRequest))
		return body, 0, err
	case wire.OpAddWatch:
		r := req.(*wire.WatchModeRequest)
		if r.Mode != 0 && r.Mode != 1 {
			// ZooKeeper's WatcherMode.fromZooDef throws on any other
			// mode, which its FinalRequestProcessor answers as a
			// MarshallingError.
			return nil, 0, znode.ErrMarshallingError
		}
		_, err := s.AddWatch(ctx, r.Path, r.Mode == 1)
		// ZooKeeper answers addWatch with an ErrorResponse of 0.
		return func(e *wire.Encoder) { e.Int(0) }, 0, err
	case wire.OpCheckWatches, wire.OpRemoveWatches:
		r := req.(*wire.WatchModeRequest)
		if r.Mode < 1 || r.Mode > 3 {
			// 3.8's WatcherType has Children, Data and Any only; the
			// server fails to read any other value.
			return nil, 0, znode.ErrMarshallingError
		}
		if op == wire.OpCheckWatches {
			return nil, 0, c.srv.db.checkWatches(s, r.Path, watch.RemoveKind(r.Mode))
		}
		return nil, 0, s.RemoveWatches(ctx, r.Path, watch.RemoveKind(r.Mode))
	case wire.OpGetEphemerals:
		r := req.(*wire.PathRequest)
		paths, err := s.GetEphemerals(ctx, r.Path)
		return func(e *wire.Encoder) { e.Strings(paths) }, 0, err
	case wire.OpGetAllChildrenNumber:
		r := req.(*wire.PathRequest)
		n, err := s.GetAllChildrenNumber(ctx, r.Path)
		return func(e *wire.Encoder) { e.Int(int32(n)) }, 0, err
	case wire.OpReconfig:
		// A standalone ZooKeeper without dynamic reconfiguration.
		return nil, 0, znode.ErrReconfigDisabled
	case wire.OpWhoAmI:
		infos, err := s.WhoAmI(ctx)
		return func(e *wire.Encoder) {
			e.Int(int32(len(infos)))
			for _, in := range infos {
				e.String(in.Scheme)
				e.String(in.User)
			}
		}, 0, err
	}
	// check outside a multi, SASL: not offered.
	return nil, 0, znode.ErrUnimplemented
}

func opName(op int32) string {
	switch op {
	case wire.OpCreate2:
		return "create2"
	case wire.OpCreateContainer:
		return "createContainer"
	case wire.OpCreateTTL:
		return "createTTL"
	}
	return "create"
}

// setAuth handles an auth packet. A failure is answered with AuthFailed
// and the connection is closed, as ZooKeeper does; the session lives on
// (a client may reconnect to it).
func (c *conn) setAuth(xid int32, r *wire.AuthRequest) bool {
	db := c.srv.db
	st := c.sess.st
	// ZooKeeper answers auth outside its pipeline, with zxid 0.
	answer := func(code znode.Code) {
		c.send(func(e *wire.Encoder) { wire.ReplyHeader{Xid: xid, Err: int32(code)}.Encode(e) })
	}
	ids, err := db.auth.Authenticate(r.Scheme, r.Auth, c.addr)
	if err != nil {
		answer(znode.CodeAuthFailed)
		c.endAfterFlush()
		return false
	}
	if c.sess.moved.Load() {
		return false // credentials belong to a connection, and this one is done
	}
	st.addIDs(ids)
	answer(znode.CodeOK)
	return true
}

// multi runs a multi and encodes its results as ZooKeeper's MultiResponse;
// it returns the zxid of the multi's record if it succeeded.
func (c *conn) multi(ctx context.Context, r *wire.MultiRequest) (func(e *wire.Encoder), Zxid, error) {
	ops := make([]Op, 0, len(r.Ops))
	for _, o := range r.Ops {
		switch o.Type {
		case wire.OpCreate, wire.OpCreate2, wire.OpCreateContainer, wire.OpCreateTTL:
			q := o.Request.(*wire.CreateRequest)
			// ZooKeeper reads a multi's create as Op.create(path, data,
			// acl, flags[, ttl]), which derives the opcode from the flags,
			// as the Go API does from the mode, and keeps a ttl only for a
			// TTL mode (MultiOperationRecord).
			op := &CreateOp{Path: q.Path, Data: q.Data, Mode: znode.CreateMode(q.Flags), ACL: q.ACL}
			if o.Type == wire.OpCreateTTL && op.Mode.IsTTL() {
				op.TTL = time.Duration(min(max(q.TTL, 0), znode.MaxTTL+1)) * time.Millisecond // beyond the range, still beyond it
			}
			ops = append(ops, op)
		case wire.OpDelete:
			q := o.Request.(*wire.DeleteRequest)
			ops = append(ops, &DeleteOp{Path: q.Path, Version: q.Version})
		case wire.OpSetData:
			q := o.Request.(*wire.SetDataRequest)
			ops = append(ops, &SetDataOp{Path: q.Path, Data: q.Data, Version: q.Version})
		case wire.OpCheck:
			q := o.Request.(*wire.CheckVersionRequest)
			ops = append(ops, &CheckOp{Path: q.Path, Version: q.Version})
		default:
			// A read in a multi: ZooKeeper fails to read the request
			// ("Mixing different kind of ops"), MarshallingError.
			return nil, 0, znode.ErrMarshallingError
		}
	}
	results, zxid, err := c.sess.multi(ctx, ops)
	if err != nil && results == nil {
		return nil, 0, err
	}
	// A failed multi is not an error of the reply (err 0): each op carries
	// its code, 0 before the failing op and RuntimeInconsistency after.
	failed := err != nil
	return func(e *wire.Encoder) {
		for i, res := range results {
			typ := r.Ops[i].Type
			if cr, ok := ops[i].(*CreateOp); ok {
				// ZooKeeper's Op.create recomputes the type from the
				// flags, whatever the op's type: a create (CreateResponse)
				// but for containers and TTL nodes, which come back as
				// create2 (Create2Response).
				typ = wire.OpCreate
				if cr.Mode.IsContainer() || cr.Mode.IsTTL() {
					typ = wire.OpCreate2
				}
			}
			if failed {
				e.MultiError(int32(znode.CodeOf(res.Err)))
				continue
			}
			e.MultiHeader(typ, false, 0)
			switch typ {
			case wire.OpCreate:
				e.String(res.Path)
			case wire.OpCreate2:
				e.String(res.Path)
				e.Stat(&res.Stat)
			case wire.OpSetData:
				e.Stat(&res.Stat)
			}
		}
		e.MultiEnd()
	}, zxid, nil
}

// multiRead runs a read-only multi.
func (c *conn) multiRead(ctx context.Context, r *wire.MultiRequest) (func(e *wire.Encoder), error) {
	ops := make([]ReadOp, 0, len(r.Ops))
	for _, o := range r.Ops {
		q, ok := o.Request.(*wire.PathRequest)
		switch {
		case ok && o.Type == wire.OpGetData:
			ops = append(ops, &GetDataOp{Path: q.Path})
		case ok && o.Type == wire.OpGetChildren:
			ops = append(ops, &GetChildrenOp{Path: q.Path})
		default:
			// A write in a multiRead: ZooKeeper fails to read it.
			return nil, znode.ErrMarshallingError
		}
	}
	results, err := c.sess.MultiRead(ctx, ops...)
	if err != nil {
		return nil, err
	}
	return func(e *wire.Encoder) {
		for i, res := range results {
			if res.Err != nil {
				e.MultiError(int32(znode.CodeOf(res.Err)))
				continue
			}
			typ := r.Ops[i].Type
			e.MultiHeader(typ, false, 0)
			if typ == wire.OpGetData {
				e.Buffer(res.Data)
				e.Stat(&res.Stat)
			} else {
				e.Strings(res.Children)
			}
		}
		e.MultiEnd()
	}, nil
}

// checkWatches answers ZooKeeper's checkWatches: NoWatcher unless the
// session has a watch of the kind on path.
func (db *DB) checkWatches(s *Session, path string, kind watch.RemoveKind) error {
	if _, err := s.begin(context.Background(), "checkWatches", path); err != nil {
		return err
	}
	if err := znode.ValidatePath(path); err != nil {
		return &OpError{Op: "checkWatches", Path: path, Err: err}
	}
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if err := s.movedAway("checkWatches", path); err != nil {
		return err
	}
	if !db.watches.Has(s.st.id, path, kind) {
		return &OpError{Op: "checkWatches", Path: path, Err: znode.ErrNoWatcher}
	}
	return nil
}

// setWatches re-registers a reconnecting client's watches with
// ZooKeeper's catch-up rules (DataTree.setWatches): a watch whose node
// changed after relativeZxid fires at once instead of being set. A null
// list fails with MarshallingError, after the lists before it, as
// ZooKeeper's loop over it throws.
func (db *DB) setWatches(s *Session, r *wire.SetWatchesRequest) error {
	if _, err := s.begin(context.Background(), "setWatches", ""); err != nil {
		return err
	}
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	if err := s.movedAway("setWatches", ""); err != nil {
		return err
	}
	err := db.setWatchesLocked(s, r)
	db.watchers[s.st.id] = s.st
	db.watching.Store(db.watches.Active())
	return err
}

func (db *DB) setWatchesLocked(s *Session, r *wire.SetWatchesRequest) error {
	rel := znode.Zxid(r.RelativeZxid)
	t := db.rootForWatchLocked()
	id := s.st.id
	fire := func(typ znode.EventType, path string) {
		db.watches.Notify(id, znode.Event{Type: typ, Path: path, State: znode.StateSyncConnected})
	}
	null := &OpError{Op: "setWatches", Err: znode.ErrMarshallingError}
	if r.Data == nil {
		return null
	}
	for _, p := range r.Data {
		switch n := t.Get(p); {
		case n == nil:
			fire(znode.EventNodeDeleted, p)
		case n.Stat().Mzxid > rel:
			fire(znode.EventNodeDataChanged, p)
		default:
			db.watches.AddSilent(id, p, watch.Data)
		}
	}
	if r.Exist == nil {
		return null
	}
	for _, p := range r.Exist {
		if t.Get(p) != nil {
			fire(znode.EventNodeCreated, p)
		} else {
			db.watches.AddSilent(id, p, watch.Exist)
		}
	}
	if r.Child == nil {
		return null
	}
	for _, p := range r.Child {
		switch n := t.Get(p); {
		case n == nil:
			fire(znode.EventNodeDeleted, p)
		case n.Stat().Pzxid > rel:
			fire(znode.EventNodeChildrenChanged, p)
		default:
			db.watches.AddSilent(id, p, watch.Child)
		}
	}
	if r.Persistent == nil {
		return null
	}
	for _, p := range r.Persistent {
		db.watches.AddSilent(id, p, watch.Persistent)
	}
	if r.PersistentRecursive == nil {
		return null
	}
	for _, p := range r.PersistentRecursive {
		db.watches.AddSilent(id, p, watch.Recursive)
	}
	return nil
}
