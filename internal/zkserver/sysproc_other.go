//go:build !linux

package zkserver

import "syscall"

// sysProcAttr returns nil: parent-death signals are Linux-only, so elsewhere
// a server is stopped only by Stop / StopShared.
func sysProcAttr() *syscall.SysProcAttr { return nil }
