package zkembed

import (
	"context"

	"github.com/zkembed/zkembed/acl"
	"github.com/zkembed/zkembed/znode"
)

// ClientInfo is one entry of Session.WhoAmI: an id's scheme and user.
type ClientInfo = acl.ClientInfo

// AddAuth adds credentials to the session, as ZooKeeper's addauth does:
//
//   - "digest" with "user:password" adds the id digest:user:hash (see
//     acl.Digest); with Options.SuperDigest's password for user super the
//     session also becomes super and passes every check;
//   - "ip" adds the session's own address again (SessionOptions.Addr);
//   - a scheme of Options.AuthProviders adds its provider's ids.
//
// Ids are kept as a set for the life of the session and are never stored:
// neither they nor auth reach the log or a snapshot.
//
// A scheme without a provider, or "digest" with nil auth (ZooKeeper's null
// auth data, which its digest provider cannot read; []byte{} is fine),
// fails with ErrAuthFailed, and then, as
// ZooKeeper's server drops the connection, the session takes no more
// requests (they fail with ErrAuthFailed), and its watches and event stream
// end with StateAuthFailed. Its ephemerals stay until Close or expiry.
func (s *Session) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	if _, err := s.begin(ctx, "addAuth", ""); err != nil {
		return err
	}
	ids, err := s.db.auth.Authenticate(scheme, auth, s.st.addr)
	if err != nil {
		s.failAuth()
		return &OpError{Op: "addAuth", Err: err}
	}
	s.st.addIDs(ids)
	return nil
}

// failAuth puts the session in the auth-failed state and ends its watches.
func (s *Session) failAuth() {
	if s.st.authFailed.Swap(true) {
		return
	}
	db := s.db
	db.watchMu.Lock()
	defer db.watchMu.Unlock()
	db.watches.EndSession(s.st.id, znode.StateAuthFailed)
	db.forgetWatcherLocked(s.st.id)
}

// WhoAmI returns the session's ids as ZooKeeper's whoAmI does: for each,
// its scheme and user (the part of a digest id before the colon, or the
// whole id), in the order they were added.
func (s *Session) WhoAmI(ctx context.Context) ([]ClientInfo, error) {
	if _, err := s.begin(ctx, "whoAmI", ""); err != nil {
		return nil, err
	}
	return s.who().WhoAmI(), nil
}
