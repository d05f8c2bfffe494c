package zkembed

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A touch that read the clock before a later touch stored its time must not
// move lastTouch back (found in review: it let a session expire early).
func TestTouchNeverMovesBack(t *testing.T) {
	s := newSessionState(1, 4000)
	s.touch(3000)
	s.touch(1000)
	assert.Equal(t, int64(3000), s.lastTouch.Load())
	s.touch(5000)
	assert.Equal(t, int64(5000), s.lastTouch.Load())
}
