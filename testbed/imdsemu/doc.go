// Package imdsemu is an in-process emulator of the EC2 instance metadata
// service (IMDSv2, tokens required) serving one instance's identity per
// Server, so each testbed instance gets its own listener.
package imdsemu
