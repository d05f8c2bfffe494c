package zkembed

// SetAttachHook makes every wire handshake call f with its session's id
// just before its connection attaches to the session, until the returned
// function removes it. Tests use it to order racing handshakes.
func SetAttachHook(f func(session int64)) (remove func()) {
	attachHook.Store(&f)
	return func() { attachHook.Store(nil) }
}
