// Package emuhttp serves a testbed emulator's http.Handler on a TCP
// listener, with the Listen/URL/Close lifecycle every emulator shares.
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
// Listen may be called once, Close any number of times.
type Listener struct {
	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	done   chan struct{}
	closed bool
}

// Listen serves h on addr ("" means 127.0.0.1:0) until Close. name prefixes
// errors (e.g. "s3emu") and log is where serving errors go.
func (l *Listener) Listen(name, addr string, h http.Handler, log hclog.Logger) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w (pick a free address or pass \"\")", name, addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	done := make(chan struct{})
	l.mu.Lock()
	if l.srv != nil || l.closed {
		l.mu.Unlock()
		ln.Close()
		return fmt.Errorf("%s: Listen called twice or after Close", name)
	}
	l.srv, l.ln, l.done = srv, ln, done
	l.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name+" stopped serving", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return nil
}

// URL is "http://host:port", or "" before Listen.
func (l *Listener) URL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return ""
	}
	return "http://" + l.ln.Addr().String()
}

// Closed reports whether Close was called.
func (l *Listener) Closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close stops serving; requests in flight are cut off. Safe to call twice.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	srv, done := l.srv, l.done
	l.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-done
	return err
}
