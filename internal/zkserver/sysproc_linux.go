//go:build linux

package zkserver

import "syscall"

// sysProcAttr makes the kernel SIGKILL the JVM when the test process dies, so
// no server outlives a crashed or timed-out test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
