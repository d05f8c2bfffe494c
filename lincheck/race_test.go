//go:build race

package lincheck_test

// The race detector slows the workload and porcupine about tenfold: fewer
// seeds keep the package's tests within half a minute.
const seeds = 3
