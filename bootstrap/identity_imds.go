package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// IMDS client limits. Each attempt is short, so a dropped packet costs
// little; attempts go on (see imdsAttempts) until IdentityConfig.Timeout,
// so a slow IMDS is waited for, while a refused connection, which means
// there is no IMDS to wait for, fails at once.
const (
	imdsDialTimeout    = 250 * time.Millisecond
	imdsHeaderTimeout  = 500 * time.Millisecond
	imdsMaxBackoff     = 200 * time.Millisecond
	imdsMaxValueLength = 1024
)

// imdsAttempts is how many attempts fit in timeout, at least 3.
func imdsAttempts(timeout time.Duration) int {
	return max(3, int(timeout/(imdsHeaderTimeout+imdsMaxBackoff))+1)
}

// notRetryingRefused stops retries of a refused connection.
var notRetryingRefused = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

// identityField is one Identity field and the IMDS meta-data path it is
// read from.
type identityField struct {
	// path is relative to /latest/meta-data/.
	path string
	// field points at the Identity field.
	field func(*Identity) *string
}

const regionPath = "placement/region"

// identityFields lists the fields in read order; the AZ comes before the
// region so a missing placement/region can be derived from it.
var identityFields = []identityField{
	{"instance-id", func(i *Identity) *string { return &i.InstanceID }},
	{"local-ipv4", func(i *Identity) *string { return &i.PrivateIP }},
	{"placement/availability-zone", func(i *Identity) *string { return &i.AvailabilityZone }},
	{regionPath, func(i *Identity) *string { return &i.Region }},
	{"instance-type", func(i *Identity) *string { return &i.InstanceType }},
	{"ami-id", func(i *Identity) *string { return &i.AMI }},
}

// LoadIdentity returns this instance's identity: cfg.Override's non-empty
// fields, the rest read from IMDSv2 at cfg.Endpoint. IMDSv1 fallback is
// disabled. It returns within cfg.Timeout (default 10s) whether IMDS is
// down, hangs or refuses; the error is one line naming the endpoint and the
// config fields that avoid IMDS. With every field overridden (the region may
// be left out when the AZ is given) IMDS is not contacted.
func LoadIdentity(ctx context.Context, cfg IdentityConfig) (Identity, error) {
	cfg = cfg.withDefaults()
	id := cfg.Override
	var missing []identityField
	for _, f := range identityFields {
		if *f.field(&id) == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) == 1 && missing[0].path == regionPath {
		if r, ok := regionFromAZ(id.AvailabilityZone); ok {
			id.Region = r
			missing = nil
		}
	}
	if len(missing) > 0 {
		if err := readIMDS(ctx, cfg, &id, missing); err != nil {
			return Identity{}, err
		}
	}
	if err := id.validate(); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// readIMDS fills the missing fields of id from IMDSv2.
func readIMDS(ctx context.Context, cfg IdentityConfig, id *Identity, missing []identityField) error {
	readCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	tr := newIMDSTransport()
	defer tr.base.CloseIdleConnections()
	client := imds.New(imds.Options{
		Endpoint:          cfg.Endpoint,
		EnableFallback:    aws.FalseTernary,
		ClientEnableState: imds.ClientEnabled,
		HTTPClient:        &http.Client{Transport: tr},
		// Our MaxBackoff below, not the client's default 1s cap.
		DisableDefaultMaxBackoff: true,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = imdsAttempts(cfg.Timeout)
			o.MaxBackoff = imdsMaxBackoff
			o.Retryables = append([]retry.IsErrorRetryable{notRetryingRefused}, o.Retryables...)
			// Retries here wait for a slow local endpoint; no token
			// bucket is needed to protect it from this one client.
			o.RateLimiter = ratelimit.None
		}),
	})

	for _, f := range missing {
		v, err := getMetadata(readCtx, client, f.path)
		if err != nil && f.path == regionPath && awscall.HTTPStatus(err) == http.StatusNotFound {
			if r, ok := regionFromAZ(id.AvailabilityZone); ok {
				*f.field(id) = r
				continue
			}
		}
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			return &IdentityError{
				Endpoint: cfg.Endpoint,
				Cause:    describeIMDSError(readCtx, err, tr, f.path, cfg.Timeout),
				Err:      err,
			}
		}
		*f.field(id) = v
	}
	return nil
}

// getMetadata reads one meta-data value, trimmed.
func getMetadata(ctx context.Context, c *imds.Client, path string) (string, error) {
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", err
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, imdsMaxValueLength))
	if err != nil {
		return "", fmt.Errorf("reading meta-data/%s: %w", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("meta-data/%s is empty", path)
	}
	return v, nil
}

// describeIMDSError turns an IMDS client error into a short cause. The SDK
// hides the token request's status and transport errors behind a
// non-unwrappable error, so the transport records them.
func describeIMDSError(ctx context.Context, err error, tr *imdsTransport, path string, timeout time.Duration) string {
	tokenStatus, lastErr := tr.observed()
	switch {
	case tokenStatus == http.StatusForbidden || tokenStatus == http.StatusNotFound || tokenStatus == http.StatusMethodNotAllowed:
		return fmt.Sprintf("the IMDSv2 token request (PUT /latest/api/token) was refused with HTTP %d; IMDSv2 is required (IMDSv1 fallback is disabled)", tokenStatus)
	case tokenStatus != 0 && tokenStatus != http.StatusOK:
		return fmt.Sprintf("the IMDSv2 token request (PUT /latest/api/token) failed with HTTP %d", tokenStatus)
	case awscall.HTTPStatus(err) == http.StatusUnauthorized:
		return fmt.Sprintf("GET meta-data/%s was refused with HTTP 401 although a session token was sent", path)
	case awscall.HTTPStatus(err) != 0:
		return fmt.Sprintf("GET meta-data/%s answered HTTP %d", path, awscall.HTTPStatus(err))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		if lastErr != nil {
			return fmt.Sprintf("no answer within %s (last error: %v)", timeout, lastErr)
		}
		return fmt.Sprintf("no answer within %s", timeout)
	case lastErr != nil:
		return lastErr.Error()
	default:
		return err.Error()
	}
}

// IdentityError is LoadIdentity's failure to read IMDS.
type IdentityError struct {
	// Endpoint is the IMDS endpoint that was tried.
	Endpoint string
	// Cause is a short description of what went wrong.
	Cause string
	// Err is the underlying client error.
	Err error
}

// Error is one line: what failed, why, and how to avoid IMDS.
func (e *IdentityError) Error() string {
	return fmt.Sprintf("cannot read instance identity from IMDS at %s: %s; "+
		"on EC2 check the instance metadata options (IMDSv2 enabled, hop limit >= 2 inside containers); "+
		"elsewhere set identity { instance_id, private_ip, availability_zone, instance_type, ami_id } in the config or FARMHAND_IMDS_ENDPOINT",
		e.Endpoint, e.Cause)
}

// Unwrap returns the client error.
func (e *IdentityError) Unwrap() error { return e.Err }

// validate checks the fields every later step relies on.
func (id Identity) validate() error {
	if net.ParseIP(id.PrivateIP) == nil {
		return fmt.Errorf("instance identity: private_ip %q is not an IP address; fix identity.private_ip in the config or the IMDS local-ipv4 value", id.PrivateIP)
	}
	return nil
}
