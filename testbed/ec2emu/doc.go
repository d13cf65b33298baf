// Package ec2emu is an in-process emulator of the EC2 Query API (version
// 2016-11-15) for the instance actions farmhand uses, speaking the real wire
// protocol so that aws-sdk-go-v2 and the AWS CLI work against it unchanged.
package ec2emu
