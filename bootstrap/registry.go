package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// Registry is the S3 rendezvous: one JSON record per node under
// <prefix>/<cluster>/nodes/<name>/<az>/<ip>:<port> (see Key). It is safe
// for concurrent use.
type Registry struct {
	api    S3API
	cfg    RegistryConfig
	clock  clockwork.Clock
	logger hclog.Logger

	counters registryCounters
	// lastListed is set by Candidates; see LastListed.
	lastListed atomic.Int64

	mu sync.Mutex
	// written is the key and body last written (or found already stored)
	// per record name, so an unchanged Register makes no request.
	written map[string]written
	// unconditional is set once the server rejected If-None-Match.
	unconditional bool
}

// NewRegistry returns a registry over api; zero fields of cfg take their
// DefaultRegistryConfig values. It makes no request.
func NewRegistry(api S3API, cfg RegistryConfig) (*Registry, error) {
	if api == nil {
		return nil, fmt.Errorf("registry: no S3 client")
	}
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return &Registry{
		api:      api,
		cfg:      cfg,
		clock:    cfg.Clock,
		logger:   cfg.Logger.Named("registry"),
		counters: registryCounters{skipped: map[SkipReason]int64{}, warned: map[string]struct{}{}},
		written:  map[string]written{},
	}, nil
}

// written is one record as this Registry last stored it.
type written struct {
	key  string
	body []byte
}

// Register writes rec (version, cluster and signature filled in) under
// Key(rec). The write is a conditional create (If-None-Match: *); if the
// object exists, it is read and overwritten only when it differs. A
// Register of the record this Registry last wrote makes no request; one
// that moves the record to a new key (a new address, port or AZ) deletes
// the old key after writing the new one. Cost: 1 PUT at first boot; 1 PUT
// + 1 GET (+1 PUT if changed) when a record is already stored; 0 when
// unchanged.
func (r *Registry) Register(ctx context.Context, rec Record) error {
	body, err := r.encode(rec)
	if err != nil {
		return err
	}
	key := r.Key(rec)
	r.mu.Lock()
	prev := r.written[rec.Name]
	unconditional := r.unconditional
	r.mu.Unlock()
	if prev.key == key && bytes.Equal(prev.body, body) {
		return nil
	}

	err = r.put(ctx, key, body, !unconditional)
	switch {
	case err == nil:
	case awscall.Is(err, awscall.PreconditionLost):
		stored, gerr := r.getBody(ctx, key)
		if gerr != nil && !awscall.Is(gerr, awscall.NotFound) {
			return gerr
		}
		if gerr != nil || !bytes.Equal(stored, body) {
			if err := r.put(ctx, key, body, false); err != nil {
				return err
			}
		}
	case awscall.Is(err, awscall.NotImplemented):
		r.logger.Warn("S3 server does not support conditional writes (If-None-Match); registering with plain overwrites",
			"bucket", r.cfg.Bucket, "error", err)
		r.mu.Lock()
		r.unconditional = true
		r.mu.Unlock()
		if err := r.put(ctx, key, body, false); err != nil {
			return err
		}
	default:
		return err
	}

	r.mu.Lock()
	r.written[rec.Name] = written{key: key, body: body}
	r.mu.Unlock()
	if prev.key != "" && prev.key != key {
		r.removeStale(ctx, []string{prev.key})
	}
	return nil
}

// Deregister deletes every record key of name: the one this Registry
// wrote, or else those a listing of nodes/<name>/ finds (the coordinator
// pruning another node's record). A missing record is not an error. Cost:
// 1 DELETE per key, plus 1 LIST for a name this Registry did not write.
func (r *Registry) Deregister(ctx context.Context, name string) error {
	if err := checkRecordName("deregister", name); err != nil {
		return err
	}
	r.mu.Lock()
	w, ok := r.written[name]
	delete(r.written, name)
	r.mu.Unlock()
	var keys []string
	if ok {
		keys = append(keys, w.key)
	} else {
		objs, err := r.listPrefix(ctx, r.nodePrefix(name))
		if err != nil {
			return err
		}
		for _, o := range objs {
			keys = append(keys, o.key)
		}
	}
	for _, key := range keys {
		if err := r.deleteKey(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// checkRecordName refuses a name that cannot be a record's: empty, or
// with a "/" (it would reach into other records' keys).
func checkRecordName(verb, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("registry: cannot %s %q: a record name is non-empty and has no \"/\"", verb, name)
	}
	return nil
}

// deleteKey deletes one object; a missing one is not an error.
func (r *Registry) deleteKey(ctx context.Context, key string) error {
	err := r.call(ctx, opDelete, key, func(ctx context.Context) error {
		_, err := r.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(r.cfg.Bucket), Key: aws.String(key)})
		return err
	})
	if awscall.Is(err, awscall.NotFound) {
		return nil
	}
	return err
}

// removeStale deletes keys this node left behind at an old address, best
// effort: a failure is logged, and the stale key costs joiners one refused
// connection until the next attempt removes it.
func (r *Registry) removeStale(ctx context.Context, keys []string) {
	for _, key := range keys {
		if err := r.deleteKey(ctx, key); err != nil {
			r.logger.Warn("cannot delete this node's record at its old address; joiners may try that address", "key", key, "error", err)
			continue
		}
		r.logger.Info("deleted this node's record at its old address", "key", key)
	}
}

// put writes body under key, as a conditional create when ifNoneMatch.
func (r *Registry) put(ctx context.Context, key string, body []byte, ifNoneMatch bool) error {
	return r.call(ctx, opPut, key, func(ctx context.Context) error {
		in := &s3.PutObjectInput{
			Bucket:        aws.String(r.cfg.Bucket),
			Key:           aws.String(key),
			Body:          bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))),
			ContentType:   aws.String("application/json"),
		}
		if ifNoneMatch {
			in.IfNoneMatch = aws.String("*")
		}
		_, err := r.api.PutObject(ctx, in)
		return err
	})
}

// getBody reads the object at key, at most MaxRecordSize+1 bytes of it
// (enough for decode to tell it is oversize).
func (r *Registry) getBody(ctx context.Context, key string) ([]byte, error) {
	var body []byte
	err := r.call(ctx, opGet, key, func(ctx context.Context) error {
		out, err := r.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.cfg.Bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		body, err = io.ReadAll(io.LimitReader(out.Body, r.cfg.MaxRecordSize+1))
		return err
	})
	return body, err
}
