package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The coordinator's objects as an operator outside the cluster reads them
// ("farmhand status"): with S3 alone, and without changing anything.

// StoredLease is the lease object as stored.
type StoredLease struct {
	// Holder is the leader's node name; "" means released.
	Holder string `json:"holder"`
	// Epoch increases by one at every change of leader.
	Epoch uint64 `json:"epoch"`
	// Expires is the holder's clock plus the TTL at its last renewal.
	Expires time.Time `json:"expires"`
}

// StoredLedger is the part of the ledger object an operator reads.
type StoredLedger struct {
	// Epoch, Holder and Updated are the last writer's lease and time.
	Epoch   uint64    `json:"epoch"`
	Holder  string    `json:"holder"`
	Updated time.Time `json:"updated"`
	// Pending are the unfinished batches.
	Pending []Batch `json:"pending"`
	// Decisions are the last decisions, oldest first.
	Decisions []Decision `json:"decisions"`
}

// ReadLease reads the lease object at key; (nil, nil) when there is none.
func ReadLease(ctx context.Context, store ObjectStore, bucket, key string) (*StoredLease, error) {
	body, _, err := getObject(ctx, store, bucket, key)
	if err != nil || body == nil {
		return nil, err
	}
	var rec leaseRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return nil, fmt.Errorf("coordinator: lease s3://%s/%s is not valid JSON: %w", bucket, key, err)
	}
	return &StoredLease{Holder: rec.Holder, Epoch: rec.Epoch, Expires: rec.Expires}, nil
}

// ReadLedger reads the ledger object at key, keeping its last n decisions
// (all for n <= 0); (nil, nil) when there is none.
func ReadLedger(ctx context.Context, store ObjectStore, bucket, key string, n int) (*StoredLedger, error) {
	st, _, err := readLedger(ctx, store, bucket, key)
	if err != nil || st == nil {
		return nil, err
	}
	ds := st.Decisions
	if n > 0 && len(ds) > n {
		ds = ds[len(ds)-n:]
	}
	return &StoredLedger{Epoch: st.Epoch, Holder: st.Holder, Updated: st.Updated, Pending: append([]Batch{}, st.Batches...), Decisions: ds}, nil
}
