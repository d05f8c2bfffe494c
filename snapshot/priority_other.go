//go:build !linux

package snapshot

// lowerThreadPriority does nothing: outside Linux a nice value belongs to
// the whole process, whose other threads must not be slowed down.
func lowerThreadPriority(int) error { return nil }
