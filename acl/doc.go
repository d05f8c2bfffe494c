// Package acl implements ZooKeeper's access control: the permission check
// every operation makes, the fix-up a create or setACL applies to the ACL
// list it is given, digest ids, and the masking getACL applies without ADMIN.
//
// Rules (SEMANTICS.md §9): a check passes when some entry shares a bit with
// the requested mask and its id matches one of the caller's ids; world:anyone
// matches everyone; a caller holding a super id passes every check; an empty
// stored list allows everything (fix-up never produces one).
package acl
