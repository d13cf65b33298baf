package testbed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/ec2emu"
)

// stop, start and reboot, driven through the real CLI: a stopped instance
// keeps its id, address and data directory, its agent stops gracefully
// (the others see it leave) and runs again on start; a reboot restarts the
// agent while EC2 says running.
func TestCLIStopStartReboot(t *testing.T) {
	needE2E(t)
	tb := startFarm(t, 3, nil)
	dir, ids := tb.Dir(), tb.Instances()
	all := socketsOf(t, tb.State(), ids...)
	waitViews(t, formTimeout, all, aliveExactly(ids...))
	victim, rest := ids[0], ids[1:]
	before, _ := tb.State().Instance(victim)
	marker := filepath.Join(dir, "instances", victim, "data", "kept-across-stop")
	if err := os.WriteFile(marker, []byte("disk"), 0o644); err != nil {
		t.Fatal(err)
	}

	if out, errOut, code := runCLI(t, "testbed", "stop", victim, "-dir", dir); code != 0 || !strings.Contains(out, victim) {
		t.Fatalf("stop: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	st := mustRead(t, dir)
	stopped, _ := st.Instance(victim)
	if stopped.State != "stopped" || stopped.Agent != agentStopped || processAlive(before.PID) {
		t.Errorf("after stop: state %q agent %q (pid %d alive %v); want stopped, stopped, not alive", stopped.State, stopped.Agent, before.PID, processAlive(before.PID))
	}
	if ei, _ := tb.EC2().Instance(victim); ei.State != "stopped" || ei.PrivateIP != before.IP {
		t.Errorf("EC2 says %s at %s; want stopped at %s", ei.State, ei.PrivateIP, before.IP)
	}
	waitViews(t, detectTimeout, socketsOf(t, st, rest...), both(aliveExactly(rest...), seenAs([]string{victim}, membership.StatusLeft)))

	if out, errOut, code := runCLI(t, "testbed", "start", victim, "-dir", dir); code != 0 || !strings.Contains(out, victim) {
		t.Fatalf("start: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	started, _ := mustRead(t, dir).Instance(victim)
	if started.State != "running" || started.Agent != agentRunning || started.IP != before.IP || started.Socket != before.Socket ||
		started.PID == before.PID || !processAlive(started.PID) {
		t.Errorf("after start: %+v; want running again at %s with a new agent process", started, before.IP)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the data directory did not survive stop and start: %v", err)
	}
	waitViews(t, formTimeout, all, aliveExactly(ids...))

	if out, errOut, code := runCLI(t, "testbed", "reboot", victim, "-dir", dir); code != 0 || !strings.Contains(out, victim) {
		t.Fatalf("reboot: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	rebooted, _ := mustRead(t, dir).Instance(victim)
	if rebooted.State != "running" || rebooted.Agent != agentRunning || rebooted.PID == started.PID || processAlive(started.PID) {
		t.Errorf("after reboot: %+v; want running with a new agent process (old pid %d)", rebooted, started.PID)
	}
	if ei, _ := tb.EC2().Instance(victim); ei.State != "running" {
		t.Errorf("EC2 says %s after a reboot", ei.State)
	}
	waitViews(t, formTimeout, all, aliveExactly(ids...))

	_, errOut, code := runCLI(t, "testbed", "start", "-dir", dir)
	if code != 2 || !strings.Contains(errOut, "instance id") {
		t.Errorf("start without an id: exit %d, stderr %q", code, errOut)
	}
	if err := tb.EC2().TerminateInstance(t.Context(), rest[0]); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCLI(t, "testbed", "start", rest[0], "-dir", dir)
	if code != 1 || !strings.Contains(errOut, "IncorrectInstanceState") {
		t.Errorf("start of a terminated instance: exit %d, stderr %q", code, errOut)
	}
}

// A boot delay keeps each instance pending for a time drawn from the
// range before its agent starts, at launch and at start.
func TestBootDelay(t *testing.T) {
	needE2E(t)
	start := time.Now()
	tb := startFarm(t, 2, func(c *Config) { c.BootDelay = ec2emu.Delay{Min: time.Second, Max: 2 * time.Second} })
	if took := time.Since(start); took < time.Second {
		t.Errorf("the farm was up %s after Start with a boot delay of 1s-2s", took)
	}
	for _, id := range tb.Instances() {
		in, _ := tb.EC2().Instance(id)
		if in.BootDelay < time.Second || in.BootDelay > 2*time.Second || in.State != ec2emu.StateRunning {
			t.Errorf("%s: %s after a boot delay of %s; want running after 1s-2s", id, in.State, in.BootDelay)
		}
	}

	_, errOut, code := runCLI(t, "testbed", "up", "-boot-delay", "15s-5s", "-dir", shortDir(t))
	if code != 2 || !strings.Contains(errOut, "the range ends before it starts") {
		t.Errorf("up -boot-delay 15s-5s: exit %d, stderr %q; want a usage error", code, errOut)
	}
}
