// Package client is the typed Go client of the farmhand agent's local API,
// used by the CLI and by tests; its errors are written for a person.
package client
