package shell_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/clock"
	"github.com/zkembed/zkembed/internal/shell"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden runs testdata/*.in through the shell on a virtual clock and a
// seed, and compares the output with the .out file beside it.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in")
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			db, err := zkembed.Open("", &zkembed.Options{Clock: clk, Seed: 1, ExtendedTypes: true})
			require.NoError(t, err)
			defer db.Close()
			s, err := db.NewSession(ctx, nil)
			require.NoError(t, err)
			script, err := os.ReadFile(in)
			require.NoError(t, err)
			var out bytes.Buffer
			sh := shell.New(shell.Embedded(s), &out, &out, "test")
			require.NoError(t, sh.Run(ctx, bytes.NewReader(script)))
			golden := strings.TrimSuffix(in, ".in") + ".out"
			if *update {
				require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), out.String())
			require.NoError(t, db.Check())
		})
	}
}
