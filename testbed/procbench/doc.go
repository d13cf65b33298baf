// Command procbench measures farmhand against Serf on real processes: N
// agent processes on one machine, each on its own address, cold start, late
// joiner, crash detection, CPU and memory at rest, and false deaths under
// real packet loss, the two implementations alternating in the same run. It
// writes a markdown section that testbed/bench puts at the top of
// BENCHMARKS.md: real processes are the reference, the in-process harness is
// the tool for sizes they cannot reach.
package main
