package config

import (
	"reflect"
	"testing"
)

func TestDecodeEnvSetsEveryVariable(t *testing.T) {
	key1, key2 := testKey(16, 1), testKey(32, 2)
	env := map[string]string{
		"FARMHAND_CLUSTER":       "farm",
		"FARMHAND_DATA_DIR":      "/d",
		"FARMHAND_SOCKET":        "/s.sock",
		"FARMHAND_LOG_LEVEL":     "debug",
		"FARMHAND_LOG_JSON":      "true",
		"FARMHAND_ROLE":          "db",
		"FARMHAND_METRICS_ADDR":  "127.0.0.1:9000",
		"FARMHAND_UI":            "true",
		"FARMHAND_IMDS_ENDPOINT": "http://127.0.0.1:1",
		"FARMHAND_BIND":          "127.0.0.2",
		"FARMHAND_PORT":          "7001",
		"FARMHAND_GOSSIP_KEY":    key1 + ", " + key2,
		"FARMHAND_S3_BUCKET":     "bkt",
		"FARMHAND_S3_PREFIX":     "pfx",
		"FARMHAND_S3_ENDPOINT":   "http://127.0.0.1:2",
		"FARMHAND_S3_REGION":     "eu-west-1",
		"FARMHAND_S3_PATH_STYLE": "1",
		"FARMHAND_EC2_ENDPOINT":  "http://127.0.0.1:3",
		"FARMHAND_RETRY_JOIN":    "10.0.0.5,dn1.farm:7947",
	}
	c, err := DecodeEnv(envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Cluster, c.DataDir, c.Socket, c.LogLevel, c.LogJSON, c.Role, c.MetricsAddr,
		c.Identity.IMDSEndpoint, c.Gossip.BindAddr, c.Gossip.Port, len(c.Gossip.Keys),
		c.Registry.Bucket, c.Registry.Prefix, c.Registry.Endpoint, c.Registry.Region, c.Registry.PathStyle,
		c.EC2.Endpoint, len(c.RetryJoin), c.UI}
	want := []any{"farm", "/d", "/s.sock", "debug", true, "db", "127.0.0.1:9000",
		"http://127.0.0.1:1", "127.0.0.2", 7001, 2,
		"bkt", "pfx", "http://127.0.0.1:2", "eu-west-1", true,
		"http://127.0.0.1:3", 2, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if len(c.Gossip.Keys[1]) != 32 {
		t.Errorf("second key has %d bytes, want 32", len(c.Gossip.Keys[1]))
	}
	if len(env) != len(envVars) {
		t.Errorf("test covers %d variables, the table has %d", len(env), len(envVars))
	}
	if src := c.Source("gossip.port"); src != "env FARMHAND_PORT" {
		t.Errorf("Source = %q", src)
	}
}

func TestDecodeEnvEmptyIsUnset(t *testing.T) {
	c, err := DecodeEnv(envMap(map[string]string{"FARMHAND_SOCKET": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.origins) != 0 {
		t.Errorf("empty variables set fields: %v", c.origins)
	}
}

func TestDecodeEnvErrorsNameTheVariable(t *testing.T) {
	_, err := DecodeEnv(envMap(map[string]string{
		"FARMHAND_PORT":          "seventy",
		"FARMHAND_LOG_JSON":      "yes please",
		"FARMHAND_GOSSIP_KEY":    testKey(16, 1) + ",%%%",
		"FARMHAND_S3_PATH_STYLE": "maybe",
	}))
	wantErr(t, err,
		`env FARMHAND_PORT: gossip.port: invalid integer "seventy"`,
		`env FARMHAND_LOG_JSON: log_json: invalid boolean "yes please"`,
		"env FARMHAND_GOSSIP_KEY: gossip.keys: key 2: key is not valid base64",
		"env FARMHAND_S3_PATH_STYLE: registry.path_style")
}
