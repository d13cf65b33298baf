// Package localapi serves the agent's local HTTP/JSON API (versioned routes
// under /v1/) on a unix socket, for the farmhand CLI and local tooling.
package localapi
