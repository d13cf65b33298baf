// Package testbed runs a whole EC2 farm on one machine: an embedded S3, EC2
// Query API and IMDSv2 emulators, and every instance as a real farmhand agent
// process with its own address (127.0.x.y, or a network namespace with -netns).
package testbed
