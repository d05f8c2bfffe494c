package recipe_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
)

// Three workers, each with its own session, run for leader; when the
// leader resigns, the next in line takes over, and an observer sees each
// change. With recipe.Connect the workers could be processes on a
// ZooKeeper ensemble, with the same code.
func ExampleElection() {
	ctx := context.Background()
	db, err := zkembed.Open("", nil) // in memory
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	client := func() recipe.Client {
		s, err := db.NewSession(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		return s.RecipeClient()
	}

	octx, stop := context.WithCancel(ctx)
	defer stop()
	leaders := recipe.Observe(octx, client(), "/election/app")
	nextLeader := func() string {
		for info := range leaders {
			if info.Node != "" {
				return string(info.ID)
			}
		}
		return ""
	}

	won := make(chan *recipe.Election, 3)
	for _, name := range []string{"alpha", "beta", "gamma"} {
		e := recipe.NewElection(client(), "/election/app", []byte(name))
		go func() {
			if err := e.Campaign(ctx); err != nil {
				log.Fatal(err)
			}
			won <- e // Campaign returns once e leads
		}()
		for e.Node() == "" { // queued before the next worker starts
			time.Sleep(time.Millisecond)
		}
	}
	for range 3 {
		fmt.Println("leader:", nextLeader())
		leader := <-won
		if err := leader.Resign(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// leader: alpha
	// leader: beta
	// leader: gamma
}
