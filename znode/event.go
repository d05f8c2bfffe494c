package znode

import "fmt"

// EventType is the type of a watch notification, with ZooKeeper's numbers.
type EventType int32

// The event types. The *Removed types exist only on the client side.
const (
	EventNone                   EventType = -1
	EventNodeCreated            EventType = 1
	EventNodeDeleted            EventType = 2
	EventNodeDataChanged        EventType = 3
	EventNodeChildrenChanged    EventType = 4
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
)

// String returns ZooKeeper's name for the event type.
func (t EventType) String() string {
	switch t {
	case EventNone:
		return "None"
	case EventNodeCreated:
		return "NodeCreated"
	case EventNodeDeleted:
		return "NodeDeleted"
	case EventNodeDataChanged:
		return "NodeDataChanged"
	case EventNodeChildrenChanged:
		return "NodeChildrenChanged"
	case EventDataWatchRemoved:
		return "DataWatchRemoved"
	case EventChildWatchRemoved:
		return "ChildWatchRemoved"
	case EventPersistentWatchRemoved:
		return "PersistentWatchRemoved"
	}
	return fmt.Sprintf("EventType(%d)", int32(t))
}

// Event is a watch notification: a change to one znode (Type, Path and
// the Zxid of the change; State is StateSyncConnected), or the end of the
// watch (Type EventNone with State StateExpired or StateClosed when its
// session ended, or with Err set when its consumer fell too far behind).
type Event struct {
	Type  EventType
	State State
	Path  string
	Zxid  Zxid
	// Err says why a stream ended when that was not its session's end; nil
	// for every other event.
	Err error
}

// String renders the event for logs and test failures.
func (e Event) String() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("%v %v %s: %v", e.Type, e.State, e.Path, e.Err)
	case e.Type == EventNone:
		return fmt.Sprintf("%v %v", e.Type, e.State)
	}
	return fmt.Sprintf("%v %s %v", e.Type, e.Path, e.Zxid)
}

// State is a session state, with ZooKeeper's KeeperState numbers. An
// embedded session is connected from creation to its end; the other states
// belong to remote clients.
type State int32

// The session states.
const (
	StateDisconnected      State = 0
	StateSyncConnected     State = 3
	StateAuthFailed        State = 4
	StateConnectedReadOnly State = 5
	StateSaslAuthenticated State = 6
	StateClosed            State = 7
	StateExpired           State = -112
)

// String returns ZooKeeper's name for the state.
func (s State) String() string {
	switch s {
	case StateDisconnected:
		return "Disconnected"
	case StateSyncConnected:
		return "SyncConnected"
	case StateAuthFailed:
		return "AuthFailed"
	case StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case StateSaslAuthenticated:
		return "SaslAuthenticated"
	case StateClosed:
		return "Closed"
	case StateExpired:
		return "Expired"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}
