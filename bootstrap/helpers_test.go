package bootstrap

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
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

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many log lines contain every one of subs.
func (b *logBuffer) count(subs ...string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, line := range strings.Split(b.buf.String(), "\n") {
		all := line != ""
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			n++
		}
	}
	return n
}

func newLogBuffer() (*logBuffer, hclog.Logger) {
	b := &logBuffer{}
	return b, hclog.New(&hclog.LoggerOptions{Output: b, Level: hclog.Debug})
}
