package agent

import (
	"sync"

	"github.com/farmhand/farmhand/agent/config"
)

// current is the running configuration. A reload replaces it whole;
// everything else reads it, so a field applied live is seen at once.
type current struct {
	mu  sync.Mutex
	cfg *config.Config
}

func (c *current) get() *config.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

func (c *current) set(cfg *config.Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = cfg
}
