package zkembed_test

import (
	"context"
	"fmt"
	"log"

	"github.com/zkembed/zkembed"
)

func Example() {
	ctx := context.Background()
	db, err := zkembed.Open("", nil) // in memory
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	s, err := db.NewSession(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Create(ctx, "/app", []byte("v1"), zkembed.ModePersistent, zkembed.OpenACL()); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		p, _ := s.Create(ctx, "/app/job-", nil, zkembed.ModeEphemeralSequential, zkembed.OpenACL())
		fmt.Println(p)
	}
	data, stat, _ := s.GetData(ctx, "/app")
	fmt.Printf("%s version=%d children=%d cversion=%d\n", data, stat.Version, stat.NumChildren, stat.Cversion)

	// Closing the session deletes its ephemerals in one transaction.
	_ = s.Close(ctx)
	other, _ := db.NewSession(ctx, nil)
	kids, _, _ := other.GetChildren(ctx, "/app")
	fmt.Println(len(kids), "children left")
	// Output:
	// /app/job-0000000000
	// /app/job-0000000001
	// v1 version=0 children=2 cversion=2
	// 0 children left
}

func ExampleSession_Multi() {
	ctx := context.Background()
	db, _ := zkembed.Open("", nil)
	defer db.Close()
	s, _ := db.NewSession(ctx, nil)

	_, err := s.Multi(ctx,
		&zkembed.CreateOp{Path: "/a", ACL: zkembed.OpenACL()},
		&zkembed.CreateOp{Path: "/a", ACL: zkembed.OpenACL()}, // fails: the whole multi has no effect
	)
	fmt.Println(err)
	ok, _, _ := s.Exists(ctx, "/a")
	fmt.Println("exists:", ok)
	// Output:
	// zkembed: multi /a: node already exists
	// exists: false
}
