// Package localapitest provides an in-memory localapi.Backend and a helper
// that serves it on a temporary unix socket, for tests of the API's users.
package localapitest
