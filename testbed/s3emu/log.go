package s3emu

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/johannesboyne/gofakes3"
)

// logAdapter sends gofakes3's log lines to hclog; its chatty INFO lines go
// to debug.
type logAdapter struct{ l hclog.Logger }

func (a logAdapter) Print(level gofakes3.LogLevel, v ...interface{}) {
	msg := strings.TrimSpace(fmt.Sprintln(v...))
	switch level {
	case gofakes3.LogErr:
		a.l.Error(msg)
	case gofakes3.LogWarn:
		a.l.Warn(msg)
	default:
		a.l.Debug(msg)
	}
}
