package ec2emu

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/bootstrap"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// startServer serves an emulator with DefaultConfig, changed by mut, for
// the duration of the test.
func startServer(t *testing.T, mut func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "ec2emu", Level: hclog.Warn, Output: testutil.LogWriter(t)})
	if mut != nil {
		mut(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Listen(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

// sdkClient is a real aws-sdk-go-v2 EC2 client pointed at e, without retries
// unless opts change that, so that call counts are exact.
func sdkClient(t *testing.T, e *Server, opts ...func(*ec2.Options)) *ec2.Client {
	t.Helper()
	hc := bootstrap.NewAWSHTTPClient("")
	t.Cleanup(hc.CloseIdleConnections)
	o := ec2.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(e.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       hc,
	}
	for _, f := range opts {
		f(&o)
	}
	return ec2.New(o)
}

func ctx(t *testing.T) context.Context { return testutil.Context(t) }

// wantAPIError asserts err is an API error with code and HTTP status, a
// message of its own and a request id, as EC2's error documents carry.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	re := testutil.WantAPIError(t, err, code, status)
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorMessage() == "" || ae.ErrorMessage() == code) {
		t.Errorf("error %s has no message of its own: %q", code, ae.ErrorMessage())
	}
	if re.ServiceRequestID() == "" {
		t.Errorf("error %s has no request id", code)
	}
}

// rawResponse is what postForm got back.
type rawResponse struct {
	status int
	body   string
	code   string // Errors/Error/Code, if an error document
}

// postForm sends one hand-made Query API request; sign adds a (fake) SigV4
// Authorization header, which the emulator only checks for presence.
func postForm(t *testing.T, e *Server, form url.Values, sign bool) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, e.URL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if sign {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00")
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := rawResponse{status: resp.StatusCode, body: string(b)}
	var doc struct {
		XMLName   xml.Name
		Code      string `xml:"Errors>Error>Code"`
		RequestID string `xml:"RequestID"`
	}
	if err := xml.Unmarshal(b, &doc); err == nil && doc.XMLName.Local == "Response" {
		out.code = doc.Code
		if doc.RequestID == "" {
			t.Errorf("error document without RequestID: %s", b)
		}
	}
	return out
}

// run launches n instances through the SDK with tags and returns their ids.
func run(t *testing.T, c *ec2.Client, n int32, tags map[string]string) []string {
	t.Helper()
	in := &ec2.RunInstancesInput{
		ImageId:  aws.String("ami-0123456789abcdef0"),
		MinCount: aws.Int32(n),
		MaxCount: aws.Int32(n),
	}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: toTags(tags)}}
	}
	out, err := c.RunInstances(ctx(t), in)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	ids := make([]string, len(out.Instances))
	for i, inst := range out.Instances {
		ids[i] = aws.ToString(inst.InstanceId)
	}
	return ids
}

// blockUntil is a hook that returns once release is closed (or the
// emulator closes).
func blockUntil(release <-chan struct{}) func(context.Context, Instance) error {
	return func(ctx context.Context, _ Instance) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
}

// stopStart stops id and starts it again through the Go methods.
func stopStart(t *testing.T, e *Server, id string) {
	t.Helper()
	if err := e.StopInstance(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	if err := e.StartInstance(ctx(t), id); err != nil {
		t.Fatal(err)
	}
}

// runAt launches one instance at the private address ip through the SDK.
func runAt(t *testing.T, c *ec2.Client, ip string) (string, error) {
	t.Helper()
	out, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{
		ImageId:          aws.String("ami-0123456789abcdef0"),
		MinCount:         aws.Int32(1),
		MaxCount:         aws.Int32(1),
		PrivateIpAddress: aws.String(ip),
	})
	if err != nil {
		return "", err
	}
	if got := aws.ToString(out.Instances[0].PrivateIpAddress); got != ip {
		t.Errorf("RunInstances with PrivateIpAddress %s launched at %s", ip, got)
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}

func toTags(m map[string]string) []ec2types.Tag {
	var out []ec2types.Tag
	for k, v := range m {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// describe returns the instances DescribeInstances reports, by id.
func describe(t *testing.T, c *ec2.Client, in *ec2.DescribeInstancesInput) map[string]ec2types.Instance {
	t.Helper()
	out, err := c.DescribeInstances(ctx(t), in)
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	got := map[string]ec2types.Instance{}
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			got[aws.ToString(inst.InstanceId)] = inst
		}
	}
	return got
}

// stateOf returns the state name DescribeInstances reports for id.
func stateOf(t *testing.T, c *ec2.Client, id string) ec2types.InstanceStateName {
	t.Helper()
	got := describe(t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	inst, ok := got[id]
	if !ok {
		t.Fatalf("DescribeInstances(%s) did not return it", id)
	}
	return inst.State.Name
}
