package shell

import (
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/znode"
)

// watchSet is the kinds of watch the shell's session holds on one path.
// The ZooKeeper client keeps this table (ZKWatchManager): removewatches
// checks it before asking the server, and the removal events it prints
// come from it.
type watchSet uint8

const (
	watchData watchSet = 1 << iota
	watchExist
	watchChild
	watchPersistent
	watchRecursive
)

// set records a watch the server accepted.
func (sh *Shell) set(path string, w watchSet) { sh.watches[path] |= w }

// fired forgets the one-shot watches ev triggered, as the ZooKeeper
// client does when it delivers the event; the session's end forgets all.
func (sh *Shell) fired(ev znode.Event) {
	var gone watchSet
	switch ev.Type {
	case znode.EventNodeCreated, znode.EventNodeDataChanged:
		gone = watchData | watchExist
	case znode.EventNodeChildrenChanged:
		gone = watchChild
	case znode.EventNodeDeleted:
		gone = watchData | watchExist | watchChild
	case znode.EventNone:
		if ev.State == znode.StateExpired || ev.State == znode.StateClosed || ev.State == znode.StateAuthFailed {
			clear(sh.watches)
		}
		return
	default:
		return
	}
	if w := sh.watches[ev.Path] &^ gone; w == 0 {
		delete(sh.watches, ev.Path)
	} else {
		sh.watches[ev.Path] = w
	}
}

// removal returns the watches of kind held on path and the events their
// removal delivers, in the order the shell prints them.
func (sh *Shell) removal(path string, kind zkembed.WatcherType) (watchSet, []znode.EventType) {
	held := sh.watches[path]
	var drop watchSet
	var events []znode.EventType
	if (kind == zkembed.WatcherTypeChildren || kind == zkembed.WatcherTypeAny) && held&watchChild != 0 {
		drop |= watchChild
		events = append(events, znode.EventChildWatchRemoved)
	}
	if (kind == zkembed.WatcherTypeData || kind == zkembed.WatcherTypeAny) && held&(watchData|watchExist) != 0 {
		drop |= held & (watchData | watchExist)
		events = append(events, znode.EventDataWatchRemoved)
	}
	if kind == zkembed.WatcherTypeAny && held&(watchPersistent|watchRecursive) != 0 {
		drop |= held & (watchPersistent | watchRecursive)
		events = append(events, znode.EventPersistentWatchRemoved)
	}
	return drop, events
}

// forget drops watches from the table.
func (sh *Shell) forget(path string, w watchSet) {
	if left := sh.watches[path] &^ w; left == 0 {
		delete(sh.watches, path)
	} else {
		sh.watches[path] = left
	}
}
