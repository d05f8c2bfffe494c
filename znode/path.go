package znode

import (
	"fmt"
	"strings"
)

// ValidatePath reports whether path is a valid absolute znode path, using
// ZooKeeper's rules in ZooKeeper's order (PathUtils.validatePath). The error
// wraps ErrBadArguments and says which rule failed.
//
// Java checks UTF-16 code units; a Go string holds UTF-8, so every rune at or
// above U+10000 (a surrogate pair in Java) is rejected. Invalid UTF-8 is
// rejected too: range yields U+FFFD for it, which is in the U+FFF0–U+FFFF
// range ZooKeeper rejects.
func ValidatePath(path string) error {
	if path == "" {
		return badPath(path, "path length must be > 0")
	}
	if path[0] != '/' {
		return badPath(path, "path must start with / character")
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return badPath(path, "path must not end with / character")
	}
	prev := '/'
	for i, r := range path[1:] {
		i++ // index into path, for messages
		var reason string
		switch {
		case r == 0:
			reason = "null character not allowed"
		case r == '/' && prev == '/':
			reason = "empty node name specified"
		case r == '.' && prev == '.' && path[i-2] == '/' && (i+1 == len(path) || path[i+1] == '/'):
			reason = "relative paths not allowed"
		case r == '.' && prev == '/' && (i+1 == len(path) || path[i+1] == '/'):
			reason = "relative paths not allowed"
		case r < 0x20, r >= 0x7f && r <= 0x9f, r >= 0xd800 && r <= 0xf8ff, r >= 0xfff0:
			reason = fmt.Sprintf("invalid character %U", r)
		}
		if reason != "" {
			return badPath(path, fmt.Sprintf("%s @%d", reason, i))
		}
		prev = r
	}
	return nil
}

func badPath(path, reason string) error {
	return &PathError{Path: path, Reason: reason}
}

// PathError explains why a path is invalid. It matches ErrBadArguments with
// errors.Is, because that is the code ZooKeeper's server answers with.
type PathError struct {
	Path   string
	Reason string
}

// Error implements error.
func (e *PathError) Error() string {
	return fmt.Sprintf("invalid path %q: %s", e.Path, e.Reason)
}

// Unwrap returns ErrBadArguments.
func (e *PathError) Unwrap() error { return ErrBadArguments }

// Split returns the parent path and the last element of path. It does not
// validate: Split("/a/b") is ("/a", "b"), Split("/a") is ("/", "a"), and a
// path without a slash has parent "" (which no parent lookup finds). The root
// "/" splits into ("", "").
func Split(path string) (parent, name string) {
	i := strings.LastIndexByte(path, '/')
	switch {
	case i < 0:
		return "", path
	case path == "/":
		return "", ""
	case i == 0:
		return "/", path[1:]
	default:
		return path[:i], path[i+1:]
	}
}

// Join returns the path of child name under parent.
func Join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// SequentialName appends ZooKeeper's sequential suffix (%010d of the parent's
// stored cversion) to path.
func SequentialName(path string, seq int32) string {
	return fmt.Sprintf("%s%010d", path, seq)
}

// IsSystemPath reports whether path is one of the built-in nodes that cannot
// be deleted: "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config".
func IsSystemPath(path string) bool {
	switch path {
	case "/", ZookeeperPath, QuotaPath, ConfigPath:
		return true
	}
	return false
}

// The built-in paths that exist in every tree.
const (
	ZookeeperPath = "/zookeeper"
	QuotaPath     = "/zookeeper/quota"
	ConfigPath    = "/zookeeper/config"
)
