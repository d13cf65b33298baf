// Package bootstrap answers who this instance is (IMDSv2 identity) and who
// else is there (the S3 rendezvous registry).
package bootstrap
