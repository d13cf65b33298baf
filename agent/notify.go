package agent

import (
	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
)

// notifier tells systemd about the agent's state through NOTIFY_SOCKET.
// Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
type notifier struct {
	logger hclog.Logger
}

func (n notifier) send(state string) {
	sent, err := daemon.SdNotify(false, state)
	if err != nil {
		n.logger.Warn("cannot notify systemd", "state", state, "error", err)
		return
	}
	if sent {
		n.logger.Debug("notified systemd", "state", state)
	}
}

func (n notifier) Ready()          { n.send(daemon.SdNotifyReady) }
func (n notifier) Stopping()       { n.send(daemon.SdNotifyStopping) }
func (n notifier) Reloading()      { n.send(daemon.SdNotifyReloading) }
func (n notifier) Watchdog()       { n.send(daemon.SdNotifyWatchdog) }
func (n notifier) Status(s string) { n.send("STATUS=" + s) }
