package membership

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate connects memberlist's callbacks to the Cluster: it serves this
// node's meta and feeds the view. memberlist calls the event methods while
// holding its node lock, so they only update the view and never call back
// into memberlist.
type delegate struct {
	c *Cluster
}

var (
	_ memberlist.Delegate      = delegate{}
	_ memberlist.EventDelegate = delegate{}
	_ memberlist.PingDelegate  = delegate{}
)

// NodeMeta returns the encoded tags; UpdateTags keeps them within limit.
func (d delegate) NodeMeta(limit int) []byte {
	meta := *d.c.meta.Load()
	if len(meta) > limit {
		// Unreachable: encodeMeta enforces memberlist.MetaMaxSize, and
		// memberlist panics on oversize meta, so never hand it over.
		d.c.logger.Error("node meta over memberlist's limit; gossiping no tags", "size", len(meta), "limit", limit)
		return nil
	}
	return meta
}

// NotifyMsg ignores user messages; farmhand sends none.
func (delegate) NotifyMsg([]byte) {}

// GetBroadcasts has no user broadcasts to send.
func (delegate) GetBroadcasts(int, int) [][]byte { return nil }

// LocalState has no user state for push/pull.
func (delegate) LocalState(bool) []byte { return nil }

// MergeRemoteState ignores remote user state.
func (delegate) MergeRemoteState([]byte, bool) {}

// NotifyJoin is called when a node becomes alive.
func (d delegate) NotifyJoin(n *memberlist.Node) { d.c.view.observeAlive(n) }

// NotifyUpdate is called when an alive node's meta changes.
func (d delegate) NotifyUpdate(n *memberlist.Node) { d.c.view.observeAlive(n) }

// NotifyLeave is called when a node is declared dead or has left.
func (d delegate) NotifyLeave(n *memberlist.Node) { d.c.view.observeLeave(n) }

// AckPayload attaches nothing to acks.
func (delegate) AckPayload() []byte { return nil }

// NotifyPingComplete is called when this node's probe got an ack.
func (d delegate) NotifyPingComplete(other *memberlist.Node, _ time.Duration, _ []byte) {
	d.c.view.probeOK(other.Name)
}
