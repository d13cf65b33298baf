package config

import (
	"reflect"
	"testing"
)

func TestMergeKeepsUnsetFields(t *testing.T) {
	base := mustDecode(t, `
cluster   = "farm"
log_level = "debug"
gossip {
  port = 7000
}
`)
	over := mustDecode(t, "role = \"db\"\n")
	got := base.Merge(over)
	if got.Cluster != "farm" || got.LogLevel != "debug" || got.Gossip.Port != 7000 || got.Role != "db" {
		t.Errorf("merged: cluster %q level %q port %d role %q", got.Cluster, got.LogLevel, got.Gossip.Port, got.Role)
	}
	// An explicit value equal to the default still overrides.
	got = got.Merge(mustDecode(t, "log_level = \"info\"\ngossip {\n  port = 7946\n}\n"))
	if got.LogLevel != "info" || got.Gossip.Port != 7946 {
		t.Errorf("explicit default values did not override: level %q port %d", got.LogLevel, got.Gossip.Port)
	}
}

func TestMergeMapsKeyWise(t *testing.T) {
	a := mustDecode(t, "tags = { rack = \"a\", zone = \"1\" }\n")
	b := mustDecode(t, "tags = { rack = \"b\", disk = \"ssd\" }\n")
	got := a.Merge(b)
	want := map[string]string{"rack": "b", "zone": "1", "disk": "ssd"}
	if !reflect.DeepEqual(got.Tags, want) {
		t.Errorf("tags = %v, want %v", got.Tags, want)
	}
}

func TestMergeListsReplace(t *testing.T) {
	a := mustDecode(t, "gossip {\n  keys = [\""+testKey(16, 1)+"\", \""+testKey(16, 2)+"\"]\n}\n")
	b := mustDecode(t, "gossip {\n  keys = [\""+testKey(32, 3)+"\"]\n}\n")
	got := a.Merge(b)
	if len(got.Gossip.Keys) != 1 || got.Gossip.Keys[0][0] != 3 {
		t.Errorf("keys not replaced: %d keys", len(got.Gossip.Keys))
	}
}

func TestMergeBlocksByLabel(t *testing.T) {
	a := decodeAs(t, "a.hcl", `
coordinator {
  group "web" {
    min      = 2
    max      = 4
    image_id = "ami-1"
  }
  group "db" {
    max = 3
  }
}
render "workers" {
  template    = "hadoop-workers"
  destination = "/tmp/w"
}
`)
	b := decodeAs(t, "b.hcl", `
coordinator {
  group "web" {
    max = 8
  }
  group "cache" {
    max = 1
  }
}
render "hosts" {
  template = "etc-hosts"
}
render "workers" {
  mode = "0600"
}
`)
	got := a.Merge(b)
	groups := got.Coordinator.Groups
	if len(groups) != 3 || groups[0].Name != "web" || groups[1].Name != "db" || groups[2].Name != "cache" {
		t.Fatalf("groups: %+v", groups)
	}
	if web := groups[0]; web.Min != 2 || web.Max != 8 || web.ImageID != "ami-1" {
		t.Errorf("web not merged field-wise: %+v", web)
	}
	if got.Coordinator.Groups[2].Role != "cache" || got.Coordinator.Groups[2].Max != 1 {
		t.Errorf("new group: %+v", got.Coordinator.Groups[2])
	}
	if len(got.Render) != 2 || got.Render[0].Name != "workers" || got.Render[1].Name != "hosts" {
		t.Fatalf("render: %+v", got.Render)
	}
	if w := got.Render[0]; w.Template != "hadoop-workers" || w.Destination != "/tmp/w" || w.Mode != 0o600 {
		t.Errorf("workers not merged field-wise: %+v", w)
	}
	if src := got.Source(`coordinator.group["web"].max`); src != "b.hcl:4:5" {
		t.Errorf("source of web.max = %q, want b.hcl:4:5", src)
	}
	if src := got.Source(`coordinator.group["web"].min`); src != "a.hcl:4:5" {
		t.Errorf("source of web.min = %q, want a.hcl:4:5", src)
	}
	// A field left at its default in a block names the block that declared it.
	if src := got.Source(`coordinator.group["cache"].min`); src != "b.hcl:6:3" {
		t.Errorf("source of cache.min = %q, want the block at b.hcl:6:3", src)
	}
}

func TestMergeDoesNotModifyInputs(t *testing.T) {
	a := mustDecode(t, "tags = { rack = \"a\" }\nrender \"r\" {\n  status = [\"alive\"]\n}\n")
	b := mustDecode(t, "tags = { disk = \"ssd\" }\nrender \"r\" {\n  status = [\"dead\"]\n}\nrole = \"x\"\n")
	aBefore, bBefore := a.clone(), b.clone()
	got := a.Merge(b)
	got.Tags["new"] = "1"
	got.Render[0].Status[0] = "left"
	if !reflect.DeepEqual(a, aBefore) || !reflect.DeepEqual(b, bBefore) {
		t.Errorf("Merge or its result changed an input:\na=%v\nb=%v", a.Redacted(), b.Redacted())
	}
	if got.Merge(nil).Role != "x" {
		t.Errorf("Merge(nil) lost values")
	}
}
