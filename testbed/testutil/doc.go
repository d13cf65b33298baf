// Package testutil holds test helpers shared by every farmhand package:
// condition polling with a deadline and a pool of loopback addresses.
//
// It imports nothing from farmhand, so any package's tests may use it.
package testutil
