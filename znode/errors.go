package znode

import (
	"errors"
	"strconv"
)

// Code is a ZooKeeper error code (KeeperException.Code). Every sentinel error
// of zkembed is a Code, so errors.Is(err, ErrNoNode) is a comparison of
// numbers, and CodeOf recovers the number from any wrapped error.
type Code int32

// The ZooKeeper 3.8 error codes. The names follow KeeperException.Code.
const (
	CodeOK                           Code = 0
	CodeSystemError                  Code = -1
	CodeRuntimeInconsistency         Code = -2
	CodeDataInconsistency            Code = -3
	CodeConnectionLoss               Code = -4
	CodeMarshallingError             Code = -5
	CodeUnimplemented                Code = -6
	CodeOperationTimeout             Code = -7
	CodeBadArguments                 Code = -8
	CodeUnknownSession               Code = -12
	CodeNewConfigNoQuorum            Code = -13
	CodeReconfigInProgress           Code = -14
	CodeAPIError                     Code = -100
	CodeNoNode                       Code = -101
	CodeNoAuth                       Code = -102
	CodeBadVersion                   Code = -103
	CodeNoChildrenForEphemerals      Code = -108
	CodeNodeExists                   Code = -110
	CodeNotEmpty                     Code = -111
	CodeSessionExpired               Code = -112
	CodeInvalidCallback              Code = -113
	CodeInvalidACL                   Code = -114
	CodeAuthFailed                   Code = -115
	CodeSessionMoved                 Code = -118
	CodeNotReadOnly                  Code = -119
	CodeEphemeralOnLocalSession      Code = -120
	CodeNoWatcher                    Code = -121
	CodeRequestTimeout               Code = -122
	CodeReconfigDisabled             Code = -123
	CodeSessionClosedRequireSASLAuth Code = -124
	CodeQuotaExceeded                Code = -125
	CodeThrottledOp                  Code = -127
)

// The sentinel errors, one per ZooKeeper error code. Match them with
// errors.Is; the errors zkembed returns wrap them in an *OpError.
var (
	ErrSystemError                  error = CodeSystemError
	ErrRuntimeInconsistency         error = CodeRuntimeInconsistency
	ErrDataInconsistency            error = CodeDataInconsistency
	ErrConnectionLoss               error = CodeConnectionLoss
	ErrMarshallingError             error = CodeMarshallingError
	ErrUnimplemented                error = CodeUnimplemented
	ErrOperationTimeout             error = CodeOperationTimeout
	ErrBadArguments                 error = CodeBadArguments
	ErrUnknownSession               error = CodeUnknownSession
	ErrNewConfigNoQuorum            error = CodeNewConfigNoQuorum
	ErrReconfigInProgress           error = CodeReconfigInProgress
	ErrAPIError                     error = CodeAPIError
	ErrNoNode                       error = CodeNoNode
	ErrNoAuth                       error = CodeNoAuth
	ErrBadVersion                   error = CodeBadVersion
	ErrNoChildrenForEphemerals      error = CodeNoChildrenForEphemerals
	ErrNodeExists                   error = CodeNodeExists
	ErrNotEmpty                     error = CodeNotEmpty
	ErrSessionExpired               error = CodeSessionExpired
	ErrInvalidCallback              error = CodeInvalidCallback
	ErrInvalidACL                   error = CodeInvalidACL
	ErrAuthFailed                   error = CodeAuthFailed
	ErrSessionMoved                 error = CodeSessionMoved
	ErrNotReadOnly                  error = CodeNotReadOnly
	ErrEphemeralOnLocalSession      error = CodeEphemeralOnLocalSession
	ErrNoWatcher                    error = CodeNoWatcher
	ErrRequestTimeout               error = CodeRequestTimeout
	ErrReconfigDisabled             error = CodeReconfigDisabled
	ErrSessionClosedRequireSASLAuth error = CodeSessionClosedRequireSASLAuth
	ErrQuotaExceeded                error = CodeQuotaExceeded
	ErrThrottledOp                  error = CodeThrottledOp
)

var codeNames = map[Code]string{
	CodeOK:                           "ok",
	CodeSystemError:                  "system error",
	CodeRuntimeInconsistency:         "runtime inconsistency",
	CodeDataInconsistency:            "data inconsistency",
	CodeConnectionLoss:               "connection loss",
	CodeMarshallingError:             "marshalling error",
	CodeUnimplemented:                "unimplemented",
	CodeOperationTimeout:             "operation timeout",
	CodeBadArguments:                 "bad arguments",
	CodeUnknownSession:               "unknown session",
	CodeNewConfigNoQuorum:            "no quorum of new config is connected",
	CodeReconfigInProgress:           "another reconfiguration is in progress",
	CodeAPIError:                     "api error",
	CodeNoNode:                       "node does not exist",
	CodeNoAuth:                       "not authenticated",
	CodeBadVersion:                   "version conflict",
	CodeNoChildrenForEphemerals:      "ephemeral nodes may not have children",
	CodeNodeExists:                   "node already exists",
	CodeNotEmpty:                     "node has children",
	CodeSessionExpired:               "session expired",
	CodeInvalidCallback:              "invalid callback",
	CodeInvalidACL:                   "invalid ACL specified",
	CodeAuthFailed:                   "authentication failed",
	CodeSessionMoved:                 "session moved to another server",
	CodeNotReadOnly:                  "not a read-only call",
	CodeEphemeralOnLocalSession:      "ephemeral node on local session",
	CodeNoWatcher:                    "no such watcher",
	CodeRequestTimeout:               "request timeout",
	CodeReconfigDisabled:             "reconfig is disabled",
	CodeSessionClosedRequireSASLAuth: "session closed because client failed to authenticate",
	CodeQuotaExceeded:                "quota has exceeded",
	CodeThrottledOp:                  "op throttled due to high load",
}

// Error returns the code's message, as ZooKeeper's KeeperException words it.
func (c Code) Error() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "zookeeper error " + strconv.Itoa(int(c))
}

// CodeOf returns the ZooKeeper code of err: CodeOK for nil, the wrapped Code
// when there is one, and CodeSystemError for any other error.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return CodeSystemError
}

// OpError is the error every zkembed operation returns: the operation, the
// path it concerned and the cause, which wraps one sentinel Code.
type OpError struct {
	Op   string // "create", "delete", "setData", ...
	Path string // the path as the caller gave it (the final name for sequential creates)
	Err  error  // a Code, or an error wrapping one (such as *PathError)
}

// Error implements error: "zkembed: create /a/b: node does not exist".
func (e *OpError) Error() string {
	if e.Path == "" {
		return "zkembed: " + e.Op + ": " + e.Err.Error()
	}
	return "zkembed: " + e.Op + " " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }
