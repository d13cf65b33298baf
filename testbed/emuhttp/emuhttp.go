// Package emuhttp serves a testbed emulator's http.Handler on a TCP
// listener, with the Listen/URL/SetDown/Close lifecycle every emulator shares.
package emuhttp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Listener runs one http.Server for an emulator. The zero value is ready;
// Listen may be called once, SetDown and Close any number of times.
type Listener struct {
	// downMu serializes SetDown, which listens without holding mu.
	downMu sync.Mutex

	mu   sync.Mutex
	name string
	h    http.Handler
	log  hclog.Logger
	// addr is the bound address, kept while down to listen on again.
	addr string
	// srv serves until Close or SetDown(true); nil while down.
	srv    *http.Server
	done   chan struct{}
	closed bool
}

// Listen serves h on addr ("" means 127.0.0.1:0) until Close. name prefixes
// errors and log lines (e.g. "s3emu") and log is where they go.
func (l *Listener) Listen(name, addr string, h http.Handler, log hclog.Logger) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w (pick a free address or pass \"\")", name, addr, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addr != "" || l.closed {
		ln.Close()
		return fmt.Errorf("%s: Listen called twice or after Close", name)
	}
	l.name, l.h, l.log, l.addr = name, h, log, ln.Addr().String()
	l.serveLocked(ln)
	return nil
}

// serveLocked serves ln in a goroutine that ends when l.srv is closed.
func (l *Listener) serveLocked(ln net.Listener) {
	srv := &http.Server{
		Handler:           l.h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          l.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	done := make(chan struct{})
	l.srv, l.done = srv, done
	name, log := l.name, l.log
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" stopped serving", "addr", ln.Addr().String(), "error", err)
		}
	}()
}

// URL is "http://host:port", or "" before Listen. It stays the same while
// down.
func (l *Listener) URL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addr == "" {
		return ""
	}
	return "http://" + l.addr
}

// Closed reports whether Close was called.
func (l *Listener) Closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// SetDown takes the emulator off the network (down: the listener is
// closed, so clients get connection refused, and open connections are
// cut) or puts it back on the same address.
func (l *Listener) SetDown(down bool) error {
	l.downMu.Lock()
	defer l.downMu.Unlock()
	l.mu.Lock()
	name, addr, up := l.name, l.addr, l.srv != nil
	switch {
	case l.closed:
		l.mu.Unlock()
		return fmt.Errorf("%s: SetDown after Close", name)
	case addr == "":
		l.mu.Unlock()
		return errors.New("emulator: SetDown before Listen: it is not on the network")
	case down && !up, !down && up:
		l.mu.Unlock()
		return nil // already so
	case down:
		err := l.stopLocked()
		l.log.Info(name+" down: connections refused", "addr", addr)
		return err
	}
	l.mu.Unlock()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen again on %s: %w (another process took the port)", name, addr, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		ln.Close()
		return fmt.Errorf("%s: SetDown(false) raced with Close", name)
	}
	l.serveLocked(ln)
	l.log.Info(name+" up again", "addr", addr)
	return nil
}

// Close stops serving; requests in flight are cut off. Safe to call twice.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	return l.stopLocked()
}

// stopLocked closes the server and waits for it. It is called with l.mu
// held and releases it, so the handler can finish requests that take it.
func (l *Listener) stopLocked() error {
	srv, done := l.srv, l.done
	l.srv = nil
	l.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-done
	return err
}
