package main

import (
	"context"
	"flag"
	"os"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/internal/shell"
)

func runShell(args []string) error {
	fs := flag.NewFlagSet("shell", flag.ExitOnError)
	dir := fs.String("data", "./zkembed-data", "data directory")
	fs.Parse(args)
	db, err := zkembed.Open(*dir, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	s, err := db.NewSession(ctx, nil)
	if err != nil {
		return err
	}
	sh := &shell.Shell{S: s, Out: os.Stdout}
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		sh.Prompt = "[zkembed] "
	}
	return sh.Run(ctx, os.Stdin)
}
