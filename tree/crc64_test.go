package tree

import (
	"hash/crc64"
	"math/rand/v2"
	"strconv"
	"testing"
)

var ecmaTable = crc64.MakeTable(crc64.ECMA)

// Every length up to 1 KiB, across both loops and the byte loop, at
// offsets that are not 8-byte aligned too.
func TestCRC64MatchesTheStandardLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 64))
	buf := make([]byte, 1024+7)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 1024; n++ {
		for _, off := range []int{0, 1, 7} {
			p := buf[off : off+n]
			if got, want := crc64ECMA(p), crc64.Checksum(p, ecmaTable); got != want {
				t.Fatalf("%d bytes at offset %d: %#016x, want %#016x", n, off, got, want)
			}
		}
	}
}

func FuzzCRC64(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte("/a/b"))
	f.Add(make([]byte, 159))
	f.Fuzz(func(t *testing.T, p []byte) {
		if got, want := crc64ECMA(p), crc64.Checksum(p, ecmaTable); got != want {
			t.Fatalf("%x: %#016x, want %#016x", p, got, want)
		}
	})
}

func BenchmarkCRC64(b *testing.B) {
	for _, n := range []int{40, 80, 159} {
		p := make([]byte, n)
		b.Run("ours/"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				crc64ECMA(p)
			}
		})
		b.Run("stdlib/"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				crc64.Checksum(p, ecmaTable)
			}
		})
	}
}
