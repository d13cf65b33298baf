// Package testbed runs a whole EC2 farm on one machine: an embedded S3, EC2
// Query API and IMDSv2 emulators, and every instance as a real farmhand agent
// process (Config.Bin) at the address the EC2 emulator gave it (from the
// testbed's own /23 in 127.20.0.0/15, or in 198.19.0.0/16 with a network
// namespace per instance with -netns), driven through a control socket.
// cmd/farmhand-testbed is its command line; tests, bench and soak use it as
// a library.
package testbed
