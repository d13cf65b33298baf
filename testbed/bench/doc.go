// Command bench measures farmhand's membership against stock memberlist at
// farm scale, over an in-memory network (memnet) and, for the rows that need
// them, on real agent processes (the testbed and agentcost), and writes
// BENCHMARKS.md.
package main
