package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/farmhand/farmhand/agent"
	"github.com/farmhand/farmhand/agent/config"
)

func init() {
	register(&command{
		Name:     "agent",
		Synopsis: "run the farmhand agent (the daemon systemd starts)",
		Usage:    "[-config FILE]... [-config-dir DIR] [flags]",
		Run:      runAgent,
	})
}

// exitNow is the exit code after a second SIGINT/SIGTERM cut shutdown short.
const exitNow = 130

func runAgent(_ context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("agent", env)
	var flags config.Flags
	flags.Register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		errorf(env, "agent", "unexpected arguments %q; the agent takes only flags", fs.Args())
		return exitUsage
	}
	cfg, err := config.Load(&flags, env.Getenv)
	if err != nil {
		errorf(env, "agent", "invalid configuration:\n%v", err)
		return exitUsage
	}
	logger := agent.NewLogger(env.Stderr, cfg.LogLevel, cfg.LogJSON)
	limitProcs(env.Getenv)

	loader := func() (*config.Config, error) { return config.Load(&flags, env.Getenv) }
	a, err := agent.New(cfg, agent.Options{Logger: logger, Loader: loader})
	if err != nil {
		logger.Error("cannot start", "error", err)
		return 1
	}

	// Signals: the first SIGINT/SIGTERM starts a graceful leave; a second one
	// exits at once, whatever the stop is waiting for. SIGHUP reloads the
	// configuration, in its own goroutine so that a signal is never held
	// up by a reload (the agent runs reloads one at a time, and logs what
	// each applied or why it refused it).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reloads sync.WaitGroup
	exited, loopDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(loopDone)
		stopping := false
		for {
			select {
			case <-exited:
				return
			case s := <-sigs:
				switch {
				case s == syscall.SIGHUP:
					reloads.Add(1)
					go func() {
						defer reloads.Done()
						_, _ = a.ReloadFromSource()
					}()
				case stopping:
					logger.Warn("second signal: exiting without finishing shutdown", "signal", s.String())
					os.Exit(exitNow)
				default:
					stopping = true
					logger.Info("signal received: leaving the cluster (a second signal exits at once)", "signal", s.String())
					cancel()
				}
			}
		}
	}()

	err = a.Run(runCtx)
	close(exited)
	<-loopDone
	reloads.Wait() // a reload after the stop is refused at once
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("agent stopped with an error", "error", err)
		return 1
	}
	return 0
}
