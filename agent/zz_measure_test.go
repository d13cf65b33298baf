package agent

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func TestZZMeasureOutageRate(t *testing.T) {
	if os.Getenv("FH_MEASURE") == "" {
		t.Skip("measure")
	}
	for range 100 {
		testutil.TakeIP(t)
	}
	f := newFarm(t)
	f.s3.SetDown(true)
	local := f.startProcess("i-local", "c1")
	lan := f.startProcess("i-lan", "c1")
	_ = lan.cmd.Process.Signal(syscall.SIGKILL)
	<-lan.exited
	b, _ := os.ReadFile(lan.config)
	os.WriteFile(lan.config, []byte(strings.Replace(string(b), `profile  = "local"`, `profile  = "lan"`, 1)), 0o644)
	lan = f.restartProcess(lan)
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	d, _ := time.ParseDuration(os.Getenv("FH_MEASURE"))
	for range tick.C {
		t.Logf("t=%3.0fs local=%+v lan=%+v", time.Since(start).Seconds(), f.s3.CountsFrom(local.ip), f.s3.CountsFrom(lan.ip))
		if time.Since(start) > d {
			break
		}
	}
}
