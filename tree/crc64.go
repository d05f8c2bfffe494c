package tree

import (
	"encoding/binary"
	"hash/crc64"
)

// crc64ECMA is crc64.Checksum(p, crc64.MakeTable(crc64.ECMA)), computed
// 16 bytes at a time. The standard library's version goes byte by byte
// under 64 bytes and, from 64 bytes on, first compares the caller's 2 KiB
// table with its own to find its slicing tables; node records are 40 to
// 160 bytes, and a node digest is taken for every node a write stores and
// every node a snapshot writes (about 30% of a snapshot's CPU with the
// standard library's). BenchmarkCRC64 on this project's 2-CPU VM: 40
// bytes 70 → 13 ns, 80 bytes 46 → 27 ns, 159 bytes 94 → 65 ns (BENCHMARKS.md,
// session 11). The digest is persisted, so the result must stay bit for
// bit the standard library's: TestCRC64MatchesTheStandardLibrary and
// FuzzCRC64 check that, and TestNodeDigestGolden pins the digests.
func crc64ECMA(p []byte) uint64 {
	t := crcTables
	crc := ^uint64(0)
	for len(p) >= 16 {
		lo := crc ^ binary.LittleEndian.Uint64(p)
		hi := binary.LittleEndian.Uint64(p[8:])
		crc = t[15][lo&0xff] ^ t[14][lo>>8&0xff] ^ t[13][lo>>16&0xff] ^ t[12][lo>>24&0xff] ^
			t[11][lo>>32&0xff] ^ t[10][lo>>40&0xff] ^ t[9][lo>>48&0xff] ^ t[8][lo>>56] ^
			t[7][hi&0xff] ^ t[6][hi>>8&0xff] ^ t[5][hi>>16&0xff] ^ t[4][hi>>24&0xff] ^
			t[3][hi>>32&0xff] ^ t[2][hi>>40&0xff] ^ t[1][hi>>48&0xff] ^ t[0][hi>>56]
		p = p[16:]
	}
	if len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return ^crc
}

// crcTables are the slicing-by-16 tables of the reflected ECMA polynomial:
// crcTables[k][b] is the CRC register after byte b followed by k zero
// bytes, so that 16 bytes are folded in with 16 independent lookups.
var crcTables = func() *[16][256]uint64 {
	var t [16][256]uint64
	t[0] = *crc64.MakeTable(crc64.ECMA)
	for b := range 256 {
		crc := t[0][b]
		for k := 1; k < 16; k++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[k][b] = crc
		}
	}
	return &t
}()
