package recipe

import (
	"bytes"
	"errors"
	"testing"
)

// A counter's data, whatever a node holds, decodes without panicking: to
// 0 when empty, to the value encodeCounter wrote when 8 bytes, and to
// ErrBadCounterValue otherwise.
func FuzzDecodeCounter(f *testing.F) {
	for _, b := range [][]byte{nil, {1}, encodeCounter(-1), encodeCounter(1 << 40), []byte("123456789")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeCounter(data)
		switch len(data) {
		case 0:
			if err != nil || v != 0 {
				t.Fatalf("empty data: %d, %v", v, err)
			}
		case 8:
			if err != nil || !bytes.Equal(encodeCounter(v), data) {
				t.Fatalf("%x: %d, %v", data, v, err)
			}
		default:
			if !errors.Is(err, ErrBadCounterValue) {
				t.Fatalf("%x (%d bytes): %d, %v", data, len(data), v, err)
			}
		}
	})
}
