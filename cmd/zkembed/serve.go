package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/zkembed/zkembed"
)

// runServe serves ZooKeeper's client protocol until SIGINT or SIGTERM.
func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:2181", "TCP address to listen on")
	dir := fs.String("data", "", "data directory (default: in memory, nothing kept)")
	fs.Parse(args)
	// Every session of a server belongs to a remote client, which may come
	// back after a restart: restored sessions get a timeout to reconnect.
	// The engine resumes remote sessions anyway; ResumeSessions also
	// resumes those of a data directory written before sessions had kinds.
	db, err := zkembed.Open(*dir, &zkembed.Options{ExtendedTypes: true, ResumeSessions: true})
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := zkembed.NewServer(db, nil)
	where := *dir
	if where == "" {
		where = "memory"
	}
	fmt.Fprintf(os.Stderr, "zkembed: serving ZooKeeper's protocol on %s (data: %s)\n", l.Addr(), where)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "zkembed: shutting down")
	case err = <-served:
	}
	srv.Close()
	if errors.Is(err, zkembed.ErrServerClosed) {
		err = nil
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}
