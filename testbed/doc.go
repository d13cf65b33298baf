// Package testbed runs a whole EC2 farm on one machine: an embedded S3, EC2
// Query API and IMDSv2 emulators, and every instance as a real farmhand agent
// process (Config.Bin) with its own address (127.18.K.x, or 198.18.K.x in a
// network namespace of its own with -netns), driven through a control
// socket. cmd/farmhand-testbed is its command line; tests, bench and soak
// use it as a library.
package testbed
