// Package znode is zkembed's shared vocabulary: paths and their validation,
// zxids, Stat, create modes, permissions and ACLs, event types, and the
// sentinel errors with their ZooKeeper numeric codes.
//
// It depends on the standard library only, so every other package can use it
// without pulling in the engine. Everything here is a pure value or a pure
// function; nothing holds state.
//
// Invariants callers rely on:
//   - ValidatePath accepts exactly the paths ZooKeeper 3.8's
//     PathUtils.validatePath accepts (see SEMANTICS.md §1.1), and reports the
//     first failing rule in the server's order.
//   - Every sentinel error is a Code; errors.Is(err, ErrNoNode) works through
//     any wrapping, and CodeOf maps any error back to ZooKeeper's number.
package znode
