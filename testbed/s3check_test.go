package testbed

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// clearS3Credentials unsets both sets of credential variables.
func clearS3Credentials(t *testing.T) {
	for _, k := range []string{envTestbedAccessKey, envTestbedSecretKey, envTestbedToken, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
}

// startExternal runs Start against endpoint and returns its error, after
// how long; a started testbed is closed.
func startExternal(t *testing.T, endpoint, bucket string, nodes int) (*Testbed, time.Duration, error) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = shortDir(t)
	cfg.Nodes = nodes
	cfg.Bin = testutil.FarmhandBinary(t)
	cfg.S3Endpoint, cfg.S3Bucket = endpoint, bucket
	ctx, cancel := context.WithTimeout(context.Background(), formTimeout)
	defer cancel()
	start := time.Now()
	tb, err := Start(ctx, cfg)
	if tb != nil {
		t.Cleanup(func() { tb.Close() })
	}
	return tb, time.Since(start), err
}

// `testbed up -s3-endpoint` with bad credentials, no credentials, a bucket
// that does not exist or an endpoint that does not answer fails at once,
// with one line that says what to fix, before any agent starts.
func TestExternalS3IsCheckedBeforeLaunch(t *testing.T) {
	needE2E(t)
	endpoint := testutil.StartVersitygw(t, "farm")
	ip := net.IPv4(127, 0, 0, 1)
	down := "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(testutil.FreePort(t, ip)))
	for _, tc := range []struct {
		name, endpoint, bucket string
		env                    map[string]string
		want                   string
	}{
		{"no credentials", endpoint, "farm", nil, "no credentials for -s3-endpoint"},
		{"wrong standard credentials", endpoint, "farm", map[string]string{"AWS_ACCESS_KEY_ID": "nobody", "AWS_SECRET_ACCESS_KEY": "wrong"}, "refused the credentials from AWS_ACCESS_KEY_ID"},
		{"wrong testbed credentials win", endpoint, "farm", map[string]string{envTestbedAccessKey: "nobody", envTestbedSecretKey: "wrong",
			"AWS_ACCESS_KEY_ID": testutil.S3AccessKey, "AWS_SECRET_ACCESS_KEY": testutil.S3SecretKey}, "refused the credentials from " + envTestbedAccessKey},
		{"no such bucket", endpoint, "nope", map[string]string{"AWS_ACCESS_KEY_ID": testutil.S3AccessKey, "AWS_SECRET_ACCESS_KEY": testutil.S3SecretKey}, "-s3-bucket nope does not exist"},
		{"endpoint down", down, "farm", map[string]string{"AWS_ACCESS_KEY_ID": testutil.S3AccessKey, "AWS_SECRET_ACCESS_KEY": testutil.S3SecretKey}, "does not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearS3Credentials(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tb, took, err := startExternal(t, tc.endpoint, tc.bucket, 3)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Start = %v, want one line containing %q", err, tc.want)
			}
			if tb != nil || took > 15*time.Second {
				t.Fatalf("Start took %s and returned a testbed; want a quick failure before any launch", took)
			}
		})
	}
}

// A new user's way: the standard AWS_* variables against a versitygw
// endpoint. The agents get them, register in that S3 and form one farm
// (before, they ran as lonely agents, each believing it was first).
func TestExternalS3WithStandardCredentialsForms(t *testing.T) {
	needE2E(t)
	endpoint := testutil.StartVersitygw(t, "farm")
	clearS3Credentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testutil.S3AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testutil.S3SecretKey)
	tb, _, err := startExternal(t, endpoint, "farm", 3)
	if err != nil {
		t.Fatal(err)
	}
	ids := tb.Instances()
	waitViews(t, formTimeout, socketsOf(t, tb.State(), ids...), aliveExactly(ids...))
	out, err := testutil.NewS3Client(endpoint).ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: aws.String("farm"), Prefix: aws.String(registryPfx + "/" + tb.State().Cluster + "/nodes/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != len(ids) {
		t.Fatalf("%d records in the external S3, want %d", len(out.Contents), len(ids))
	}
}
