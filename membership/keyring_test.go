package membership

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

func TestGenerateAndEncodeKey(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	if len(k1) != 32 || bytes.Equal(k1, k2) {
		t.Fatalf("GenerateKey gave %d bytes, equal twice: %v", len(k1), bytes.Equal(k1, k2))
	}
	got, err := DecodeKey(EncodeKey(k1))
	if err != nil || !bytes.Equal(got, k1) {
		t.Fatalf("DecodeKey(EncodeKey(k)) = %x, %v", got, err)
	}
	if _, err := DecodeKey("not base64!"); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Errorf("DecodeKey(garbage) = %v, want a base64 error", err)
	}
	if _, err := DecodeKey(EncodeKey([]byte("short"))); err == nil || !strings.Contains(err.Error(), "5 bytes") {
		t.Errorf("DecodeKey(5 bytes) = %v, want an error naming the size", err)
	}
	keys, err := DecodeKeys([]string{EncodeKey(k1), EncodeKey(k2)})
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[1], k2) {
		t.Errorf("DecodeKeys = %x, %v", keys, err)
	}
	if _, err := DecodeKeys([]string{EncodeKey(k1), "x"}); err == nil || !strings.HasPrefix(err.Error(), "key 1:") {
		t.Errorf("DecodeKeys with a bad second key = %v, want it named", err)
	}
	if err := validateKeys([][]byte{k1, k2, k1}); err == nil || !strings.Contains(err.Error(), "key 2 repeats key 0") {
		t.Errorf("validateKeys(dup) = %v", err)
	}
}

func TestSetKeysRejectsTogglingEncryption(t *testing.T) {
	plain := start(t, localConfig(t, "toggle-plain"))
	if err := plain.SetKeys([][]byte{mustKey(t)}); err == nil {
		t.Error("SetKeys turned encryption on at runtime")
	}
	if err := plain.SetKeys(nil); err != nil {
		t.Errorf("SetKeys(nil) without encryption: %v", err)
	}
	cfg := localConfig(t, "toggle-enc")
	cfg.Keys = [][]byte{mustKey(t)}
	enc := start(t, cfg)
	if err := enc.SetKeys(nil); err == nil {
		t.Error("SetKeys(nil) turned encryption off at runtime")
	}
	if err := enc.SetKeys([][]byte{[]byte("short")}); err == nil || !strings.Contains(err.Error(), "16, 24 or 32") {
		t.Errorf("SetKeys(short key) = %v", err)
	}
	if got := enc.Keys(); len(got) != 1 || !bytes.Equal(got[0], cfg.Keys[0]) {
		t.Errorf("a rejected SetKeys changed the keys to %x", got)
	}
}

// TestKeyRotation rotates the gossip key of a live 3-node cluster in the
// documented three steps and checks after each that gossip still flows
// (a tag update reaches everyone) and that no one was ever seen as
// anything but alive.
func TestKeyRotation(t *testing.T) {
	oldKey, newKey := mustKey(t), mustKey(t)
	nodes := startN(t, "rot", 3, func(c *Config) { c.Keys = [][]byte{oldKey} })
	recs := make([]*recorder, len(nodes))
	for i, c := range nodes {
		recs[i] = record(t, c)
	}
	steps := []struct {
		name string
		keys [][]byte
	}{
		{"install", [][]byte{oldKey, newKey}},
		{"use", [][]byte{newKey, oldKey}},
		{"remove", [][]byte{newKey}},
	}
	for i, step := range steps {
		for _, c := range nodes {
			if err := c.SetKeys(step.keys); err != nil {
				t.Fatalf("step %s on %s: %v", step.name, c.cfg.Name, err)
			}
			got := c.Keys()
			if len(got) != len(step.keys) {
				t.Fatalf("step %s on %s: %d keys installed, want %d", step.name, c.cfg.Name, len(got), len(step.keys))
			}
			for j := range got {
				if !bytes.Equal(got[j], step.keys[j]) {
					t.Fatalf("step %s on %s: key %d differs (primary must be keys[0])", step.name, c.cfg.Name, j)
				}
			}
		}
		marker := strconv.Itoa(i)
		if err := nodes[i].UpdateTags(map[string]string{"step": marker}); err != nil {
			t.Fatalf("step %s: UpdateTags: %v", step.name, err)
		}
		testutil.Run(t, settle, func(r *testutil.R) {
			for _, c := range nodes {
				for _, m := range c.Members() {
					if m.Name == nodes[i].cfg.Name && m.Tags["step"] != marker {
						r.Fatalf("step %s: %s sees %s with tags %v", step.name, c.cfg.Name, m.Name, m.Tags)
					}
				}
			}
		})
		waitAlive(t, nodes, 3)
	}
	for i, r := range recs {
		for _, c := range nodes {
			if got := r.statuses(c.cfg.Name); len(got) != 0 {
				t.Errorf("node %d saw %s change status during rotation: %v", i, c.cfg.Name, got)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	stale := localConfig(t, "rot-stale")
	stale.Keys = [][]byte{oldKey}
	if _, err := start(t, stale).Join(ctx, []string{addrOf(nodes[0])}); err == nil {
		t.Error("a node with only the removed key joined")
	}
	fresh := localConfig(t, "rot-fresh")
	fresh.Keys = [][]byte{newKey}
	nodes = append(nodes, start(t, fresh))
	join(t, nodes[3], nodes[1])
	waitAlive(t, nodes, 4)
}
