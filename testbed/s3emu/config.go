package s3emu

import "github.com/hashicorp/go-hclog"

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// Bucket is created by New; clients must use path-style addressing
	// (http://host:port/bucket/key).
	Bucket string
	// Logger receives gofakes3's log lines (info at debug level).
	Logger hclog.Logger
}

// DefaultConfig creates the bucket "farmhand".
func DefaultConfig() Config {
	return Config{
		Bucket: "farmhand",
		Logger: hclog.NewNullLogger(),
	}
}
