package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestSecretsStayOutOfLogsInfoAndMetrics runs an agent with a gossip key and
// a registry signing key at debug level, then looks for either key, in
// base64 or raw, in its logs, `info` and the metrics page.
func TestSecretsStayOutOfLogsInfoAndMetrics(t *testing.T) {
	f := newFarm(t)
	cfg := f.config(nodeName(0), "c1")
	gossipKey := []byte("0123456789abcdef0123456789abcdef")
	signKey := []byte("signing-key-that-is-secret")
	cfg.Gossip.Insecure = false
	cfg.Gossip.Keys = [][]byte{gossipKey}
	cfg.Registry.SigningKey = signKey
	cfg.LogLevel = "trace"
	port := testutil.FreePort(t, net.IPv4(127, 0, 0, 1))
	cfg.MetricsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	var logs testutil.Buffer
	a, err := New(cfg, Options{
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: io.MultiWriter(&logs, testutil.LogWriter(t)), JSONFormat: true}),
		S3:     f.s3Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-a.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("agent not ready")
	}

	// A peer, so memberlist probes and gossips and reports metrics.
	peer := f.config(nodeName(1), "c1")
	peer.Gossip.Insecure, peer.Gossip.Keys, peer.Registry.SigningKey = false, [][]byte{gossipKey}, signKey
	f.start(peer)

	st, err := client.New(cfg.Socket).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(st)
	var metrics []byte
	testutil.Run(t, 20*time.Second, func(r *testutil.R) {
		resp, err := http.Get("http://" + cfg.MetricsAddr + "/metrics")
		if err != nil {
			r.Fatalf("%v", err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(metrics), "farmhand_registry_requests_total") || !strings.Contains(string(metrics), "farmhand_memberlist_") {
			r.Fatalf("metrics page lacks farmhand's or memberlist's metrics")
		}
	})

	for _, secret := range [][]byte{gossipKey, signKey} {
		for _, form := range []string{string(secret), base64.StdEncoding.EncodeToString(secret)} {
			for where, text := range map[string]string{"logs": logs.String(), "info": string(info), "metrics": string(metrics)} {
				if strings.Contains(text, form) {
					t.Errorf("a secret appears in the %s", where)
				}
			}
		}
	}
	if strings.Contains(logs.String(), "not encrypted") {
		t.Error("the insecure warning was logged although a key is set")
	}
}

func TestInsecureGossipIsWarned(t *testing.T) {
	f := newFarm(t)
	cfg := f.config(nodeName(0), "c1") // insecure = true
	var logs testutil.Buffer
	a, err := New(cfg, Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs}), S3: f.s3Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	<-a.Ready()
	cancel()
	<-done
	if !strings.Contains(logs.String(), "gossip is not encrypted") {
		t.Fatalf("no warning about insecure gossip in:\n%s", logs.String())
	}
}
