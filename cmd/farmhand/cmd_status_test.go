package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
	"github.com/farmhand/farmhand/testbed/testutil"
)

// runStatusBinary runs the built "farmhand status" against endpoint with
// the test servers' credentials in the environment, as an operator's
// laptop has them, and nothing else of the AWS chain.
func runStatusBinary(t *testing.T, endpoint string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(testutil.FarmhandBinary(t), append([]string{"status", "-endpoint", endpoint, "-path-style"}, args...)...)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + testutil.S3AccessKey, "AWS_SECRET_ACCESS_KEY=" + testutil.S3SecretKey,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + home + "/none", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/none"}
	return testutil.RunCommand(t, cmd)
}

// putJSON stores v as JSON at key.
func putJSON(t *testing.T, c *s3.Client, bucket, key string, v any) {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	putRaw(t, c, bucket, key, body)
}

func putRaw(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// TestStatusFromS3Alone runs the farmhand binary against gofakes3 and
// versitygw holding a farm's objects as the agents and the leader write
// them: the view with its members, the lease, the ledger, and registry
// records of which one is stale and one is garbage. It then checks what
// status says when the view is old, when the cluster has nothing, and when
// the bucket does not exist.
func TestStatusFromS3Alone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the farmhand binary against S3 servers; skipped with -short")
	}
	const bucket, cluster = "farm-bucket", "prod"
	for _, srv := range testutil.S3Servers {
		t.Run(srv.Name, func(t *testing.T) {
			endpoint := srv.Start(t, bucket)
			c := testutil.NewS3Client(endpoint)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Second)

			// Nothing yet: the bucket answers, the rest is missing.
			code, out, errOut := runStatusBinary(t, endpoint, "-bucket", bucket, "-cluster", cluster)
			if code != 0 {
				t.Fatalf("status of an empty cluster: exit %d\n%s%s", code, out, errOut)
			}
			for _, want := range []string{"bucket:  answers HEAD", "view:    MISSING", "lease:   none", "ledger:  none yet", "registry: 0 record(s)"} {
				if !strings.Contains(out, want) {
					t.Errorf("status of an empty cluster lacks %q:\n%s", want, out)
				}
			}

			// A farm: three records (i-3 dead in the view: stale), garbage,
			// the view, the lease and the ledger.
			rcfg := bootstrap.DefaultRegistryConfig()
			rcfg.Bucket, rcfg.Cluster = bucket, cluster
			reg, err := bootstrap.NewRegistry(bootstrap.S3Calls(c), rcfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, az := range []string{"us-east-1a", "us-east-1b", "us-east-1a"} {
				name := "i-000000000000000" + string(rune('1'+i))
				rec := bootstrap.Record{Name: name, Addr: "10.0.0." + string(rune('1'+i)), Port: 7946, AZ: az, Tags: map[string]string{"role": "worker"}, StartedAt: now.Add(-time.Hour)}
				if err := reg.Register(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			putRaw(t, c, bucket, "farmhand/prod/nodes/i-0000000000000009/us-east-1a/not-an-address", []byte("{"))
			view := coordinator.FarmView{Version: coordinator.ViewVersion, Cluster: cluster, Index: 7, Time: now.Add(-30 * time.Second),
				Members: []coordinator.ViewMember{
					{Name: "i-0000000000000001", Addr: "10.0.0.1", Status: membership.StatusAlive, Role: "worker", AZ: "us-east-1a", Since: now.Add(-time.Hour)},
					{Name: "i-0000000000000002", Addr: "10.0.0.2", Status: membership.StatusAlive, Role: "worker", AZ: "us-east-1b", Since: now.Add(-time.Hour)},
					{Name: "i-0000000000000003", Addr: "10.0.0.3", Status: membership.StatusDead, Role: "worker", AZ: "us-east-1a", Since: now.Add(-time.Minute)},
					{Name: "i-00000000000000c0", Addr: "10.0.0.9", Status: membership.StatusAlive, Role: "coordinator", AZ: "us-east-1a"},
				},
				Coordinator: coordinator.ViewCoordinator{Leader: "i-00000000000000c0", Epoch: 4,
					Groups: []coordinator.GroupStatus{{Name: "workers", Frozen: true, FreezeReason: "3 of 5 unhealthy"}}}}
			putJSON(t, c, bucket, "farmhand/prod/view.json", view)
			putJSON(t, c, bucket, "farmhand/prod/lease", coordinator.StoredLease{Holder: "i-00000000000000c0", Epoch: 4, Expires: now.Add(40 * time.Second)})
			putJSON(t, c, bucket, "farmhand/prod/ledger.json", map[string]any{"version": 1, "cluster": cluster, "epoch": 4, "holder": "i-00000000000000c0", "updated": now,
				"decisions": []coordinator.Decision{
					{Seq: 1, Time: now.Add(-time.Hour), Epoch: 4, Action: coordinator.ActionLease, Code: coordinator.CodeAcquired, Reason: "lease acquired, epoch 4"},
					{Seq: 2, Time: now.Add(-10 * time.Second), Epoch: 4, Action: coordinator.ActionFreeze, Code: coordinator.CodeFrozen, Group: "workers", Reason: "3 of 5 unhealthy"},
				}})

			code, out, errOut = runStatusBinary(t, endpoint, "-bucket", bucket, "-cluster", cluster)
			if code != 0 {
				t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
			}
			t.Logf("farmhand status:\n%s", out)
			for _, want := range []string{
				"cluster prod at s3://farm-bucket/farmhand/prod/",
				"bucket:  answers HEAD",
				"view:    index 7, published", "s ago) by i-00000000000000c0 (epoch 4)",
				"members: 4 (alive=3 draining=0 suspect=0 dead=1 left=0)",
				"group workers: FROZEN: 3 of 5 unhealthy",
				"lease:   held by i-00000000000000c0, epoch 4, expires",
				"ledger:  written", "last 2 decision(s)", "lease acquired, epoch 4",
				"registry: 3 record(s), 1 stale (not alive in the view); skipped as garbage:",
				"dead (STALE)",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "OLD") {
				t.Errorf("a 30 s old view is reported old:\n%s", out)
			}

			// JSON carries the same.
			code, out, _ = runStatusBinary(t, endpoint, "-bucket", bucket, "-cluster", cluster, "-format", "json")
			var js farmStatus
			if err := json.Unmarshal([]byte(out), &js); err != nil || code != 0 {
				t.Fatalf("status -format json: exit %d, %v\n%s", code, err, out)
			}
			if js.View == nil || js.View.Index != 7 || len(js.Records) != 3 || !js.Records[2].Stale || js.Records[0].Stale || js.Lease == nil || js.Lease.Epoch != 4 {
				t.Errorf("status JSON = %+v", js)
			}

			// An old view, an expired lease.
			view.Time = now.Add(-2 * time.Hour)
			putJSON(t, c, bucket, "farmhand/prod/view.json", view)
			putJSON(t, c, bucket, "farmhand/prod/lease", coordinator.StoredLease{Holder: "i-00000000000000c0", Epoch: 4, Expires: now.Add(-time.Hour)})
			_, out, _ = runStatusBinary(t, endpoint, "-bucket", bucket, "-cluster", cluster)
			for _, want := range []string{"THE VIEW IS OLD (2h0m", "lease:   EXPIRED: held by i-00000000000000c0"} {
				if !strings.Contains(out, want) {
					t.Errorf("status with an old view lacks %q:\n%s", want, out)
				}
			}

			// Garbage in place of the view: said, and the rest still shown.
			putRaw(t, c, bucket, "farmhand/prod/view.json", []byte("<html>"))
			code, out, _ = runStatusBinary(t, endpoint, "-bucket", bucket, "-cluster", cluster)
			if code != 1 || !strings.Contains(out, "view:    UNREADABLE") || !strings.Contains(out, "registry: 3 record(s)") {
				t.Errorf("status with a garbage view: exit %d, want 1 with the rest shown:\n%s", code, out)
			}

			// A bucket that does not exist.
			code, out, _ = runStatusBinary(t, endpoint, "-bucket", "no-such-farm", "-cluster", cluster, "-timeout", "10s")
			if code != 1 || !strings.Contains(out, `bucket:  DOES NOT ANSWER HEAD: bucket "no-such-farm" does not exist`) {
				t.Errorf("status of a missing bucket: exit %d, want 1 and the bucket named:\n%s", code, out)
			}
		})
	}
}

// TestStatusUsage checks that bad flags get one clear line and exit 2.
func TestStatusUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-bucket is required"},
		{[]string{"-bucket", "b"}, "-cluster is required"},
		{[]string{"-bucket", "b", "-cluster", "a/b"}, `-cluster "a/b": a cluster name has no "/"`},
		{[]string{"-bucket", "b", "-cluster", "c", "-max-age", "0s"}, "-max-age 0s: want a positive duration"},
	} {
		r := apiCLI(t, nil, append([]string{"status"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("status %v: exit %d, stderr %q; want 2 and one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
