// Package e2e runs end-to-end scenarios of the coordinator on a testbed
// farm of real agent processes, and exports the measurement of a crash's
// healing for the benchmark harness.
package e2e
