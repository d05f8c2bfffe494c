//go:build !race

package lincheck_test

// seeds is how many seeds the engine and each broken variant run.
const seeds = 5
