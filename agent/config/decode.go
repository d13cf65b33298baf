package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Decode parses HCL source and returns Default() overlaid with it; only the
// fields the source sets count as set for Merge. filename names the source
// in errors. It does not Validate: a file may hold part of a configuration.
func Decode(filename string, src []byte) (*Config, error) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, errors.Join(diagErrors(diags, nil, "")...)
	}
	c := Default()
	if errs := decodeBody(c, file.Body, reflect.ValueOf(c).Elem(), ""); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// DecodeFile decodes one HCL file (see Decode).
func DecodeFile(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &FieldError{Source: path, Problem: "cannot read the config file", Err: err}
	}
	return Decode(path, src)
}

// DecodeDir decodes every *.hcl file in dir (not subdirectories, not dot
// files) in lexical order, each merged over the ones before. A directory
// without such files gives the defaults. Errors of all files are returned
// together.
func DecodeDir(dir string) (*Config, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &FieldError{Source: dir, Problem: "cannot read the config directory", Err: err}
	}
	c := Default()
	var errs []error
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".hcl") || strings.HasPrefix(name, ".") {
			continue
		}
		layer, err := DecodeFile(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c = c.Merge(layer)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// decodeBody decodes an HCL body into the struct v, whose field path is
// path, recording in c.origins what it set.
func decodeBody(c *Config, body hcl.Body, v reflect.Value, path string) []error {
	fields := fieldsOf(v.Type())
	schema := &hcl.BodySchema{}
	for _, f := range fields {
		switch f.kind {
		case kindAttr:
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: f.name})
		case kindBlock:
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: f.name})
		case kindBlocks:
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: f.name, LabelNames: []string{"name"}})
		}
	}
	content, diags := body.Content(schema)
	errs := diagErrors(diags, body, path)
	for _, f := range fields {
		fv, p := v.Field(f.index), joinPath(path, f.name)
		switch f.kind {
		case kindAttr:
			if a := content.Attributes[f.name]; a != nil {
				errs = append(errs, decodeAttr(c, a, fv, p)...)
			}
		case kindBlock:
			blocks := content.Blocks.OfType(f.name)
			for _, dup := range blocks[min(1, len(blocks)):] {
				errs = append(errs, &FieldError{Source: rangeSource(dup.DefRange), Field: p,
					Problem: fmt.Sprintf("duplicate %s block (the first is at %s); merge them into one", f.name, rangeSource(blocks[0].DefRange))})
			}
			if len(blocks) > 0 {
				c.setOrigin(p, rangeSource(blocks[0].DefRange))
				errs = append(errs, decodeBody(c, blocks[0].Body, fv, p)...)
			}
		case kindBlocks:
			errs = append(errs, decodeLabelled(c, content.Blocks.OfType(f.name), fv, p)...)
		}
	}
	return errs
}

// decodeAttr evaluates one attribute into fv. A null value leaves the field
// unset.
func decodeAttr(c *Config, a *hcl.Attribute, fv reflect.Value, p string) []error {
	val, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diagErrors(diags, nil, p)
	}
	if err := fromCty(fv, val); err != nil {
		if errors.Is(err, errNull) {
			return nil
		}
		return []error{&FieldError{Source: rangeSource(a.Expr.Range()), Field: p, Problem: err.Error()}}
	}
	c.setOrigin(p, rangeSource(a.NameRange))
	return nil
}

// decodeLabelled decodes the labelled blocks of one type into the slice
// list, each starting from its defaults.
func decodeLabelled(c *Config, blocks hcl.Blocks, list reflect.Value, p string) []error {
	var errs []error
	first := map[string]hcl.Range{}
	for _, b := range blocks {
		label := b.Labels[0]
		src := rangeSource(b.DefRange)
		if !labelRE.MatchString(label) {
			errs = append(errs, &FieldError{Source: src, Field: labelPath(p, label),
				Problem: "invalid block label; use 1 to 63 letters, digits, '_' or '-'"})
			continue
		}
		lp := labelPath(p, label)
		if r, dup := first[label]; dup {
			errs = append(errs, &FieldError{Source: src, Field: lp,
				Problem: fmt.Sprintf("duplicate block (the first is at %s); labels must be unique", rangeSource(r))})
			continue
		}
		first[label] = b.DefRange
		elem := newBlock(list.Type().Elem(), label)
		c.setOrigin(lp, src)
		errs = append(errs, decodeBody(c, b.Body, elem, lp)...)
		list.Set(reflect.Append(list, elem))
	}
	return errs
}

// diagErrors turns HCL error diagnostics into FieldErrors. path is the
// block (or attribute) the diagnostics are about; when body is given, an
// unknown argument or block found in it is named in full ("gossip.fanout").
func diagErrors(diags hcl.Diagnostics, body hcl.Body, path string) []error {
	var errs []error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		fe := &FieldError{Field: path, Problem: d.Summary}
		if d.Detail != "" {
			fe.Problem += ": " + d.Detail
		}
		if d.Subject != nil {
			fe.Source = rangeSource(*d.Subject)
			if name := nameAt(body, *d.Subject); name != "" {
				fe.Field = joinPath(path, name)
			}
		}
		errs = append(errs, fe)
	}
	return errs
}

// nameAt returns the name of the argument or block type whose name sits at
// r in body, or "".
func nameAt(body hcl.Body, r hcl.Range) string {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return ""
	}
	for name, a := range sb.Attributes {
		if a.NameRange == r {
			return name
		}
	}
	for _, b := range sb.Blocks {
		if b.TypeRange == r {
			return b.Type
		}
	}
	return ""
}
