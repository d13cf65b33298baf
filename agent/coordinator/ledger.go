package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"

	"github.com/farmhand/farmhand/bootstrap/awscall"
)

const (
	// ledgerVersion is the version of the ledger object's JSON.
	ledgerVersion = 1
	// ringSize is how many decisions are kept in memory (History, Status).
	ringSize = 256
	// persistedDecisions is how many recent decisions the S3 ledger keeps.
	persistedDecisions = 128
	// maxObjectSize bounds what is read back from S3.
	maxObjectSize = 16 << 20
)

// errFenced means a conditional write of the ledger lost: another leader
// wrote it. The writer must stop acting and reload.
var errFenced = errors.New("ledger was written by another leader (412): stopping until the lease is held again")

// ledgerState is the ledger object <Prefix>ledger.json: one rolling object,
// rewritten (If-Match its ETag) only when something changed.
type ledgerState struct {
	// Version is ledgerVersion.
	Version int `json:"version"`
	// Cluster is the cluster name.
	Cluster string `json:"cluster"`
	// Epoch and Holder are the lease of the last writer.
	Epoch  uint64 `json:"epoch"`
	Holder string `json:"holder"`
	// Updated is when it was last written.
	Updated time.Time `json:"updated"`
	// Seq is the last decision sequence number.
	Seq uint64 `json:"seq"`
	// TopUpSeq is the last top-up batch number.
	TopUpSeq uint64 `json:"top_up_seq"`
	// Launches holds one time per instance launched (or committed to)
	// within the replacement window: the rate limit's sliding window.
	Launches []time.Time `json:"launches"`
	// Batches are launches not yet finished (pending, or launched but not yet
	// joined or pruned).
	Batches []Batch `json:"batches"`
	// Replaced maps every instance already replaced to when, for Retention.
	Replaced map[string]time.Time `json:"replaced"`
	// Decisions are the most recent decisions.
	Decisions []Decision `json:"decisions"`
}

// clone deep-copies the state.
func (s *ledgerState) clone() ledgerState {
	c := *s
	c.Launches = slices.Clone(s.Launches)
	c.Batches = make([]Batch, len(s.Batches))
	for i, b := range s.Batches {
		b.Replaces = slices.Clone(b.Replaces)
		b.Launched = slices.Clone(b.Launched)
		b.Unpruned = slices.Clone(b.Unpruned)
		c.Batches[i] = b
	}
	c.Replaced = make(map[string]time.Time, len(s.Replaced))
	for k, v := range s.Replaced {
		c.Replaced[k] = v
	}
	c.Decisions = slices.Clone(s.Decisions)
	return c
}

// launchesSince counts launches after t.
func (s *ledgerState) launchesSince(t time.Time) int {
	n := 0
	for _, l := range s.Launches {
		if l.After(t) {
			n++
		}
	}
	return n
}

// handled reports whether id was already replaced or is in a batch.
func (s *ledgerState) handled(id string) bool {
	if _, ok := s.Replaced[id]; ok {
		return true
	}
	for _, b := range s.Batches {
		if slices.Contains(b.Replaces, id) {
			return true
		}
	}
	return false
}

// launchedAt returns when the ledger saw id launched, or zero.
func (s *ledgerState) launchedAt(id string) time.Time {
	for _, b := range s.Batches {
		if slices.Contains(b.Launched, id) {
			return b.LaunchedAt
		}
	}
	return time.Time{}
}

// batch returns the batch with the given id, or nil.
func (s *ledgerState) batch(id string) *Batch {
	for i := range s.Batches {
		if s.Batches[i].ID == id {
			return &s.Batches[i]
		}
	}
	return nil
}

// lastEntry is the dedupe memory of one decision subject.
type lastEntry struct {
	value string
	tick  uint64
}

// ledger keeps the decisions in a memory ring, the log and (for the leader)
// the S3 ledger object, together with the pending batches and rate window.
type ledger struct {
	store  ObjectStore
	bucket string
	key    string
	log    hclog.Logger

	mu     sync.Mutex
	st     ledgerState // guarded by mu
	etag   string      // ETag of the object as last read or written; "" = absent
	loaded bool        // st reflects the S3 object as of etag
	dirty  bool        // st changed since it was persisted
	ring   []Decision  // newest last, at most ringSize
	last   map[string]lastEntry
	tick   uint64
}

func newLedger(store ObjectStore, bucket, key, cluster string, log hclog.Logger) *ledger {
	return &ledger{
		store: store, bucket: bucket, key: key, log: log,
		st:   emptyLedgerState(cluster),
		last: map[string]lastEntry{},
	}
}

func emptyLedgerState(cluster string) ledgerState {
	return ledgerState{Version: ledgerVersion, Cluster: cluster, Replaced: map[string]time.Time{}}
}

// load reads the ledger object; a missing object is an empty ledger. It
// fails with errFenced when the object was written by a later epoch.
func (l *ledger) load(ctx context.Context, epoch uint64) error {
	st, etag, err := readLedger(ctx, l.store, l.bucket, l.key)
	if err != nil {
		return err
	}
	if st == nil {
		l.mu.Lock()
		l.st, l.etag, l.loaded, l.dirty = emptyLedgerState(l.st.Cluster), "", true, false
		l.mu.Unlock()
		return nil
	}
	if st.Epoch > epoch {
		return fmt.Errorf("%w: ledger epoch %d is newer than ours (%d)", errFenced, st.Epoch, epoch)
	}
	if st.Replaced == nil {
		st.Replaced = map[string]time.Time{}
	}
	l.mu.Lock()
	l.st, l.etag, l.loaded, l.dirty = *st, etag, true, false
	l.mu.Unlock()
	return nil
}

// readLedger GETs and decodes the ledger object; (nil, "", nil) if absent.
func readLedger(ctx context.Context, store ObjectStore, bucket, key string) (*ledgerState, string, error) {
	body, etag, err := getObject(ctx, store, bucket, key)
	if err != nil || body == nil {
		return nil, "", err
	}
	var st ledgerState
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, "", fmt.Errorf("coordinator: ledger s3://%s/%s is not valid JSON (%w): inspect it, then delete it to start a fresh ledger", bucket, key, err)
	}
	return &st, etag, nil
}

// getObject reads a whole object; (nil, "", nil) when it does not exist.
func getObject(ctx context.Context, store ObjectStore, bucket, key string) ([]byte, string, error) {
	out, err := store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if awscall.Is(err, awscall.NotFound) {
			return nil, "", nil
		}
		return nil, "", fmt.Errorf("coordinator: get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxObjectSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("coordinator: read s3://%s/%s: %w", bucket, key, err)
	}
	if len(body) > maxObjectSize {
		return nil, "", fmt.Errorf("coordinator: s3://%s/%s is larger than %d bytes: not a farmhand object", bucket, key, maxObjectSize)
	}
	return body, aws.ToString(out.ETag), nil
}

// putConditional writes an object If-Match etag, or If-None-Match "*" when
// etag is "", and returns the new ETag. A lost condition is errFenced: 412
// (or 409) from any server, and, for If-Match, a missing object, which AWS
// and versitygw answer with 404 NoSuchKey (gofakes3 with 412).
func putConditional(ctx context.Context, store ObjectStore, bucket, key string, body []byte, etag string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := store.PutObject(ctx, in)
	if err != nil {
		if awscall.Is(err, awscall.PreconditionLost) || (etag != "" && awscall.Is(err, awscall.NotFound)) {
			return "", fmt.Errorf("%w: s3://%s/%s", errFenced, bucket, key)
		}
		return "", fmt.Errorf("coordinator: put s3://%s/%s: %w", bucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// persist writes the ledger if it changed. It needs a loaded ledger; a lost
// condition marks it unloaded and returns errFenced.
func (l *ledger) persist(ctx context.Context, epoch uint64, holder string, now time.Time) error {
	l.mu.Lock()
	if !l.loaded {
		l.mu.Unlock()
		return fmt.Errorf("%w: ledger not loaded", errFenced)
	}
	if !l.dirty {
		l.mu.Unlock()
		return nil
	}
	l.st.Epoch, l.st.Holder, l.st.Updated = epoch, holder, now
	body, err := json.Marshal(&l.st)
	etag := l.etag
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("coordinator: encode ledger: %w", err)
	}
	newTag, err := putConditional(ctx, l.store, l.bucket, l.key, body, etag)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if errors.Is(err, errFenced) {
			l.loaded = false
		}
		return err
	}
	l.etag, l.dirty = newTag, false
	return nil
}

// isLoaded reports whether the ledger reflects the S3 object.
func (l *ledger) isLoaded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loaded
}

// unload forgets the S3 object (leadership lost): the next leader term
// reloads it.
func (l *ledger) unload() {
	l.mu.Lock()
	l.loaded = false
	l.mu.Unlock()
}

// snapshot returns a deep copy of the state.
func (l *ledger) snapshot() ledgerState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.clone()
}

// update mutates the state under the lock and marks it dirty.
func (l *ledger) update(f func(st *ledgerState)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.st)
	l.dirty = true
}

// beginTick starts a new dedupe round: a decision equal to its subject's
// decision of the previous tick is not recorded again.
func (l *ledger) beginTick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tick++
	for k, e := range l.last {
		if e.tick+1 < l.tick {
			delete(l.last, k)
		}
	}
}

// record numbers a decision and appends it to the ring, the log and, while
// the ledger is loaded (leader), the state persisted by the next persist,
// unless it repeats its subject's decision of the previous tick (same
// action and code; for errors, same reason). Decisions made while
// not loaded have Seq 0: they are in memory and the log only. It sets
// d.Seq and returns whether it was recorded.
func (l *ledger) record(d *Decision) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	subject := d.Group + "/" + d.Instance + "/" + d.Batch
	value := fmt.Sprintf("%s/%s/%t", d.Action, d.Code, d.DryRun)
	if d.Action == ActionError {
		value += "/" + d.Reason // a different failure is news
	}
	if e, ok := l.last[subject]; ok && e.value == value {
		l.last[subject] = lastEntry{value, l.tick}
		return false
	}
	l.last[subject] = lastEntry{value, l.tick}
	if l.loaded {
		l.st.Seq++
		d.Seq = l.st.Seq
		l.st.Decisions = append(l.st.Decisions, *d)
		if len(l.st.Decisions) > persistedDecisions {
			l.st.Decisions = slices.Delete(l.st.Decisions, 0, len(l.st.Decisions)-persistedDecisions)
		}
		l.dirty = true
	}
	l.ring = append(l.ring, *d)
	if len(l.ring) > ringSize {
		l.ring = slices.Delete(l.ring, 0, len(l.ring)-ringSize)
	}
	args := []any{"seq", d.Seq, "epoch", d.Epoch, "action", d.Action, "code", d.Code}
	for _, kv := range [][2]string{{"group", d.Group}, {"instance", d.Instance}, {"batch", d.Batch}} {
		if kv[1] != "" {
			args = append(args, kv[0], kv[1])
		}
	}
	if d.DryRun {
		args = append(args, "dry_run", true)
	}
	if d.Evidence != nil {
		e := d.Evidence
		args = append(args, "gossip", e.GossipStatus, "since", e.GossipSince, "ec2", e.EC2State, "ec2_status", e.EC2Status,
			"quorum", fmt.Sprintf("%d/%d", e.QuorumAlive, e.QuorumTotal), "unhealthy", fmt.Sprintf("%d/%d", e.GroupUnhealthy, e.GroupSize))
	}
	if len(d.Instances) > 0 {
		args = append(args, "instances", d.Instances)
	}
	switch {
	case d.Action == ActionError:
		l.log.Warn(d.Reason, args...)
	case d.Code == CodeDeadGrace:
		l.log.Debug(d.Reason, args...)
	default:
		l.log.Info(d.Reason, args...)
	}
	return true
}

// history returns the last n decisions in memory, oldest first.
func (l *ledger) history(n int) []Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n <= 0 || n > len(l.ring) {
		n = len(l.ring)
	}
	return slices.Clone(l.ring[len(l.ring)-n:])
}
