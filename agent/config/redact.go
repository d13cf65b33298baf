package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// redacted stands in for a secret (gossip keys, the signing key).
const redacted = "(redacted)"

// Redacted returns the configuration as nested maps keyed by HCL names,
// ready for JSON: durations as "30s", modes as "0660", labelled blocks as
// maps keyed by label, and every secret as "(redacted)", or "" when unset.
func (c *Config) Redacted() map[string]any {
	return plainStruct(reflect.ValueOf(c).Elem())
}

// String renders the configuration as HCL with secrets redacted, for
// "farmhand info" and logs.
func (c *Config) String() string {
	f := hclwrite.NewEmptyFile()
	writeBody(f.Body(), reflect.ValueOf(c).Elem())
	return string(hclwrite.Format(f.Bytes()))
}

// GoString is String, so %#v does not print secrets either.
func (c *Config) GoString() string { return c.String() }

// MarshalJSON encodes Redacted, so a Config never leaks secrets as JSON.
func (c *Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.Redacted()) }

// String renders the gossip block as HCL with the keys redacted.
func (g GossipConfig) String() string { return blockString(reflect.ValueOf(g)) }

// GoString is String.
func (g GossipConfig) GoString() string { return g.String() }

// MarshalJSON encodes the block with the keys redacted.
func (g GossipConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(plainStruct(reflect.ValueOf(g)))
}

// String renders the registry block as HCL with the signing key redacted.
func (r RegistryConfig) String() string { return blockString(reflect.ValueOf(r)) }

// GoString is String.
func (r RegistryConfig) GoString() string { return r.String() }

// MarshalJSON encodes the block with the signing key redacted.
func (r RegistryConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(plainStruct(reflect.ValueOf(r)))
}

// blockString renders one block's body as HCL.
func blockString(v reflect.Value) string {
	f := hclwrite.NewEmptyFile()
	writeBody(f.Body(), v)
	return string(hclwrite.Format(f.Bytes()))
}

// plain returns an attribute's value in printable form, secrets redacted.
func plain(v reflect.Value) any {
	switch v.Type() {
	case durationType:
		return formatDuration(time.Duration(v.Int()))
	case modeType:
		return fmt.Sprintf("%04o", v.Uint())
	case keyType:
		if v.Len() == 0 {
			return ""
		}
		return redacted
	case keysType:
		out := make([]string, v.Len())
		for i := range out {
			out[i] = redacted
		}
		return out
	}
	switch v.Kind() {
	case reflect.Slice:
		out := make([]string, v.Len())
		copy(out, v.Interface().([]string))
		return out
	case reflect.Map:
		out := make(map[string]string, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[it.Key().String()] = it.Value().String()
		}
		return out
	}
	return v.Interface()
}

// formatDuration is time.Duration.String without zero tails: "5m", "24h".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// formatPlain prints a plain value, quoting strings.
func formatPlain(x any) string {
	if s, ok := x.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(x)
}

// plainStruct is a struct as nested maps of plain values.
func plainStruct(v reflect.Value) map[string]any {
	out := map[string]any{}
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		switch f.kind {
		case kindAttr:
			out[f.name] = plain(fv)
		case kindBlock:
			out[f.name] = plainStruct(fv)
		case kindBlocks:
			m := map[string]any{}
			for i := range fv.Len() {
				m[labelOf(fv.Index(i))] = plainStruct(fv.Index(i))
			}
			out[f.name] = m
		}
	}
	return out
}

// writeBody writes a struct as HCL: attributes first, then blocks, in
// declaration order.
func writeBody(body *hclwrite.Body, v reflect.Value) {
	fields := fieldsOf(v.Type())
	for _, f := range fields {
		if f.kind == kindAttr {
			body.SetAttributeValue(f.name, toCty(plain(v.Field(f.index))))
		}
	}
	for _, f := range fields {
		fv := v.Field(f.index)
		switch f.kind {
		case kindBlock:
			body.AppendNewline()
			writeBody(body.AppendNewBlock(f.name, nil).Body(), fv)
		case kindBlocks:
			for i := range fv.Len() {
				body.AppendNewline()
				writeBody(body.AppendNewBlock(f.name, []string{labelOf(fv.Index(i))}).Body(), fv.Index(i))
			}
		}
	}
}

// toCty converts a plain value to cty for hclwrite.
func toCty(x any) cty.Value {
	switch x := x.(type) {
	case string:
		return cty.StringVal(x)
	case bool:
		return cty.BoolVal(x)
	case int:
		return cty.NumberIntVal(int64(x))
	case float64:
		return cty.NumberFloatVal(x)
	case []string:
		if len(x) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		vals := make([]cty.Value, len(x))
		for i, s := range x {
			vals[i] = cty.StringVal(s)
		}
		return cty.ListVal(vals)
	case map[string]string:
		if len(x) == 0 {
			return cty.MapValEmpty(cty.String)
		}
		vals := make(map[string]cty.Value, len(x))
		for k, s := range x {
			vals[k] = cty.StringVal(s)
		}
		return cty.MapVal(vals)
	}
	panic(fmt.Sprintf("config: no HCL form for %T", x))
}
