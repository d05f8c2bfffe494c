// Package acl implements ZooKeeper's access control: authentication
// schemes, the identity a session acts as, the permission check every
// operation makes, the fix-up a create or setACL applies to the ACL list it
// is given, digest ids, and the masking getACL applies without ADMIN.
//
// Rules (SEMANTICS.md §9): a check passes when some entry shares a bit with
// the requested mask and its id matches one of the caller's ids; world:anyone
// matches everyone; a caller holding a super id passes every check; an empty
// stored list allows everything (fix-up never produces one).
//
// An Authorizer holds an engine's schemes: the built-in ones (world, auth,
// digest, ip, super) and the caller's Providers. An Identity is immutable:
// addAuth makes a new one with more ids (a set, as ZooKeeper keeps a
// connection's), so a check never sees ids half added. Its ids are listed in
// the order ZooKeeper iterates them (a Java ConcurrentHashMap's, see
// javaSetOrder), which decides the order "auth" entries expand in and
// whoAmI's order.
//
// Secrets: Authenticate turns addAuth data into ids at once; only digests
// are kept, and digest ids are compared in constant time.
package acl
