// Package wire is ZooKeeper's client protocol as bytes: jute's binary
// encoding, the records of the 3.8 protocol (connect handshake, request and
// reply headers, every request body, notifications), op codes and special
// xids, and length-prefixed frames. It knows nothing of sessions or trees;
// the engine's server (package zkembed) gives the records their meaning.
//
// Decoding never panics and never allocates more than the input can back:
// every length is checked against the bytes left before anything is made,
// and the first failure sticks (ErrMalformed, which matches
// znode.ErrMarshallingError). Frames longer than the limit, ZooKeeper's
// jute.maxbuffer by default, are refused before they are read.
package wire
