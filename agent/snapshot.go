package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/membership"
)

// The peer snapshot lets a restarted agent rejoin while S3 is unreachable.
// It is a small JSON file in the data directory, rewritten atomically when
// the set of alive peers changes.

const (
	snapshotFile     = "peers.json"
	snapshotVersion  = 1
	snapshotMaxPeers = 64
)

type snapshot struct {
	Version int            `json:"v"`
	Cluster string         `json:"cluster"`
	SavedAt time.Time      `json:"saved_at"`
	Peers   []snapshotPeer `json:"peers"`
}

type snapshotPeer struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	Port int    `json:"port"`
}

// buildSnapshot keeps the alive peers other than self, newest first by the
// time they entered their state, capped so the file stays small.
func buildSnapshot(cluster, self string, members []membership.Member, now time.Time) snapshot {
	s := snapshot{Version: snapshotVersion, Cluster: cluster, SavedAt: now.UTC()}
	ms := make([]membership.Member, 0, len(members))
	for _, m := range members {
		if m.Name != self && m.Status == membership.StatusAlive {
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	for i, m := range ms {
		if i == snapshotMaxPeers {
			break
		}
		s.Peers = append(s.Peers, snapshotPeer{Name: m.Name, Addr: m.Addr, Port: m.Port})
	}
	return s
}

// samePeers reports whether two snapshots list the same peers, so an
// unchanged view does not cost a disk write.
func samePeers(a, b snapshot) bool {
	if len(a.Peers) != len(b.Peers) || a.Cluster != b.Cluster {
		return false
	}
	for i := range a.Peers {
		if a.Peers[i] != b.Peers[i] {
			return false
		}
	}
	return true
}

// writeSnapshot writes s atomically (temp file, fsync, rename).
func writeSnapshot(dir string, s snapshot) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = render.WriteFile(filepath.Join(dir, snapshotFile), data, 0o640)
	return err
}

// readSnapshot returns the saved peers of cluster. A missing file is not an
// error; a corrupt one or one of another cluster is reported and ignored.
func readSnapshot(dir, cluster string) ([]snapshotPeer, error) {
	data, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("peer snapshot %s is corrupt (%v); it will be rewritten", filepath.Join(dir, snapshotFile), err)
	}
	if s.Version != snapshotVersion || s.Cluster != cluster {
		return nil, fmt.Errorf("peer snapshot %s is for cluster %q (version %d), not %q; ignoring it", filepath.Join(dir, snapshotFile), s.Cluster, s.Version, cluster)
	}
	return s.Peers, nil
}
