package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/zkembed/zkembed/znode"
)

// errorMessage words err as zkCli 3.8 prints it (CliWrapperException:
// a sentence for the common codes, else KeeperException's message).
func errorMessage(err error) string {
	var pe *parseError
	if errors.As(err, &pe) {
		return pe.msg
	}
	var me *malformed
	if errors.As(err, &me) {
		return me.msg
	}
	path := "null"
	var oe *znode.OpError
	if errors.As(err, &oe) && oe.Path != "" {
		path = oe.Path
	}
	switch {
	case errors.Is(err, ErrUnsupported):
		return err.Error()
	case errors.Is(err, znode.ErrNoNode):
		return "Node does not exist: " + path
	case errors.Is(err, znode.ErrNoChildrenForEphemerals):
		return "Ephemerals cannot have children: " + path
	case errors.Is(err, znode.ErrNodeExists):
		return "Node already exists: " + path
	case errors.Is(err, znode.ErrNotEmpty):
		return "Node not empty: " + path
	case errors.Is(err, znode.ErrNotReadOnly):
		return "Not a read-only call: " + path
	case errors.Is(err, znode.ErrInvalidACL):
		return "Acl is not valid : " + path
	case errors.Is(err, znode.ErrNoAuth):
		return "Insufficient permission : " + path
	case errors.Is(err, znode.ErrBadArguments):
		return "Arguments are not valid : " + path
	case errors.Is(err, znode.ErrBadVersion):
		return "version No is not valid : " + path
	}
	return keeperMessage(err)
}

// keeperMessage is KeeperException.getMessage: "KeeperErrorCode = " and
// the code's name, then " for " and the path when there is one.
func keeperMessage(err error) string {
	msg := "KeeperErrorCode = " + codeMessage(znode.CodeOf(err))
	var oe *znode.OpError
	if errors.As(err, &oe) && oe.Path != "" {
		msg += " for " + oe.Path
	}
	return msg
}

// codeMessage is KeeperException.getCodeMessage.
func codeMessage(c znode.Code) string {
	switch c {
	case znode.CodeOK:
		return "ok"
	case znode.CodeSystemError:
		return "SystemError"
	case znode.CodeRuntimeInconsistency:
		return "RuntimeInconsistency"
	case znode.CodeDataInconsistency:
		return "DataInconsistency"
	case znode.CodeConnectionLoss:
		return "ConnectionLoss"
	case znode.CodeMarshallingError:
		return "MarshallingError"
	case znode.CodeNewConfigNoQuorum:
		return "NewConfigNoQuorum"
	case znode.CodeReconfigInProgress:
		return "ReconfigInProgress"
	case znode.CodeUnimplemented:
		return "Unimplemented"
	case znode.CodeOperationTimeout:
		return "OperationTimeout"
	case znode.CodeBadArguments:
		return "BadArguments"
	case znode.CodeUnknownSession:
		return "Unknown session"
	case znode.CodeAPIError:
		return "APIError"
	case znode.CodeNoNode:
		return "NoNode"
	case znode.CodeNoAuth:
		return "NoAuth"
	case znode.CodeBadVersion:
		return "BadVersion"
	case znode.CodeNoChildrenForEphemerals:
		return "NoChildrenForEphemerals"
	case znode.CodeNodeExists:
		return "NodeExists"
	case znode.CodeInvalidACL:
		return "InvalidACL"
	case znode.CodeAuthFailed:
		return "AuthFailed"
	case znode.CodeSessionExpired:
		return "Session expired"
	case znode.CodeNotEmpty:
		return "Directory not empty"
	case znode.CodeSessionMoved:
		return "Session moved"
	case znode.CodeNotReadOnly:
		return "Not a read-only call"
	case znode.CodeEphemeralOnLocalSession:
		return "Ephemeral node on local session"
	case znode.CodeNoWatcher:
		return "No such watcher"
	case znode.CodeReconfigDisabled:
		return "Reconfig is disabled"
	case znode.CodeSessionClosedRequireSASLAuth:
		return "Session closed because client failed to authenticate"
	case znode.CodeQuotaExceeded:
		return "Quota has exceeded"
	case znode.CodeThrottledOp:
		return "Op throttled due to high load"
	case znode.CodeRequestTimeout:
		return "Request timeout"
	case znode.CodeInvalidCallback:
		return "Invalid callback"
	}
	return "Unknown error " + strconv.Itoa(int(c))
}

// malformed is an error zkCli reports with its message alone: a usage
// line, a bad path, a bad flag value.
type malformed struct{ msg string }

func (e *malformed) Error() string { return e.msg }

func malformedf(format string, args ...any) error {
	return &malformed{fmt.Sprintf(format, args...)}
}

// checkPath is ZooKeeper's client-side PathUtils.validatePath, with its
// messages: the ZooKeeper client rejects a bad path before sending
// anything, and zkCli prints the reason. Indexes count UTF-16 code units,
// as Java's do. A sequential create validates path+"1".
func checkPath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	if path == "" {
		return malformedf("Path length must be > 0")
	}
	if path[0] != '/' {
		return malformedf("Path must start with / character")
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return malformedf("Path must not end with / character")
	}
	chars := utf16.Encode([]rune(path))
	last := uint16('/')
	for i := 1; i < len(chars); i++ {
		c := chars[i]
		end := i+1 == len(chars) || chars[i+1] == '/'
		reason := ""
		switch {
		case c == 0:
			reason = "null character not allowed @" + strconv.Itoa(i)
		case c == '/' && last == '/':
			reason = "empty node name specified @" + strconv.Itoa(i)
		case c == '.' && last == '.':
			if chars[i-2] == '/' && end {
				reason = "relative paths not allowed @" + strconv.Itoa(i)
			}
		case c == '.':
			if chars[i-1] == '/' && end {
				reason = "relative paths not allowed @" + strconv.Itoa(i)
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			reason = "invalid character @" + strconv.Itoa(i)
		}
		if reason != "" {
			return malformedf("Invalid path string \"%s\" caused by %s", path, reason)
		}
		last = c
	}
	return nil
}

// parseACL is zkCli's AclParser: comma-separated scheme:id:perms entries,
// the id being everything between the first and the last colon. A
// malformed entry is reported to warn and skipped, an unknown permission
// letter likewise, as zkCli does; the caller rejects an empty list.
func parseACL(s string, warn func(string)) []znode.ACL {
	var list []znode.ACL
	parts := strings.Split(s, ",")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1] // Java's split drops trailing empty strings
	}
	for _, part := range parts {
		first := strings.IndexByte(part, ':')
		last := strings.LastIndexByte(part, ':')
		if first < 0 || first == last {
			warn(part + " does not have the form scheme:id:perm")
			continue
		}
		list = append(list, znode.ACL{
			Perms: parsePerms(part[last+1:], warn),
			ID:    znode.ID{Scheme: part[:first], ID: part[first+1 : last]},
		})
	}
	return list
}

func parsePerms(s string, warn func(string)) znode.Perm {
	var p znode.Perm
	for _, c := range s {
		switch c {
		case 'r':
			p |= znode.PermRead
		case 'w':
			p |= znode.PermWrite
		case 'c':
			p |= znode.PermCreate
		case 'd':
			p |= znode.PermDelete
		case 'a':
			p |= znode.PermAdmin
		default:
			warn("Unknown perm type: " + string(c))
		}
	}
	return p
}

// formatStat renders a Stat as zkCli's StatPrinter: zxids in hex, times
// as java.util.Date prints them (in the process's time zone).
func formatStat(st znode.Stat) string {
	date := func(ms int64) string { return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006") }
	return fmt.Sprintf("cZxid = 0x%x\nctime = %s\nmZxid = 0x%x\nmtime = %s\npZxid = 0x%x\ncversion = %d\ndataVersion = %d\naclVersion = %d\nephemeralOwner = 0x%x\ndataLength = %d\nnumChildren = %d\n",
		uint64(st.Czxid), date(st.Ctime), uint64(st.Mzxid), date(st.Mtime), uint64(st.Pzxid), st.Cversion, st.Version, st.Aversion, uint64(st.EphemeralOwner), st.DataLength, st.NumChildren)
}
