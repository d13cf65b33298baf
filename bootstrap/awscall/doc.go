// Package awscall is farmhand's one AWS plumbing: what an AWS error means
// (Classify), how a failed call is retried (Policy), and the HTTP client
// every SDK client uses (NewHTTPClient). The registry and the coordinator
// both use it, so an error code is taught in one place: the codes table.
package awscall
