package bootstrap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

// object is one listed key under nodes/, with the record its key names
// (filled in by screen).
type object struct {
	key      string
	size     int64
	modified time.Time
	rec      Record
}

// listObjects lists every key under nodes/, one ListObjectsV2 request per
// page of up to 1,000 keys.
func (r *Registry) listObjects(ctx context.Context) ([]object, error) {
	return r.listPrefix(ctx, r.nodesPrefix())
}

// listPrefix lists every key under prefix, one ListObjectsV2 request per
// page of up to 1,000 keys.
func (r *Registry) listPrefix(ctx context.Context, prefix string) ([]object, error) {
	var objs []object
	var token *string
	for {
		var out *s3.ListObjectsV2Output
		err := r.call(ctx, opList, prefix, func(ctx context.Context) error {
			var err error
			out, err = r.api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
				Bucket:            aws.String(r.cfg.Bucket),
				Prefix:            aws.String(prefix),
				ContinuationToken: token,
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, o := range out.Contents {
			objs = append(objs, object{
				key:      aws.ToString(o.Key),
				size:     aws.ToInt64(o.Size),
				modified: aws.ToTime(o.LastModified),
			})
		}
		if !aws.ToBool(out.IsTruncated) {
			return objs, nil
		}
		if aws.ToString(out.NextContinuationToken) == "" {
			return nil, fmt.Errorf("registry: S3 ListObjectsV2 s3://%s/%s: truncated page without a continuation token; the S3 server is not compatible", r.cfg.Bucket, prefix)
		}
		token = out.NextContinuationToken
	}
}

// triage says, from the listing alone, why obj cannot be a record; "" if
// it may be one, with the record its key names. ignore is set for the
// nodes/ directory marker, which is no record and no garbage either.
func (r *Registry) triage(obj object) (rec Record, reason SkipReason, detail string, ignore bool) {
	rec, marker, problem := r.parseKey(obj.key)
	switch {
	case marker:
		return rec, "", "", true
	case problem != "":
		return rec, SkipMalformed, problem, false
	case obj.size > r.cfg.MaxRecordSize:
		return rec, SkipOversize, fmt.Sprintf("listed size %d bytes is over the %d byte limit", obj.size, r.cfg.MaxRecordSize), false
	}
	return rec, "", "", false
}

// screen drops, and counts as skipped, the objects triage rejects, and
// fills in the records the others' keys name.
func (r *Registry) screen(objs []object) []object {
	out := objs[:0]
	for _, o := range objs {
		rec, reason, detail, ignore := r.triage(o)
		if reason != "" {
			r.skip(o.key, reason, detail)
		}
		if ignore || reason != "" {
			continue
		}
		o.rec = rec
		out = append(out, o)
	}
	return out
}

// distinctNames counts the node names among screened objects.
func distinctNames(objs []object) int {
	names := make(map[string]struct{}, len(objs))
	for _, o := range objs {
		names[o.rec.Name] = struct{}{}
	}
	return len(names)
}

// List returns every valid record, sorted by name; unusable objects are
// skipped, counted and warned about once. Cost: one LIST per 1,000 keys
// plus one GET per key not rejected by its listed size.
func (r *Registry) List(ctx context.Context) ([]Record, error) {
	objs, err := r.listObjects(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := r.load(ctx, r.screen(objs))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b Record) int { return strings.Compare(a.Name, b.Name) })
	return recs, nil
}

// load GETs objs, at most Concurrency at a time, and returns their valid
// records in the order of objs. Objects deleted since the listing are
// left out silently; the first other error ends the load.
func (r *Registry) load(ctx context.Context, objs []object) ([]Record, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recs := make([]Record, len(objs))
	valid := make([]bool, len(objs))
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	sem := make(chan struct{}, r.cfg.Concurrency)
loop:
	for i, o := range objs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rec, ok, err := r.loadOne(ctx, o)
			if err != nil {
				errOnce.Do(func() { firstErr = err; cancel() })
				return
			}
			recs[i], valid[i] = rec, ok
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("registry: reading records under s3://%s/%s: %w", r.cfg.Bucket, r.nodesPrefix(), err)
	}
	out := recs[:0]
	for i, rec := range recs {
		if valid[i] {
			out = append(out, rec)
		}
	}
	return out, nil
}

// loadOne GETs and decodes one object; ok is false when it is gone or
// unusable (then counted and warned about).
func (r *Registry) loadOne(ctx context.Context, o object) (rec Record, ok bool, err error) {
	body, err := r.getBody(ctx, o.key)
	if err != nil {
		if awscall.Is(err, awscall.NotFound) {
			r.logger.Debug("registry object vanished between LIST and GET", "key", o.key)
			return rec, false, nil
		}
		return rec, false, err
	}
	rec, reason, detail := r.decode(o.rec, body)
	if reason != "" {
		r.skip(o.key, reason, detail)
		return rec, false, nil
	}
	return rec, true, nil
}
