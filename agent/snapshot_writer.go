package agent

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/membership"
)

// snapshotDebounce batches view changes before the peer snapshot is
// rewritten, so a join storm costs one disk write, not hundreds.
const snapshotDebounce = 2 * time.Second

// snapshotWriter keeps <data_dir>/peers.json current with the alive peers,
// for the boot loop of the next run.
type snapshotWriter struct {
	cluster     *membership.Cluster
	clusterName string
	self        string
	dataDir     string
	clock       clockwork.Clock
	logger      hclog.Logger
	task        *task
}

func (w *snapshotWriter) start()                         { w.task = goTask(w.run) }
func (w *snapshotWriter) stop(ctx context.Context) error { return w.task.stop(ctx) }

func (w *snapshotWriter) run(ctx context.Context) {
	events, cancel := w.cluster.Subscribe(64)
	defer cancel()
	var last snapshot
	var pending <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			if pending == nil {
				pending = w.clock.After(snapshotDebounce)
			}
		case <-pending:
			pending = nil
			s := buildSnapshot(w.clusterName, w.self, w.cluster.Members(), w.clock.Now())
			if len(s.Peers) == 0 || samePeers(s, last) {
				// Never overwrite a useful snapshot with an empty one: an
				// isolated node still wants its old peers on restart.
				continue
			}
			if err := writeSnapshot(w.dataDir, s); err != nil {
				w.logger.Warn("cannot save the peer snapshot; a restart during an S3 outage may not rejoin", "error", err)
				continue
			}
			last = s
		}
	}
}
