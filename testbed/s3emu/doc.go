// Package s3emu is an embedded S3 server (gofakes3 with its in-memory
// backend) wrapped with outage simulation and per-client request counters
// for the testbed and integration tests.
package s3emu
