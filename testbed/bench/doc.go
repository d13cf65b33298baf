// Command bench measures farmhand's membership against stock memberlist at
// farm scale over an in-memory network and writes BENCHMARKS.md.
package main
