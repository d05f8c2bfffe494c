package recipe_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/zkembed/zkembed"
	"github.com/zkembed/zkembed/recipe"
)

// Fifty goroutines take turns holding a lock. Here they share one embedded
// session; with recipe.Connect they could be processes on a ZooKeeper
// ensemble, with the same code.
func ExampleLock() {
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
	client := s.RecipeClient()

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		inside  int // holders right now: must never exceed 1
		most    int
		counter int
	)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := recipe.NewLock(client, "/locks/counter", nil)
			if err := l.Lock(ctx); err != nil {
				log.Fatal(err)
			}
			defer l.Unlock(ctx)

			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			counter++ // guarded by the ZooKeeper lock alone
			mu.Lock()
			inside--
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Println("increments:", counter)
	fmt.Println("most holders at once:", most)
	// Output:
	// increments: 50
	// most holders at once: 1
}
