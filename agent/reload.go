package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/config"
)

// errNoLoader is returned by ReloadFromSource when Options has no Loader.
var errNoLoader = errors.New("reload: this agent was started without a config source (Options.Loader)")

// ReloadFromSource re-reads the configuration through Options.Loader (the
// same files, directory, environment and flags as at start) and applies it.
// SIGHUP and POST /v1/reload both end here.
func (a *Agent) ReloadFromSource() error {
	if a.opts.Loader == nil {
		return errNoLoader
	}
	cfg, err := a.opts.Loader()
	if err != nil {
		return fmt.Errorf("reload: invalid configuration, keeping the running one: %w", err)
	}
	return a.Reload(cfg)
}

// Reload applies what can change without a restart: tags and role, log
// level and gossip keys. A change to anything else (cluster, addresses,
// socket, data_dir, registry) is refused with the field named, and nothing
// is applied.
func (a *Agent) Reload(next *config.Config) error {
	a.notify.Reloading()
	defer a.notify.Ready()

	prev := a.config()
	changes, err := config.DiffReload(prev, next)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if changes.Keys {
		if err := a.cluster.SetKeys(next.Gossip.Keys); err != nil {
			return fmt.Errorf("reload: gossip keys: %w", err)
		}
	}
	a.cfgMu.Lock()
	a.cfg = next
	a.cfgMu.Unlock()

	if changes.LogLevel {
		a.logger.SetLevel(hclog.LevelFromString(next.LogLevel))
	}
	if changes.Tags {
		if err := a.cluster.UpdateTags(a.tags()); err != nil {
			return fmt.Errorf("reload: tags: %w", err)
		}
		// The record carries the tags: rewrite it (the registry skips the
		// request when nothing changed).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.registry.Register(ctx, a.record()); err != nil {
			a.logger.Warn("tags updated in gossip but not yet in the registry record", "error", err)
		}
	}
	a.logger.Info("configuration reloaded", "tags", changes.Tags, "log_level", changes.LogLevel, "keys", changes.Keys)
	return nil
}
