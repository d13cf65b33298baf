package testbed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// The credentials a testbed hands its agents for an external S3
// (-s3-endpoint): the FARMHAND_TESTBED_AWS_* variables, or else the
// standard AWS_* ones. The embedded S3 and the EC2 emulator accept any.
const (
	envTestbedAccessKey = "FARMHAND_TESTBED_AWS_ACCESS_KEY_ID"
	envTestbedSecretKey = "FARMHAND_TESTBED_AWS_SECRET_ACCESS_KEY"
	envTestbedToken     = "FARMHAND_TESTBED_AWS_SESSION_TOKEN"
)

// CredentialsHelp says where an external S3's credentials come from, for
// `farmhand-testbed up -h` and the errors.
const CredentialsHelp = "credentials for -s3-endpoint: " + envTestbedAccessKey + " and " + envTestbedSecretKey +
	" (and " + envTestbedToken + "), or else the standard AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)"

// externalS3Env returns the agents' AWS_* environment for an external S3
// and which variables it came from; nil when neither set is complete.
func externalS3Env(getenv func(string) string) (env []string, source string) {
	for _, set := range [][3]string{
		{envTestbedAccessKey, envTestbedSecretKey, envTestbedToken},
		{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"},
	} {
		id, secret := getenv(set[0]), getenv(set[1])
		if id == "" || secret == "" {
			continue
		}
		env = []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret}
		if tok := getenv(set[2]); tok != "" {
			env = append(env, "AWS_SESSION_TOKEN="+tok)
		}
		return env, set[0] + "/" + set[1]
	}
	return nil, ""
}

// checkExternalS3 makes sure, before any agent starts, that endpoint
// answers and accepts the credentials in env on bucket: one ListObjectsV2
// of at most one key under the registry prefix. It fails with one line
// that says what to fix.
func checkExternalS3(ctx context.Context, endpoint, bucket string, env []string, source string) error {
	if env == nil {
		return errors.New("-s3-endpoint " + endpoint + ": no " + CredentialsHelp)
	}
	client, done := externalS3Client(endpoint, env)
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(registryPfx + "/"), MaxKeys: aws.Int32(1)})
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket":
		return fmt.Errorf("-s3-bucket %s does not exist at %s: create it first", bucket, endpoint)
	case errors.As(err, &ae) && (refusedCredentials[ae.ErrorCode()] || status == http.StatusForbidden || status == http.StatusUnauthorized):
		return fmt.Errorf("-s3-endpoint %s refused the credentials from %s (%s): check them; %s", endpoint, source, ae.ErrorCode(), CredentialsHelp)
	case errors.As(err, &ae):
		return fmt.Errorf("-s3-endpoint %s, bucket %s: %s: %s", endpoint, bucket, ae.ErrorCode(), ae.ErrorMessage())
	default:
		return fmt.Errorf("-s3-endpoint %s does not answer: %v", endpoint, err)
	}
}

// externalS3Client is a path-style client of endpoint signing with the
// credentials in env (AWS_* assignments), one attempt per call; done
// closes its connections.
func externalS3Client(endpoint string, env []string) (client *s3.Client, done func()) {
	var id, secret, token string
	for _, kv := range env {
		for _, p := range []struct {
			prefix string
			dst    *string
		}{{"AWS_ACCESS_KEY_ID=", &id}, {"AWS_SECRET_ACCESS_KEY=", &secret}, {"AWS_SESSION_TOKEN=", &token}} {
			if v, ok := strings.CutPrefix(kv, p.prefix); ok && v != "" {
				*p.dst = v
			}
		}
	}
	hc := awscall.NewHTTPClient("")
	return s3.New(s3.Options{
		Region: Region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true, HTTPClient: hc,
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		RetryMaxAttempts: 1,
	}), hc.CloseIdleConnections
}

// osGetenv is os.Getenv, the source of the external S3's credentials.
var osGetenv = os.Getenv

// refusedCredentials are the error codes of S3 servers that do not accept
// the access key or the signature (AWS, MinIO, versitygw).
var refusedCredentials = map[string]bool{
	"InvalidAccessKeyId": true, "SignatureDoesNotMatch": true, "AccessDenied": true,
	"InvalidToken": true, "ExpiredToken": true, "XAdminUserNotFound": true,
}
