package wire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultMaxFrame is ZooKeeper's default jute.maxbuffer: the largest
// frame a server accepts (0xfffff bytes).
const DefaultMaxFrame = 0xfffff

// ErrFrameTooLarge is returned by ReadFrame for a length prefix outside
// [0, max]. ZooKeeper closes the connection on it, and so does the server.
var ErrFrameTooLarge = fmt.Errorf("wire: frame length out of range: %w", ErrMalformed)

// ReadFrame reads one length-prefixed frame of at most max bytes into buf
// (grown if need be) and returns it.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || int(n) > max {
		return nil, fmt.Errorf("%w: %d (max %d)", ErrFrameTooLarge, n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// BeginFrame starts a frame in e: a placeholder length that EndFrame fills
// in. It returns the frame's start.
func BeginFrame(e *Encoder) int {
	start := len(e.B)
	e.Int(0)
	return start
}

// EndFrame sets the length of the frame begun at start.
func EndFrame(e *Encoder, start int) {
	binary.BigEndian.PutUint32(e.B[start:], uint32(len(e.B)-start-4))
}
