package main

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal (a TCGETS ioctl answers).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// ttyLine shows each line written to it in place of the previous one, on
// a terminal: carriage return, erase the line, the text without its
// newline. end closes the last line.
type ttyLine struct {
	w       io.Writer
	pending bool // a line is shown without its newline
}

func (t *ttyLine) Write(p []byte) (int, error) {
	text := bytes.TrimRight(p, "\n")
	if _, err := t.w.Write(append([]byte("\r\x1b[K"), text...)); err != nil {
		return 0, err
	}
	t.pending = true
	return len(p), nil
}

// end ends the shown line, if any; safe on nil.
func (t *ttyLine) end() {
	if t != nil && t.pending {
		_, _ = t.w.Write([]byte("\n"))
		t.pending = false
	}
}
