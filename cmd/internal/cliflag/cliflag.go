// Package cliflag is the flag handling that farmhand and farmhand-testbed
// share: flag sets that report to the command's stderr and never exit, and
// the exit code of a usage error.
package cliflag

import (
	"errors"
	"flag"
	"io"
)

// ExitUsage is the exit code of a usage error (unknown command or flag).
const ExitUsage = 2

// New returns a FlagSet named name that reports errors to stderr and does
// not exit, so that a parse error becomes ExitUsage through Parse.
func New(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args into fs. It returns (0, true) on success, (0, false)
// for -h, and (ExitUsage, false) for a bad flag, after fs printed usage.
func Parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return ExitUsage, false
	}
	return 0, true
}
