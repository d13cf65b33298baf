package config

import (
	"errors"
	"reflect"
)

// envVars maps each environment variable to the field it sets.
var envVars = []struct{ name, path string }{
	{"FARMHAND_CLUSTER", "cluster"},
	{"FARMHAND_DATA_DIR", "data_dir"},
	{"FARMHAND_SOCKET", "socket"},
	{"FARMHAND_LOG_LEVEL", "log_level"},
	{"FARMHAND_LOG_JSON", "log_json"},
	{"FARMHAND_ROLE", "role"},
	{"FARMHAND_RETRY_JOIN", "retry_join"},
	{"FARMHAND_METRICS_ADDR", "metrics_addr"},
	{"FARMHAND_UI", "ui"},
	{"FARMHAND_IMDS_ENDPOINT", "identity.imds_endpoint"},
	{"FARMHAND_BIND", "gossip.bind_addr"},
	{"FARMHAND_PORT", "gossip.port"},
	{"FARMHAND_GOSSIP_KEY", "gossip.keys"},
	{"FARMHAND_S3_BUCKET", "registry.bucket"},
	{"FARMHAND_S3_PREFIX", "registry.prefix"},
	{"FARMHAND_S3_ENDPOINT", "registry.endpoint"},
	{"FARMHAND_S3_REGION", "registry.region"},
	{"FARMHAND_S3_PATH_STYLE", "registry.path_style"},
	{"FARMHAND_EC2_ENDPOINT", "ec2.endpoint"},
}

// DecodeEnv reads the FARMHAND_* variables through getenv and returns
// Default() overlaid with the non-empty ones. FARMHAND_GOSSIP_KEY is a
// comma-separated list of base64 keys, the first primary. Errors name the
// variable.
func DecodeEnv(getenv func(string) string) (*Config, error) {
	c := Default()
	var errs []error
	for _, e := range envVars {
		if s := getenv(e.name); s != "" {
			if err := c.setText(e.path, s, "env "+e.name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// setText parses s into the field at path and records source as its
// origin. The error names source and field.
func (c *Config) setText(path, s, source string) error {
	fv := fieldByPath(reflect.ValueOf(c).Elem(), path)
	x, err := parseText(fv.Type(), s)
	if err != nil {
		return &FieldError{Source: source, Field: path, Problem: err.Error()}
	}
	fv.Set(x)
	c.setOrigin(path, source)
	return nil
}
