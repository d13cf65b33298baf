package coordinator

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Batch is one RunInstances call: the replacements and top-up of one group
// decided in one tick. It is written to the ledger before the call, so a
// leader that crashes or loses its lease mid-call is followed by one that
// reissues the identical call with the identical ClientToken, and EC2
// returns the first call's reservation instead of launching again.
type Batch struct {
	// ID is the first 16 hex digits of the attempt-0 token; it is the
	// farmhand:batch tag of the launched instances.
	ID string `json:"id"`
	// Group is the group the instances are launched for.
	Group string `json:"group"`
	// Replaces are the dead instances this batch replaces, sorted.
	Replaces []string `json:"replaces,omitempty"`
	// TopUp is how many instances are added to reach the group minimum.
	TopUp int `json:"top_up,omitempty"`
	// TopUpSeq numbers top-up batches in the ledger, so each has its own token.
	TopUpSeq uint64 `json:"top_up_seq,omitempty"`
	// Attempt counts InsufficientInstanceCapacity retries; attempt n uses
	// subnet n mod len(Subnets) and its own token.
	Attempt int `json:"attempt"`
	// Token is the ClientToken of the current attempt.
	Token string `json:"token"`
	// Epoch is the lease epoch of the leader that created the batch.
	Epoch uint64 `json:"epoch"`
	// Created is when the batch was written to the ledger.
	Created time.Time `json:"created"`
	// Launched are the instances RunInstances returned; empty while pending.
	Launched []string `json:"launched,omitempty"`
	// LaunchedAt is when RunInstances returned.
	LaunchedAt time.Time `json:"launched_at,omitzero"`
	// Unpruned are replaced instances whose registry record is not yet deleted.
	Unpruned []string `json:"unpruned,omitempty"`
	// Keep are replaced instances that were replaced at a notice (draining,
	// or a rebalance recommendation) while still running: they are never
	// terminated by the coordinator, nor their records pruned (their
	// agent leaves and deletes its record itself), whichever leader
	// resumes the batch.
	Keep []string `json:"keep,omitempty"`
}

// Count is the number of instances the batch launches.
func (b *Batch) Count() int { return len(b.Replaces) + b.TopUp }

// pending reports whether RunInstances has not yet succeeded for the batch.
func (b *Batch) pending() bool { return len(b.Launched) == 0 }

// newBatch builds the batch of a group; replaces is copied and sorted.
// keep (a subset of replaces) are replaced at a notice, while running.
func newBatch(cluster, group string, replaces, keep []string, topUp int, topUpSeq uint64, epoch uint64, now time.Time) Batch {
	r := slices.Clone(replaces)
	slices.Sort(r)
	k := slices.Clone(keep)
	slices.Sort(k)
	unpruned := slices.DeleteFunc(slices.Clone(r), func(id string) bool { return slices.Contains(k, id) })
	if len(k) == 0 {
		k = nil
	}
	b := Batch{Group: group, Replaces: r, TopUp: topUp, Epoch: epoch, Created: now, Unpruned: unpruned, Keep: k}
	if topUp > 0 {
		b.TopUpSeq = topUpSeq
	}
	b.Token = clientToken(cluster, group, r, b.TopUpSeq, 0)
	b.ID = b.Token[:16]
	return b
}

// nextAttempt moves the batch to its next attempt (after a definite
// InsufficientInstanceCapacity, which launched nothing) with a new token.
func (b *Batch) nextAttempt(cluster string) {
	b.Attempt++
	b.Token = clientToken(cluster, b.Group, b.Replaces, b.TopUpSeq, b.Attempt)
}

// clientToken is the RunInstances ClientToken: the hex SHA-256 of
// cluster + "/" + the sorted replaced ids joined by "+", so for one replaced
// instance hex(sha256(cluster + "/" + id)); top-ups append
// "/<group>/top-up/<seq>" and attempts after the first "#<attempt>".
// 64 hex digits is EC2's maximum token length.
func clientToken(cluster, group string, sortedReplaces []string, topUpSeq uint64, attempt int) string {
	s := cluster + "/" + strings.Join(sortedReplaces, "+")
	if topUpSeq > 0 {
		s += "/" + group + "/top-up/" + strconv.FormatUint(topUpSeq, 10)
	}
	if attempt > 0 {
		s += "#" + strconv.Itoa(attempt)
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:64]
}

// replacesTag is the farmhand:replaces tag value: the replaced ids joined by
// ",", or "batch:<id>" when they do not fit in a 256-character tag value
// (the ledger maps the batch to its ids). "" for a pure top-up.
func (b *Batch) replacesTag() string {
	v := strings.Join(b.Replaces, ",")
	if len(v) > 256 {
		return "batch:" + b.ID
	}
	return v
}
