package snapshot

import "syscall"

// lowerThreadPriority adds by to the nice value of the calling thread
// (up to 19, the lowest priority). On Linux every thread has its own nice
// value, so this leaves the process's other threads as they are. The
// caller must have locked its goroutine to the thread, and must exit with
// it still locked, so that the runtime discards the thread rather than
// reusing it for other goroutines at the lower priority (raising it back
// would need privileges).
func lowerThreadPriority(by int) error {
	tid := syscall.Gettid()
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return err
	}
	nice := 20 - prio // the raw syscall returns 20 - nice, in 1..40
	return syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(nice+by, 19))
}
