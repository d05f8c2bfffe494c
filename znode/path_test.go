package znode_test

import (
	"errors"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed/znode"
)

// The rules of SEMANTICS.md §1.1, one row each.
func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/a", true},
		{"/a/b/c", true},
		{"/...", true},
		{"/.a", true},
		{"/a.", true},
		{"/a/..b", true},
		{"/a b", true},
		{"/\u00a0", true},
		{"/é/ü/日本", true},
		{"/\uffef", true},  // just below the rejected range
		{"/\uf900", true},  // just above the private-use range
		{"", false},        // empty
		{"a", false},       // relative
		{"a/b", false},     // relative
		{"/a/", false},     // trailing slash
		{"//", false},      // trailing slash
		{"//a", false},     // empty name
		{"/a//b", false},   // empty name
		{"/.", false},      // relative element
		{"/..", false},     // relative element
		{"/a/./b", false},  // relative element
		{"/a/../b", false}, // relative element
		{"/a/.", false},
		{"/a\x00b", false},        // NUL
		{"/a\x01", false},         // control
		{"/a\x1f", false},         // control
		{"/a\x7f", false},         // DEL
		{"/a\u0080", false},       // C1 control
		{"/a\u009f", false},       // C1 control
		{"/a\ud7ff", true},        // last allowed before the surrogate range
		{"/a\ue000", false},       // private use
		{"/a\uf8ff", false},       // private use
		{"/a\ufff0", false},       // specials
		{"/a\uffff", false},       // noncharacter
		{"/a\U0001F600", false},   // non-BMP: a surrogate pair in Java
		{"/a\xff", false},         // invalid UTF-8
		{"/a\xed\xa0\x80", false}, // an encoded surrogate is invalid UTF-8
	}
	for _, tt := range tests {
		err := znode.ValidatePath(tt.path)
		if tt.ok {
			assert.NoError(t, err, "%q", tt.path)
			continue
		}
		if assert.Error(t, err, "%q", tt.path) {
			assert.ErrorIs(t, err, znode.ErrBadArguments)
			var pe *znode.PathError
			assert.True(t, errors.As(err, &pe))
			assert.Equal(t, znode.CodeBadArguments, znode.CodeOf(err))
		}
	}
}

// javaValidatePath is a literal port of PathUtils.validatePath (3.8.0),
// working on UTF-16 code units as Java does.
func javaValidatePath(path string) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	if len(path) == 1 {
		return true
	}
	if path[len(path)-1] == '/' {
		return false
	}
	chars := utf16.Encode([]rune(path))
	lastc := chars[0]
	for i := 1; i < len(chars); lastc, i = chars[i], i+1 {
		c := chars[i]
		switch {
		case c == 0:
			return false
		case c == '/' && lastc == '/':
			return false
		case c == '.' && lastc == '.':
			if chars[i-2] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				return false
			}
		case c == '.':
			if chars[i-1] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				return false
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			return false
		}
	}
	return true
}

func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"/", "/a", "//", "/a/", "/./a", "/a/..", "/...", "/a\x00", "/\u00e9", "/\U0001F600", "/\ue000", "/a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		err := znode.ValidatePath(path)
		if !utf8.ValidString(path) {
			require.Error(t, err, "invalid UTF-8 must be rejected: %q", path)
			return
		}
		require.Equal(t, javaValidatePath(path), err == nil, "%q: zkembed says %v", path, err)
		if err != nil {
			require.ErrorIs(t, err, znode.ErrBadArguments)
		}
	})
}

func TestSplitJoin(t *testing.T) {
	tests := []struct{ path, parent, name string }{
		{"/", "", ""},
		{"/a", "/", "a"},
		{"/a/b", "/a", "b"},
		{"/a/b/c", "/a/b", "c"},
		{"a", "", "a"},
		{"/a/", "/a", ""},
	}
	for _, tt := range tests {
		parent, name := znode.Split(tt.path)
		assert.Equal(t, tt.parent, parent, tt.path)
		assert.Equal(t, tt.name, name, tt.path)
	}
	assert.Equal(t, "/a", znode.Join("/", "a"))
	assert.Equal(t, "/a/b", znode.Join("/a", "b"))
}

func TestSequentialName(t *testing.T) {
	assert.Equal(t, "/a/x-0000000000", znode.SequentialName("/a/x-", 0))
	assert.Equal(t, "/a/0000000042", znode.SequentialName("/a/", 42))
	assert.Equal(t, "/s2147483647", znode.SequentialName("/s", 2147483647))
}
