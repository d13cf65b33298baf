// Package imdsemu is an in-process emulator of the EC2 instance metadata
// service (IMDSv2, tokens required) serving one instance's identity per
// Emulator, so each testbed instance gets its own listener.
package imdsemu
