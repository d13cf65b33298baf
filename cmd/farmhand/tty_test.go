package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the command writes to tty, the
// test reads what a person would see from pty.
func openPTY(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { pty.Close() })
	if err := unix.IoctlSetPointerInt(int(pty.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(pty.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the terminal side: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return pty, tty
}

func TestIsTerminal(t *testing.T) {
	_, tty := openPTY(t)
	if !isTerminal(tty) {
		t.Error("a pseudo-terminal is not seen as a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer is seen as a terminal")
	}
}

// TestWaitShowsProgressOnTerminal runs wait with stderr on a real
// pseudo-terminal: the progress line (members so far, time left) is drawn
// in place, and the last one ends with a newline.
func TestWaitShowsProgressOnTerminal(t *testing.T) {
	_, sock := apiAgent(t)
	pty, tty := openPTY(t)
	read := make(chan string, 1)
	go func() {
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, pty) // until the terminal side closes
		read <- buf.String()
	}()
	code := apiCLIWith(context.Background(), io.Discard, tty, nil, "wait", "-socket", sock, "-min", "9", "-timeout", "1200ms")
	tty.Close()
	var out string
	select {
	case out = <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("reading the terminal did not end")
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (timed out)", code)
	}
	if !strings.Contains(out, "\r\x1b[Kfarmhand wait: 3 of 9 members alive; 1s left") {
		t.Errorf("terminal shows %q; want the progress line with the time left, drawn in place", out)
	}
	if !strings.Contains(out, "\r\nfarmhand wait: timed out after 1.2s: 3 of 9 members alive") {
		t.Errorf("terminal shows %q; want the progress line ended before the error", out)
	}
}
