package agent

import (
	"io"

	"github.com/hashicorp/go-hclog"
)

// NewLogger returns the root logger. Every subsystem takes a Named child;
// JSON output is for journald and log shippers.
func NewLogger(w io.Writer, level string, json bool) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:            "farmhand",
		Level:           hclog.LevelFromString(level),
		Output:          w,
		JSONFormat:      json,
		IncludeLocation: false,
	})
}
