package agent

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/jonboulle/clockwork"
)

// watchdog pings the systemd watchdog at half its interval when the unit
// sets WatchdogSec (systemd passes WATCHDOG_USEC). Before each ping it
// runs probe, which blocks when the agent is wedged: then the pings stop
// and systemd restarts the agent.
type watchdog struct {
	interval time.Duration // 0: no watchdog
	probe    func()
	notify   notifier
	clock    clockwork.Clock
	task     *task
}

// newWatchdog reads the watchdog interval systemd asks for, if any.
func newWatchdog(probe func(), n notifier, clock clockwork.Clock) *watchdog {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.logger.Warn("ignoring the systemd watchdog settings", "error", err)
		interval = 0
	}
	return &watchdog{interval: interval, probe: probe, notify: n, clock: clock}
}

func (w *watchdog) start() {
	if w.interval > 0 {
		w.task = goTask(w.run)
	}
}

func (w *watchdog) stop(ctx context.Context) error { return w.task.stop(ctx) }

func (w *watchdog) run(ctx context.Context) {
	tick := w.clock.NewTicker(w.interval / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.Chan():
			w.probe()
			w.notify.Watchdog()
		}
	}
}
