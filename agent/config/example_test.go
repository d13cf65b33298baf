package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	examplePath = "../../dist/farmhand.hcl"
	docsPath    = "../../docs/configuration.md"
)

// schemaPaths lists every attribute of the schema as "block.name" (labelled
// blocks as "coordinator.group.min"), in declaration order.
func schemaPaths(t reflect.Type, prefix string) []string {
	var out []string
	for _, f := range fieldsOf(t) {
		p := joinPath(prefix, f.name)
		switch f.kind {
		case kindAttr:
			out = append(out, p)
		case kindBlock:
			out = append(out, schemaPaths(t.Field(f.index).Type, p)...)
		case kindBlocks:
			out = append(out, schemaPaths(t.Field(f.index).Type.Elem(), p)...)
		}
	}
	return out
}

func TestExampleFileIsValidAndComplete(t *testing.T) {
	c, err := DecodeFile(examplePath)
	if err != nil {
		t.Fatalf("the example config does not decode: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the example config does not validate: %v", err)
	}
	if c.Cluster != "farm" || c.Registry.Bucket == "" || c.Gossip.KeyFile != "/etc/farmhand/gossip.key" {
		t.Errorf("unexpected values: cluster %q bucket %q key_file %q", c.Cluster, c.Registry.Bucket, c.Gossip.KeyFile)
	}
	if c.SocketMode != 0o660 || c.Gossip.ReapTime != 24*time.Hour || c.Coordinator.FreezeThreshold != 0.55 {
		t.Errorf("typed values: mode %o reap %s freeze %v", c.SocketMode, c.Gossip.ReapTime, c.Coordinator.FreezeThreshold)
	}
	if len(c.Coordinator.Groups) != 1 || c.Coordinator.Groups[0].Name != "worker" || c.Coordinator.Groups[0].Max != 10 {
		t.Errorf("groups: %+v", c.Coordinator.Groups)
	}
	if len(c.Render) != 2 || c.Render[0].Name != "workers" || c.Render[1].Name != "hosts" {
		t.Errorf("render blocks out of order or missing: %+v", c.Render)
	}
	// Every field is shown, so the example documents the whole schema. The
	// only exception: keys and key_file exclude each other.
	g, r := `coordinator.group["worker"]`, `render["workers"]`
	for _, p := range schemaPaths(reflect.TypeFor[Config](), "") {
		switch {
		case p == "gossip.keys":
			continue
		case strings.HasPrefix(p, "coordinator.group."):
			p = g + strings.TrimPrefix(p, "coordinator.group")
		case strings.HasPrefix(p, "render."):
			p = r + strings.TrimPrefix(p, "render")
		case strings.HasPrefix(p, "handler."):
			p = `handler["notify"]` + strings.TrimPrefix(p, "handler")
		}
		if !c.isSet(p) {
			t.Errorf("the example does not show %s", p)
		}
	}
}

// docSections splits a markdown page at its "## " headings, keyed by the
// first `code` word of the heading ("top" for a heading without one).
func docSections(text string) map[string]string {
	out := map[string]string{}
	key := ""
	for line := range strings.SplitSeq(text, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			key = "top"
			if _, rest, ok := strings.Cut(h, "`"); ok {
				key, _, _ = strings.Cut(rest, "`")
			}
		}
		out[key] += line + "\n"
	}
	return out
}

func TestDocsDescribeEveryField(t *testing.T) {
	raw, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	docs := string(raw)
	sections := docSections(docs)
	for _, p := range schemaPaths(reflect.TypeFor[Config](), "") {
		parts := strings.Split(p, ".")
		block := "top"
		if len(parts) > 1 {
			block = parts[len(parts)-2]
		}
		if !strings.Contains(sections[block], "| `"+parts[len(parts)-1]+"` |") {
			t.Errorf("docs/configuration.md has no row for %s in the section of %q", p, block)
		}
	}
	for _, e := range envVars {
		if !strings.Contains(docs, e.name) {
			t.Errorf("docs/configuration.md does not mention %s", e.name)
		}
	}
	for _, f := range flagFields {
		if !strings.Contains(docs, "`-"+f.name+"`") {
			t.Errorf("docs/configuration.md does not mention -%s", f.name)
		}
	}
}

// docs/render.md gives a render block's default status as the code has it:
// every state (a nil Status), not ["alive"].
func TestRenderDocsGiveTheDefaultStatus(t *testing.T) {
	raw, err := os.ReadFile("../../docs/render.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if strings.HasPrefix(line, "| status, role, tags |") {
			row = line
		}
	}
	cells := strings.Split(row, "|")
	if len(cells) < 4 {
		t.Fatalf("docs/render.md has no status row in its field table: %q", row)
	}
	def := strings.TrimSpace(cells[len(cells)-2])
	if DefaultRenderConfig("x").Status != nil || !strings.HasPrefix(def, "every state") {
		t.Errorf("docs/render.md gives the default status as %q; the code's default is %v (nil: every state)", def, DefaultRenderConfig("x").Status)
	}
}
