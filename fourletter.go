package zkembed

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/zkembed/zkembed/tree"
	"github.com/zkembed/zkembed/watch"
)

// Four-letter words: a connection whose first four bytes spell one of them
// gets a plain-text answer and is closed, as ZooKeeper's NIOServerCnxn
// does (all words enabled, as with 4lw.commands.whitelist=*). The formats
// follow ZooKeeper 3.8's; figures ZooKeeper has and zkembed does not (JVM
// memory, latency histograms per namespace) are left out.

// Version is what srvr, stat, mntr and envi report as the server version.
const Version = "3.8.0-zkembed"

var fourLetterWords = map[string]bool{
	"ruok": true, "srvr": true, "stat": true, "mntr": true, "cons": true, "wchs": true, "wchc": true,
	"wchp": true, "dump": true, "envi": true, "conf": true, "isro": true, "dirs": true, "crst": true,
	"srst": true, "gtmk": true, "stmk": true, "hash": true,
}

// defaultTraceMask is ZooTrace's text trace level at start, which gtmk
// reports and stmk replaces. zkembed keeps it for the words' sake only:
// it has no trace log to filter.
const defaultTraceMask = 306

// fourLetter returns the answer to word.
func (s *Server) fourLetter(word string) string {
	db := s.db
	var b strings.Builder
	switch word {
	case "ruok":
		return "imok"
	case "crst":
		for _, ci := range s.connList() {
			ci.c.received.Store(0)
			ci.c.sentN.Store(0)
		}
		return "Connection stats reset.\n"
	case "srst":
		s.received.Store(0)
		s.sent.Store(0)
		return "Server stats reset.\n"
	case "gtmk":
		return fmt.Sprint(s.traceMask.Load())
	case "hash":
		// ZooKeeper lists its digest history (a digest every 128 zxids);
		// zkembed tracks one digest, of its own kind (tree.Digest), and
		// shows it for the last zxid.
		if d, ok := db.readRoot().Digest(); ok {
			fmt.Fprintf(&b, "%x: %d\n", int64(db.LastZxid()), d)
		}
	case "isro":
		return "rw"
	case "srvr", "stat":
		fmt.Fprintf(&b, "Zookeeper version: %s, built on %s\n", Version, buildTime)
		if word == "stat" {
			b.WriteString("Clients:\n")
			for _, ci := range s.connList() {
				fmt.Fprintf(&b, " /%s[1](queued=0,recved=%d,sent=%d)\n", ci.c.nc.RemoteAddr(), ci.c.received.Load(), ci.c.sentN.Load())
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Latency min/avg/max: 0/0.0/0\nReceived: %d\nSent: %d\nConnections: %d\nOutstanding: 0\nZxid: %#x\nMode: standalone\nNode count: %d\n",
			s.received.Load(), s.sent.Load(), len(s.connList()), int64(db.LastZxid()), nodeCount(db.readRoot()))
	case "mntr":
		t := db.readRoot()
		watches := s.watchCount()
		db.mu.Lock()
		sessions := len(db.mu.sessions)
		db.mu.Unlock()
		for _, kv := range [][2]any{
			{"zk_version", Version + ", built on " + buildTime},
			{"zk_server_state", "standalone"},
			{"zk_ephemerals_count", t.EphemeralCount()},
			{"zk_num_alive_connections", len(s.connList())},
			{"zk_avg_latency", "0.0"},
			{"zk_outstanding_requests", 0},
			{"zk_znode_count", nodeCount(t)},
			{"zk_global_sessions", sessions},
			{"zk_packets_sent", s.sent.Load()},
			{"zk_packets_received", s.received.Load()},
			{"zk_watch_count", watches},
			{"zk_min_latency", 0},
			{"zk_max_latency", 0},
			{"zk_uptime", time.Since(s.started).Milliseconds()},
		} {
			fmt.Fprintf(&b, "%s\t%v\n", kv[0], kv[1])
		}
	case "cons":
		for _, ci := range s.connList() {
			c := ci.c
			fmt.Fprintf(&b, " /%s[1](queued=0,recved=%d,sent=%d", c.nc.RemoteAddr(), c.received.Load(), c.sentN.Load())
			if ci.session != 0 { // ZooKeeper shows these for a connection with a session only
				fmt.Fprintf(&b, ",sid=%#x,est=%d", ci.session, c.opened.UnixMilli())
			}
			b.WriteString(")\n")
		}
		b.WriteString("\n")
	case "wchs":
		total, bySession, byPath := s.watchTables()
		fmt.Fprintf(&b, "%d connections watching %d paths\nTotal watches:%d\n", len(bySession), len(byPath), total)
	case "wchc":
		_, bySession, _ := s.watchTables()
		writeGroups(&b, bySession, "%#x\n", "\t%s\n")
	case "wchp":
		_, _, byPath := s.watchTables()
		writeGroups(&b, byPath, "%s\n", "\t%#x\n")
	case "dump":
		b.WriteString("SessionTracker dump:\n")
		db.mu.Lock()
		ids := sortedSessionIDs(db.mu.sessions)
		db.mu.Unlock()
		fmt.Fprintf(&b, "Session Sets (%d):\n", len(ids))
		for _, id := range ids {
			fmt.Fprintf(&b, "\t%#x\n", id)
		}
		t := db.readRoot()
		b.WriteString("ephemeral nodes dump:\n")
		type owned struct {
			id    int64
			paths []string
		}
		var owners []owned
		for _, id := range ids {
			if paths := t.EphemeralsWithPrefix(id, "/"); len(paths) > 0 {
				owners = append(owners, owned{id, paths})
			}
		}
		fmt.Fprintf(&b, "Sessions with Ephemerals (%d):\n", len(owners))
		for _, o := range owners {
			fmt.Fprintf(&b, "%#x:\n", o.id)
			for _, p := range o.paths {
				fmt.Fprintf(&b, "\t%s\n", p)
			}
		}
	case "envi":
		host, _ := os.Hostname()
		wd, _ := os.Getwd()
		fmt.Fprintf(&b, "Environment:\nzookeeper.version=%s, built on %s\nhost.name=%s\ngo.version=%s\nos.name=%s\nos.arch=%s\nuser.dir=%s\n",
			Version, buildTime, host, runtime.Version(), runtime.GOOS, runtime.GOARCH, wd)
	case "conf":
		o := db.opts
		fmt.Fprintf(&b, "dataDir=%s\nmaxClientCnxns=0\nminSessionTimeout=%d\nmaxSessionTimeout=%d\nserverId=0\n",
			db.dir, o.MinSessionTimeout.Milliseconds(), o.MaxSessionTimeout.Milliseconds())
	case "dirs":
		size := dirSize(db.dir)
		fmt.Fprintf(&b, "datadir_size: %d\nlogdir_size: %d\n", size, size)
	}
	return b.String()
}

// buildTime stands in for ZooKeeper's build date.
const buildTime = "zkembed"

// nodeCount is ZooKeeper's node count: its table holds the root twice (as
// "" and "/"), so a fresh server reports 5.
func nodeCount(t *tree.Tree) int { return t.Len() + 1 }

// connInfo is an open connection and the id of its session (0 while it
// has none), read under Server.mu, where the handshake sets it.
type connInfo struct {
	c       *conn
	session int64
}

// connList lists every open connection, as ZooKeeper's does (the one
// asking included, and any still in its handshake), oldest first.
func (s *Server) connList() []connInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := make([]connInfo, 0, len(s.conns))
	for c := range s.conns {
		ci := connInfo{c: c}
		if c.sess != nil {
			ci.session = c.sess.st.id
		}
		conns = append(conns, ci)
	}
	slices.SortFunc(conns, func(a, b connInfo) int { return a.c.opened.Compare(b.c.opened) })
	return conns
}

// watchTables lists the watches the way ZooKeeper's wchs/wchc/wchp see
// them: its data-watch table only (data, exists and persistent watches;
// 3.8 does not list child watches there), one entry per session and path.
func (s *Server) watchTables() (total int, bySession map[int64][]string, byPath map[string][]int64) {
	db := s.db
	bySession, byPath = map[int64][]string{}, map[string][]int64{}
	seen := map[struct {
		id int64
		p  string
	}]bool{}
	db.watchMu.Lock()
	db.watches.Each(func(id int64, p string, k watch.Kind) {
		if k == watch.Child {
			return
		}
		key := struct {
			id int64
			p  string
		}{id, p}
		if seen[key] {
			return
		}
		seen[key] = true
		total++
		bySession[id] = append(bySession[id], p)
		byPath[p] = append(byPath[p], id)
	})
	db.watchMu.Unlock()
	for _, v := range bySession {
		slices.Sort(v)
	}
	for _, v := range byPath {
		slices.Sort(v)
	}
	return total, bySession, byPath
}

// watchCount is ZooKeeper's zk_watch_count: the entries of its data-watch
// table (data, exists, persistent and recursive watches) plus those of its
// child-watch table (child, persistent and recursive watches), one per
// session and path in each.
func (s *Server) watchCount() int {
	type entry struct {
		id    int64
		path  string
		child bool
	}
	seen := map[entry]bool{}
	s.db.watchMu.Lock()
	s.db.watches.Each(func(id int64, p string, k watch.Kind) {
		if k != watch.Child {
			seen[entry{id, p, false}] = true
		}
		if k == watch.Child || k == watch.Persistent || k == watch.Recursive {
			seen[entry{id, p, true}] = true
		}
	})
	s.db.watchMu.Unlock()
	return len(seen)
}

// writeGroups writes each key of m, in order, with its values below it,
// and a blank line after them all (wchc and wchp).
func writeGroups[K int64 | string, V any](b *strings.Builder, m map[K][]V, keyFormat, valueFormat string) {
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(b, keyFormat, k)
		for _, v := range m[k] {
			fmt.Fprintf(b, valueFormat, v)
		}
	}
	b.WriteString("\n")
}

func sortedKeys[K int64 | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dirSize is the bytes of the files under dir ("" for memory: 0).
func dirSize(dir string) int64 {
	if dir == "" {
		return 0
	}
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			n += info.Size()
		}
	}
	return n
}
