package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// The schema is the Config struct itself: each field's hcl tag gives its
// name and whether it is an attribute, a block (a struct field), a list of
// labelled blocks (a slice of structs) or the label of such a block.
// Decoding, merging, diffing and printing all walk it, so a new field needs
// only a struct field and its default.

// fieldKind says how a struct field appears in HCL.
type fieldKind int

const (
	kindAttr   fieldKind = iota // name = value
	kindBlock                   // name { ... } at most once
	kindBlocks                  // name "label" { ... } any number of times
	kindLabel                   // the label of a kindBlocks element
)

// field is one hcl-tagged struct field.
type field struct {
	name  string
	index int
	kind  fieldKind
}

// fieldsOf lists the hcl-tagged fields of struct type t in declaration
// order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, opt, _ := strings.Cut(tag, ",")
		f := field{name: name, index: i}
		switch opt {
		case "":
			f.kind = kindAttr
		case "label":
			f.kind = kindLabel
		case "block":
			f.kind = kindBlock
			if t.Field(i).Type.Kind() == reflect.Slice {
				f.kind = kindBlocks
			}
		default:
			panic(fmt.Sprintf("config: field %s.%s: unknown hcl tag option %q", t.Name(), t.Field(i).Name, opt))
		}
		out = append(out, f)
	}
	return out
}

// joinPath appends a field name to a path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// labelPath is the path of a labelled block: `coordinator.group["worker"]`.
func labelPath(path, label string) string {
	return fmt.Sprintf("%s[%q]", path, label)
}

// labelRE is what a block label may be: no '.', '[' or quotes, so that
// field paths stay unambiguous.
var labelRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

// labelOf returns the label of a labelled block element.
func labelOf(v reflect.Value) string {
	for _, f := range fieldsOf(v.Type()) {
		if f.kind == kindLabel {
			return v.Field(f.index).String()
		}
	}
	panic("config: labelled block type " + v.Type().Name() + " has no label field")
}

// indexOfLabel finds the element labelled label in a slice of blocks.
func indexOfLabel(list reflect.Value, label string) int {
	for i := range list.Len() {
		if labelOf(list.Index(i)) == label {
			return i
		}
	}
	return -1
}

// newBlock returns the defaults of a labelled block of type t.
func newBlock(t reflect.Type, label string) reflect.Value {
	p := reflect.New(t)
	p.Interface().(interface{ reset(string) }).reset(label)
	return p.Elem()
}

// fieldByPath finds the attribute at a dotted path of singular blocks
// ("gossip.port") in the struct v. It panics on a path the schema lacks: the
// paths come from this package's tables.
func fieldByPath(v reflect.Value, path string) reflect.Value {
	for _, name := range strings.Split(path, ".") {
		found := false
		for _, f := range fieldsOf(v.Type()) {
			if f.name == name && (f.kind == kindAttr || f.kind == kindBlock) {
				v, found = v.Field(f.index), true
				break
			}
		}
		if !found {
			panic("config: no field " + path)
		}
	}
	return v
}

// deepCopy returns a copy of v sharing no slices or maps with it.
// Unexported struct fields are left zero.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			if n.Field(i).CanSet() {
				n.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return n
	default:
		return v
	}
}
