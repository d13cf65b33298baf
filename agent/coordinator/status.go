package coordinator

// statusDecisions is how many recent decisions Status carries.
const statusDecisions = 20

// Status is the coordinator's state for the local API and the CLI.
type Status struct {
	// Leader is set while this node holds the lease and may act.
	Leader bool `json:"leader"`
	// Holder is the lease holder as last seen ("" if released or unknown).
	Holder string `json:"holder"`
	// Epoch is the lease epoch as last seen.
	Epoch uint64 `json:"epoch"`
	// Lease is the lease in detail.
	Lease LeaseInfo `json:"lease"`
	// DryRun is set when no EC2 mutation is made.
	DryRun bool `json:"dry_run"`
	// Groups says, for each configured group, whether it is frozen and why
	// (as of this leader's last tick).
	Groups []GroupStatus `json:"groups"`
	// Pending are the ledger's unfinished batches: not yet launched, or
	// launched but not yet joined or pruned.
	Pending []Batch `json:"pending"`
	// LastDecisions are the most recent decisions, oldest first.
	LastDecisions []Decision `json:"last_decisions"`
}

// GroupStatus is the freeze state of one group.
type GroupStatus struct {
	Name         string `json:"name"`
	Frozen       bool   `json:"frozen"`
	FreezeReason string `json:"freeze_reason,omitempty"`
}

// Status returns the coordinator's current state.
func (c *Coordinator) Status() Status {
	li := c.lease.info()
	li.Leader = c.lease.canAct()
	s := Status{Leader: li.Leader, Holder: li.Holder, Epoch: li.Epoch, Lease: li, DryRun: c.cfg.DryRun,
		Pending: []Batch{}, LastDecisions: c.led.history(statusDecisions)}
	c.mu.Lock()
	for _, g := range c.cfg.Groups {
		reason, frozen := c.frozen[g.Name]
		s.Groups = append(s.Groups, GroupStatus{Name: g.Name, Frozen: frozen, FreezeReason: reason})
	}
	c.mu.Unlock()
	if c.led.isLoaded() {
		s.Pending = append(s.Pending, c.led.snapshot().Batches...)
	}
	return s
}

// History returns the last n decisions in memory (all kept if n <= 0),
// oldest first. The memory ring holds 256; the S3 ledger the last 128.
func (c *Coordinator) History(n int) []Decision {
	return c.led.history(n)
}

// LeaseRenewals returns how many lease renewals this coordinator wrote and
// how many failed (each retried on a later tick, or leadership given up).
func (c *Coordinator) LeaseRenewals() (ok, failed uint64) { return c.lease.renewCounts() }
