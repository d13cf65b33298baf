// Package e2e runs end-to-end scenarios on a testbed farm of real agent
// processes (the coordinator's replacements, freezes, failover and EC2
// faults; partitions, key rotation, record signing, socket permissions and
// the demo), and exports the measurement of a crash's healing for the
// benchmark harness.
package e2e
