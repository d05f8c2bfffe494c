// Package dirformat is the FORMAT file of a zkembed data directory: the
// settings its files cannot be read without, fixed when the directory is
// created. Today that is the zxid layout (zxids in the log and snapshots
// are epoch<<bits | counter). The engine writes and checks it; the
// inspection tools read it; both through this package, so that they
// cannot disagree on the format.
package dirformat

import (
	"errors"
	"fmt"
	"strings"
)

// File is the file's name in a data directory.
const File = "FORMAT"

const header = "zkembed data directory\n"

// ErrMalformed is returned for a file that is not a FORMAT file.
var ErrMalformed = errors.New("not a zkembed FORMAT file")

// Encode returns the file's contents for a zxid counter of bits.
func Encode(bits int) []byte {
	return fmt.Appendf(nil, "%szxid-counter-bits %d\n", header, bits)
}

// Parse returns the zxid counter width a FORMAT file records. Anything
// but exactly what Encode writes, for a width of 2 to 48 bits, is
// ErrMalformed.
func Parse(b []byte) (bits int, err error) {
	rest, ok := strings.CutPrefix(string(b), header)
	if n, err := fmt.Sscanf(rest, "zxid-counter-bits %d\n", &bits); !ok || err != nil || n != 1 ||
		string(b) != string(Encode(bits)) || bits < 2 || bits > 48 {
		return 0, ErrMalformed
	}
	return bits, nil
}
