// Package memnet is an in-memory network for hashicorp/memberlist that can
// lose, crash, partition and stall nodes, so benchmarks and tests can run many
// real memberlist instances in one process without sockets.
package memnet
