package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// The Go types that HCL spells as strings, and their parsers.
var (
	durationType = reflect.TypeFor[time.Duration]()
	modeType     = reflect.TypeFor[os.FileMode]()
	keyType      = reflect.TypeFor[[]byte]()   // base64; always a secret
	keysType     = reflect.TypeFor[[][]byte]() // list of base64; secrets
)

// parseText converts s, the text of an environment variable or flag or the
// string form of a duration, mode or key, to type t. Lists are
// comma-separated. The error describes the value, not the field.
func parseText(t reflect.Type, s string) (reflect.Value, error) {
	switch t {
	case durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return reflect.Value{}, fmt.Errorf(`invalid duration %q, want e.g. "30s", "5m" or "24h"`, s)
		}
		return reflect.ValueOf(d), nil
	case modeType:
		m, err := parseMode(s)
		return reflect.ValueOf(m), err
	case keyType:
		k, err := parseKey(s)
		return reflect.ValueOf(k), err
	case keysType:
		var keys [][]byte
		for i, part := range splitList(s) {
			k, err := parseKey(part)
			if err != nil {
				return reflect.Value{}, fmt.Errorf("key %d: %w", i+1, err)
			}
			keys = append(keys, k)
		}
		return reflect.ValueOf(keys), nil
	}
	switch t.Kind() {
	case reflect.String:
		return reflect.ValueOf(s).Convert(t), nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("invalid boolean %q, want true or false", s)
		}
		return reflect.ValueOf(b), nil
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("invalid integer %q", s)
		}
		return reflect.ValueOf(n), nil
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("invalid number %q", s)
		}
		return reflect.ValueOf(f), nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return reflect.ValueOf(splitList(s)), nil
		}
	}
	panic("config: no text form for type " + t.String())
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items.
func splitList(s string) []string {
	out := []string{}
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseMode parses an octal permission such as "0660".
func parseMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf(`invalid mode %q, want an octal string such as "0660"`, s)
	}
	if n&^0o777 != 0 {
		return 0, fmt.Errorf("mode %q has bits beyond 0777; give only permission bits", s)
	}
	return os.FileMode(n), nil
}

// parseKey decodes a standard base64 key.
func parseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		// The base64 error quotes no input, so it never leaks the secret.
		return nil, fmt.Errorf(`key is not valid base64 (make one with "farmhand keygen"): %w`, err)
	}
	return k, nil
}

// checkGossipKey says whether k is an AES-128/192/256 key.
func checkGossipKey(k []byte) error {
	switch len(k) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf(`key decodes to %d bytes; AES keys are 16, 24 or 32 bytes (make one with "farmhand keygen")`, len(k))
}

// errNull is returned for null values, which callers treat as unset.
var errNull = errors.New("null")

// fromCty stores an HCL value into v. Durations, modes and keys are
// strings parsed by parseText; everything else converts as HCL converts
// (so port = "7946" is accepted, port = "x" is not). The error describes the
// value, not the field.
func fromCty(v reflect.Value, val cty.Value) error {
	if val.IsNull() {
		return errNull
	}
	switch v.Type() {
	case durationType, modeType, keyType:
		s, err := convert.Convert(val, cty.String)
		if err != nil {
			return fmt.Errorf("wrong type: %w", err)
		}
		x, err := parseText(v.Type(), s.AsString())
		if err != nil {
			return err
		}
		v.Set(x)
		return nil
	case keysType:
		var strs []string
		if err := fromCty(reflect.ValueOf(&strs).Elem(), val); err != nil {
			return err
		}
		keys := make([][]byte, 0, len(strs))
		for i, s := range strs {
			k, err := parseKey(s)
			if err != nil {
				return fmt.Errorf("key %d: %w", i+1, err)
			}
			keys = append(keys, k)
		}
		v.Set(reflect.ValueOf(keys))
		return nil
	}
	ty, err := gocty.ImpliedType(v.Addr().Interface())
	if err != nil {
		panic("config: no HCL type for " + v.Type().String())
	}
	conv, err := convert.Convert(val, ty)
	if err != nil {
		return fmt.Errorf("wrong type: %w", err)
	}
	// Decode into a fresh value so a failure leaves v untouched.
	n := reflect.New(v.Type())
	if err := gocty.FromCtyValue(conv, n.Interface()); err != nil {
		return fmt.Errorf("wrong value: %w", err)
	}
	v.Set(n.Elem())
	return nil
}
