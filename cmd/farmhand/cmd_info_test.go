package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/bootstrap"
)

func TestInfoText(t *testing.T) {
	_, sock := apiAgent(t)
	r := apiCLI(t, nil, "info", "-socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"Node:", "i-0aa (10.0.0.1:7946)",
		"Cluster:", "prod",
		"State:", "alive",
		"Version:", "v1.2.3",
		"i-0aa m7g.large eu-west-1a ami-123 10.0.0.1",
		"az=eu-west-1a role=master",
		"alive=3 draining=0 suspect=0 dead=1 left=0",
		"put=1 list=2 get=0 delete=0",
		"Joins:", "3", "Reconnects:", "4",
		"Bucket:", "s3://test answers HEAD",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestInfoJSON(t *testing.T) {
	b, sock := apiAgent(t)
	r := apiCLI(t, nil, "info", "-socket", sock, "-format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	want, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got = want
	got.Counts, got.S3 = nil, nil
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if !reflect.DeepEqual(got.Counts, want.Counts) || got.Name != want.Name || got.S3["list"] != 2 || !got.StartedAt.Equal(want.StartedAt) {
		t.Errorf("info JSON = %+v, want %+v", got, want)
	}
}

// TestInfoSaysWhenTheBucketDoesNotAnswer checks info's bucket line and
// JSON field when the agent's HEAD fails.
func TestInfoSaysWhenTheBucketDoesNotAnswer(t *testing.T) {
	b, sock := apiAgent(t)
	b.SetBucket(bootstrap.BucketStatus{Bucket: "farm", Error: `bucket "farm" does not exist (404)`})
	r := apiCLI(t, nil, "info", "-socket", sock)
	if r.code != 0 || !strings.Contains(r.stdout, `s3://farm does NOT answer HEAD: bucket "farm" does not exist (404)`) {
		t.Errorf("info with a missing bucket: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = apiCLI(t, nil, "info", "-socket", sock, "-format", "json")
	var got struct {
		Name   string                 `json:"name"`
		Bucket bootstrap.BucketStatus `json:"bucket"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Name != "i-0aa" || got.Bucket.OK || got.Bucket.Bucket != "farm" {
		t.Errorf("info JSON bucket = %+v (%v)\n%s", got, err, r.stdout)
	}
}

func TestInfoUsage(t *testing.T) {
	if r := apiCLI(t, nil, "info", "-format", "yaml"); r.code != 2 {
		t.Errorf("bad -format: exit %d, want 2", r.code)
	}
}

// A draining node says why, when it leaves, and what on_drain did; a
// rebalance recommendation shows without a drain.
func TestInfoDrain(t *testing.T) {
	now := time.Now()
	st := localapi.Status{Name: "i-0aa", Drain: &localapi.DrainStatus{Draining: true, Reason: "spot-interruption", Action: "terminate",
		Deadline: now.Add(2 * time.Minute), LeaveAt: now.Add(105 * time.Second), OnDrain: "ok", RebalanceAt: now.Add(-time.Minute)}}
	var b strings.Builder
	writeInfo(&b, st, now)
	for _, want := range []string{"Drain:", "draining: spot-interruption (terminate), deadline ", ", leaving in 1m45s", "Rebalance:", "recommended ", "on_drain:", "ok"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("info lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	st.Drain = &localapi.DrainStatus{}
	writeInfo(&b, st, now)
	if !strings.Contains(b.String(), "no (watching IMDS)") || strings.Contains(b.String(), "Rebalance:") {
		t.Errorf("not draining:\n%s", b.String())
	}
}
