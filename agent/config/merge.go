package config

import (
	"maps"
	"reflect"
)

// Merge returns a new Config: c overlaid with every field that other's
// source set (a file, the environment, flags). Fields other left at their
// defaults do not clobber c. Maps merge key by key; labelled blocks (group,
// render) merge by label, field by field; lists replace. Neither input is
// modified. Only fields decoded by this package count as set: a Config built
// in Go code sets nothing.
func (c *Config) Merge(other *Config) *Config {
	out := c.clone()
	if other != nil {
		mergeStruct(out, reflect.ValueOf(out).Elem(), reflect.ValueOf(other).Elem(), "", other)
	}
	return out
}

// Clone returns a deep copy of c, sources included: a configuration to
// change and reload.
func (c *Config) Clone() *Config { return c.clone() }

// clone returns a deep copy of c, origins included.
func (c *Config) clone() *Config {
	out := deepCopy(reflect.ValueOf(c).Elem()).Addr().Interface().(*Config)
	out.origins = maps.Clone(c.origins)
	if out.origins == nil {
		out.origins = map[string]string{}
	}
	return out
}

// mergeStruct copies the fields src set from s into d (both at path),
// recording their origins in dst.
func mergeStruct(dst *Config, d, s reflect.Value, path string, src *Config) {
	for _, f := range fieldsOf(d.Type()) {
		df, sf, p := d.Field(f.index), s.Field(f.index), joinPath(path, f.name)
		if o, ok := src.origins[p]; ok {
			dst.setOrigin(p, o)
		}
		switch f.kind {
		case kindAttr:
			if !src.isSet(p) {
				continue
			}
			if df.Kind() == reflect.Map && !df.IsNil() {
				for it := sf.MapRange(); it.Next(); {
					df.SetMapIndex(it.Key(), it.Value())
				}
				continue
			}
			df.Set(deepCopy(sf))
		case kindBlock:
			mergeStruct(dst, df, sf, p, src)
		case kindBlocks:
			for i := range sf.Len() {
				se := sf.Index(i)
				label := labelOf(se)
				j := indexOfLabel(df, label)
				if j < 0 {
					df.Set(reflect.Append(df, newBlock(se.Type(), label)))
					j = df.Len() - 1
				}
				lp := labelPath(p, label)
				if o, ok := src.origins[lp]; ok {
					dst.setOrigin(lp, o)
				}
				mergeStruct(dst, df.Index(j), se, lp, src)
			}
		}
	}
}
