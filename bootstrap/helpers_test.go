package bootstrap

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/testbed/testutil"
)

const testBucket = "farm-bucket"

// newTestRegistry returns a registry of cluster "blue" over api; edit
// adjusts the config first.
func newTestRegistry(t testing.TB, api S3API, edit func(*RegistryConfig)) *Registry {
	t.Helper()
	cfg := DefaultRegistryConfig()
	cfg.Bucket = testBucket
	cfg.Cluster = "blue"
	if edit != nil {
		edit(&cfg)
	}
	r, err := NewRegistry(api, cfg)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return r
}

// testRecord is a valid record of cluster "blue" for node i.
func testRecord(i int, az string) Record {
	return Record{
		Cluster:      "blue",
		Name:         fmt.Sprintf("i-%017x", i),
		Addr:         fmt.Sprintf("10.0.%d.%d", i/250, 1+i%250),
		Port:         7946,
		AZ:           az,
		Tags:         map[string]string{"role": "worker"},
		AgentVersion: "test",
		StartedAt:    time.Date(2025, 1, 1, 0, 0, 0, i, time.UTC),
	}
}

func newLogBuffer() (*testutil.Buffer, hclog.Logger) {
	b := &testutil.Buffer{}
	return b, hclog.New(&hclog.LoggerOptions{Output: b, Level: hclog.Debug})
}

// countNodes returns how many nodes have a plausible record key (judged by
// key and listed size; nothing is read), as discovery's LastListed would.
func countNodes(ctx context.Context, r *Registry) (int, error) {
	objs, err := r.listObjects(ctx)
	if err != nil {
		return 0, err
	}
	var ok []object
	for _, o := range objs {
		if rec, reason, _, ignore := r.triage(o); reason == "" && !ignore {
			o.rec = rec
			ok = append(ok, o)
		}
	}
	return distinctNames(ok), nil
}
