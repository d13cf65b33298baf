package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/farmhand/farmhand/membership"
)

// Target is a compiled Spec: a parsed template and a checked destination.
// It is safe for concurrent use.
type Target struct {
	spec  Spec
	tmpl  *template.Template
	owner fileOwner
}

// Compile checks a render block at load time: the template parses and runs
// on a sample view, the filter is valid, and the destination directory
// exists and is writable. Errors name the block, e.g.
// `render "workers": template does not parse: template: /etc/x.tmpl:3: ...`.
func Compile(spec Spec) (*Target, error) {
	spec = spec.withDefaults()
	fail := func(format string, args ...any) (*Target, error) {
		return nil, fmt.Errorf("render %q: "+format, append([]any{spec.Name}, args...)...)
	}
	tmpl, err := parseTemplate(spec.Template)
	if err != nil {
		return fail("%w", err)
	}
	if err := spec.Filter.validate(); err != nil {
		return fail("%w", err)
	}
	if spec.WaitMin < 0 || spec.WaitMax < 0 || spec.Stable < 0 || spec.ReloadTimeout < 0 {
		return fail("wait_min, wait_max, stable and reload_timeout must not be negative")
	}
	if spec.WaitMax < spec.WaitMin {
		return fail("wait_max (%s) is below wait_min (%s); raise wait_max or set it to 0 for 4 x wait_min", spec.WaitMax, spec.WaitMin)
	}
	if spec.Mode&^os.ModePerm != 0 {
		return fail("mode %#o has bits beyond the permission bits; use e.g. 0644", uint32(spec.Mode))
	}
	if err := checkDestination(spec.Destination); err != nil {
		return fail("%w", err)
	}
	owner, err := lookupOwner(spec.Owner, spec.Group)
	if err != nil {
		return fail("%w", err)
	}
	t := &Target{spec: spec, tmpl: tmpl, owner: owner}
	if _, err := t.execute(sampleData()); err != nil {
		return fail("template %s fails on a sample view: %w", spec.Template, err)
	}
	return t, nil
}

// Spec returns the block with its defaults applied.
func (t *Target) Spec() Spec { return t.spec }

// Render executes the template on a view: .All is the whole view and
// .Members the part that passes the block's Filter, both sorted.
func (t *Target) Render(cluster string, view []membership.Member, local membership.Member) ([]byte, error) {
	out, err := t.execute(NewData(cluster, view, local, t.spec.Filter))
	if err != nil {
		return nil, fmt.Errorf("render %q: %w", t.spec.Name, err)
	}
	return out, nil
}

// Write puts content at the destination atomically with the block's mode
// and owner, and only when it differs from what is there. It reports
// whether the file content changed.
//
// changed can be true together with an error: the new content is in place
// (renamed) but a later step such as the directory fsync failed. The
// caller must still treat the file as changed, or its reload is lost.
func (t *Target) Write(content []byte) (changed bool, err error) {
	changed, err = writeFile(t.spec.Destination, content, t.spec.Mode, t.owner)
	if err != nil {
		return changed, fmt.Errorf("render %q: %w", t.spec.Name, err)
	}
	return changed, nil
}

func (t *Target) execute(d Data) ([]byte, error) {
	return executeTemplate(t.tmpl, d)
}

// RenderOnce renders the built-in template or template file nameOrPath on
// data, for `farmhand render`. Build data with NewData.
func RenderOnce(nameOrPath string, data Data) ([]byte, error) {
	tmpl, err := parseTemplate(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	out, err := executeTemplate(tmpl, data)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return out, nil
}

func executeTemplate(tmpl *template.Template, d Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkDestination verifies that path is absolute and that its directory
// exists and accepts a new file.
func checkDestination(path string) error {
	if path == "" {
		return fmt.Errorf("destination is empty; set it to the absolute path of the file to write")
	}
	if !filepath.IsAbs(path) {
		return fmt.Errorf("destination %q is not an absolute path", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("destination directory %s: %w; create it first", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("destination directory %s is not a directory", dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("destination %s is a directory; name a file", path)
	}
	f, err := os.CreateTemp(dir, ".farmhand-check-*")
	if err != nil {
		return fmt.Errorf("destination directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("destination directory %s: cannot remove probe file: %w", dir, err)
	}
	return nil
}

// sampleData is a small view that exercises every status, used to run a
// template once at load time.
func sampleData() Data {
	since := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	local := membership.Member{Name: "i-00000000000000001", Addr: "10.0.0.1", Port: 7946,
		Status: membership.StatusAlive, Since: since, Tags: map[string]string{TagRole: "worker", "az": "a"}}
	view := []membership.Member{local,
		{Name: "i-00000000000000002", Addr: "10.0.0.2", Port: 7946, Status: membership.StatusSuspect, Since: since},
		{Name: "i-00000000000000003", Addr: "10.0.0.3", Port: 7946, Status: membership.StatusDead, Since: since,
			Tags: map[string]string{TagRole: "worker", TagHostname: "w3.example"}},
		{Name: "i-00000000000000004", Addr: "10.0.0.4", Port: 7946, Status: membership.StatusLeft, Since: since},
	}
	return NewData("sample", view, local, Filter{})
}

func joinBuiltins() string { return strings.Join(Builtins(), ", ") }
