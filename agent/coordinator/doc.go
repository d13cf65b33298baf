// Package coordinator replaces dead farm nodes through the EC2 API, acting
// only as the holder of an S3 lease and only when gossip, quorum and EC2 all
// agree, behind freeze, rate, size and dry-run gates, with every decision
// recorded in a ledger.
package coordinator
