package zkembed_test

import "context"

var errContextCanceled = context.Canceled

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
