package config

import (
	"errors"
	"flag"
	"reflect"
)

// Flags are the agent's command-line flags. The zero value is ready for
// Register; Load applies what was given.
type Flags struct {
	// ConfigFiles are the -config files in the order given.
	ConfigFiles []string
	// ConfigDirs are the -config-dir directories in the order given.
	ConfigDirs []string
	// Dev is -dev: the "local" gossip profile, gossip without keys allowed
	// and data_dir under the temporary directory, as a preset that files,
	// environment and the other flags override.
	Dev bool
	// Values are the field flags that were given, by flag name without the
	// dash ("port": "7947"). Register fills it; tests may set it directly.
	Values map[string]string
}

// flagFields maps each field flag to the field it sets.
var flagFields = []struct{ name, path, usage string }{
	{"cluster", "cluster", "cluster name (env FARMHAND_CLUSTER)"},
	{"data-dir", "data_dir", "state directory (env FARMHAND_DATA_DIR; default /var/lib/farmhand)"},
	{"socket", "socket", "local API socket (env FARMHAND_SOCKET; default /run/farmhand/farmhand.sock)"},
	{"log-level", "log_level", "trace, debug, info, warn or error (env FARMHAND_LOG_LEVEL; default info)"},
	{"log-json", "log_json", "log JSON lines (env FARMHAND_LOG_JSON)"},
	{"role", "role", "node role, the member tag \"role\" (env FARMHAND_ROLE; default worker)"},
	{"retry-join", "retry_join", "known members' addresses to join beside the registry, host[:port],... (env FARMHAND_RETRY_JOIN)"},
	{"metrics-addr", "metrics_addr", "host:port for Prometheus metrics, loopback unless a central Prometheus scrapes it (env FARMHAND_METRICS_ADDR)"},
	{"ui", "ui", "serve the read-only farm page at / on metrics_addr (env FARMHAND_UI)"},
	{"imds-endpoint", "identity.imds_endpoint", "IMDS base URL (env FARMHAND_IMDS_ENDPOINT)"},
	{"bind", "gossip.bind_addr", "gossip bind address (env FARMHAND_BIND; default the private IP)"},
	{"port", "gossip.port", "gossip port (env FARMHAND_PORT; default 7946)"},
	{"bucket", "registry.bucket", "S3 registry bucket (env FARMHAND_S3_BUCKET)"},
	{"s3-endpoint", "registry.endpoint", "S3-compatible endpoint URL (env FARMHAND_S3_ENDPOINT)"},
}

// Register defines the flags on fs: -config (repeatable), -config-dir
// (repeatable), -dev and one flag per entry of the field flag table.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Func("config", "HCL config `file` (repeatable; later files win)", func(s string) error {
		f.ConfigFiles = append(f.ConfigFiles, s)
		return nil
	})
	fs.Func("config-dir", "`directory` whose *.hcl files are read in lexical order, after -config (repeatable)", func(s string) error {
		f.ConfigDirs = append(f.ConfigDirs, s)
		return nil
	})
	fs.BoolVar(&f.Dev, "dev", false, "development mode: gossip profile local, no gossip key needed, data_dir under the temp directory")
	for _, ff := range flagFields {
		fs.Var(&flagValue{flags: f, name: ff.name, path: ff.path}, ff.name, ff.usage)
	}
}

// decode returns Default() overlaid with the field flags given.
func (f *Flags) decode() (*Config, error) {
	c := Default()
	var errs []error
	known := map[string]bool{}
	for _, ff := range flagFields {
		known[ff.name] = true
		if s, ok := f.Values[ff.name]; ok {
			if err := c.setText(ff.path, s, "flag -"+ff.name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for name := range f.Values {
		if !known[name] {
			errs = append(errs, &FieldError{Source: "flag -" + name, Problem: "unknown flag; see farmhand agent -h"})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// flagValue is one field flag; it checks the value when parsed and keeps
// the text in Flags.Values.
type flagValue struct {
	flags *Flags
	name  string
	path  string
}

// String returns the value given, or "".
func (v *flagValue) String() string {
	if v == nil || v.flags == nil {
		return ""
	}
	return v.flags.Values[v.name]
}

// Set checks s against the field's type and stores it.
func (v *flagValue) Set(s string) error {
	if _, err := parseText(v.fieldType(), s); err != nil {
		return err
	}
	if v.flags.Values == nil {
		v.flags.Values = map[string]string{}
	}
	v.flags.Values[v.name] = s
	return nil
}

// IsBoolFlag lets boolean flags go without a value (-log-json).
func (v *flagValue) IsBoolFlag() bool {
	return v.fieldType().Kind() == reflect.Bool
}

func (v *flagValue) fieldType() reflect.Type {
	return fieldByPath(reflect.ValueOf(Default()).Elem(), v.path).Type()
}
