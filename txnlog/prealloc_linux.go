package txnlog

import "syscall"

// fallocateSized allocates [offset, offset+length) of the file and extends
// its size over the range (fallocate mode 0: the range reads as zeros).
func fallocateSized(fd uintptr, offset, length int64) error {
	return syscall.Fallocate(int(fd), 0, offset, length)
}
