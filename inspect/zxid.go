package inspect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/zkembed/zkembed/znode"
)

// ParseZxid parses a zxid written in decimal ("4294967297") or in
// hexadecimal with a 0x prefix ("0x100000001", as zkembed and ZooKeeper
// print them). Signs, underscores, other bases and values above 2^63-1 are
// errors matching ErrBadZxid.
func ParseZxid(s string) (znode.Zxid, error) {
	digits, base := s, 10
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		digits, base = rest, 16
	} else if rest, ok := strings.CutPrefix(s, "0X"); ok {
		digits, base = rest, 16
	}
	// ParseUint with an explicit base takes no sign, prefix or underscore.
	v, err := strconv.ParseUint(digits, base, 63)
	if err != nil || digits == "" {
		return 0, fmt.Errorf("%w: %q (want decimal or 0x hex, 0 to 2^63-1)", ErrBadZxid, s)
	}
	return znode.Zxid(v), nil
}

// ZxidFlag is a flag.Value holding a zxid parsed by ParseZxid.
type ZxidFlag struct {
	Zxid  znode.Zxid
	Given bool // Set was called: the flag was on the command line
}

// String implements flag.Value.
func (f *ZxidFlag) String() string {
	if f == nil || !f.Given {
		return ""
	}
	return f.Zxid.String()
}

// Set implements flag.Value.
func (f *ZxidFlag) Set(s string) error {
	z, err := ParseZxid(s)
	if err != nil {
		return err
	}
	f.Zxid, f.Given = z, true
	return nil
}
