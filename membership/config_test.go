package membership

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigsValidate(t *testing.T) {
	for name, c := range map[string]*Config{"lan": DefaultLANConfig(), "local": DefaultLocalConfig()} {
		c.Name = "i-0123456789abcdef0"
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	lan := DefaultLANConfig()
	if lan.ReapTime != 24*time.Hour || lan.ReconnectInterval != 30*time.Second || lan.ReconnectTimeout != 24*time.Hour || lan.JoinFanout != 3 {
		t.Errorf("LAN defaults = %+v", lan)
	}
	if DefaultLocalConfig().Memberlist == lan.Memberlist {
		t.Error("presets share a memberlist config")
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for field, mutate := range map[string]func(*Config){
		"Config.Name":                   func(c *Config) { c.Name = "" },
		"Config.BindAddr":               func(c *Config) { c.BindAddr = "host.example" },
		"Config.BindPort":               func(c *Config) { c.BindPort = 70000 },
		"Config.AdvertiseAddr":          func(c *Config) { c.AdvertiseAddr = "nope" },
		"Config.AdvertisePort":          func(c *Config) { c.AdvertisePort = -1 },
		"Config.Cluster":                func(c *Config) { c.Cluster = "" },
		"Config.ReapTime":               func(c *Config) { c.ReapTime = 0 },
		"Config.ReconnectInterval":      func(c *Config) { c.ReconnectInterval = -time.Second },
		"Config.ReconnectTimeout":       func(c *Config) { c.ReconnectTimeout = 0 },
		"Config.IsolationCheckInterval": func(c *Config) { c.IsolationCheckInterval = -1 },
		"Config.IsolationBackoffMax":    func(c *Config) { c.IsolationBackoffMax = time.Second },
		"Config.JoinFanout":             func(c *Config) { c.JoinFanout = 0 },
		"Config.BroadcastTimeout":       func(c *Config) { c.BroadcastTimeout = 0 },
		"Config.Memberlist":             func(c *Config) { c.Memberlist = nil },
		"Config.Keys":                   func(c *Config) { c.Keys = [][]byte{[]byte("too short")} },
		"Config.Tags":                   func(c *Config) { c.Tags = map[string]string{"x": strings.Repeat("y", 600)} },
	} {
		c := DefaultLANConfig()
		c.Name = "i-1"
		mutate(c)
		err := c.Validate()
		if err == nil || !(strings.Contains(err.Error(), field+" ") || strings.Contains(err.Error(), field+":")) {
			t.Errorf("%s: Validate() = %v, want an error naming it", field, err)
		}
	}
	c := DefaultLANConfig()
	c.Name = "i-1"
	c.Cluster = strings.Repeat("c", 256)
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "255") {
		t.Errorf("long Cluster: %v", err)
	}
	c.Cluster = "ok"
	c.ReconnectInterval, c.ReconnectTimeout, c.IsolationCheckInterval = 0, 0, 0
	if err := c.Validate(); err != nil {
		t.Errorf("disabled healing: %v", err)
	}
	if _, err := Create(nil); err == nil {
		t.Error("Create(nil) succeeded")
	}
}
