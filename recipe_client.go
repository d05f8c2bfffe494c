package zkembed

import (
	"context"

	"github.com/zkembed/zkembed/recipe"
)

// RecipeClient returns the session as a recipe.Client, so that the recipes
// of package recipe (locks, elections, queues, ...) run on it exactly as on
// a go-zookeeper connection to a ZooKeeper ensemble.
func (s *Session) RecipeClient() recipe.Client { return recipeClient{s} }

// recipeClient adapts a Session to recipe.Client; only AddWatch and
// SessionID differ from the Session's own methods.
type recipeClient struct{ *Session }

func (c recipeClient) AddWatch(ctx context.Context, path string, recursive bool) (recipe.PersistentWatch, error) {
	w, err := c.Session.AddWatch(ctx, path, recursive)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (c recipeClient) SessionID() int64 { return c.Session.ID() }
