package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
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
	// exits at once. SIGHUP reloads the configuration.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		stopping := false
		for {
			select {
			case <-runCtx.Done():
				return
			case s := <-sigs:
				if s == syscall.SIGHUP {
					if err := a.ReloadFromSource(); err != nil {
						logger.Error("reload failed; keeping the running configuration", "error", err)
					}
					continue
				}
				if stopping {
					logger.Warn("second signal: exiting without finishing shutdown", "signal", s.String())
					os.Exit(exitNow)
				}
				stopping = true
				logger.Info("signal received: leaving the cluster", "signal", s.String())
				cancel()
			}
		}
	}()

	if err := a.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("agent stopped with an error", "error", err)
		return 1
	}
	return 0
}
