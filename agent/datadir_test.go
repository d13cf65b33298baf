package agent

import (
	"os"
	"strings"
	"testing"
)

func TestDataDirLockRefusesSecondAgent(t *testing.T) {
	dir := t.TempDir()
	l1, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another farmhand agent") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second lock: err = %v, want a message naming the data dir and saying it is in use", err)
	}
	l1.Unlock()
	l1.Unlock() // safe twice
	l3, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l3.Unlock()
}

func TestSnapshotRoundTripAndCorruption(t *testing.T) {
	dir := t.TempDir()
	if peers, err := readSnapshot(dir, "c1"); err != nil || peers != nil {
		t.Fatalf("missing snapshot: peers %v err %v, want none and no error", peers, err)
	}
	s := snapshot{Version: snapshotVersion, Cluster: "c1", Peers: []snapshotPeer{{Name: "i-1", Addr: "10.0.0.1", Port: 7946}}}
	if err := writeSnapshot(dir, s); err != nil {
		t.Fatal(err)
	}
	peers, err := readSnapshot(dir, "c1")
	if err != nil || len(peers) != 1 || peers[0] != s.Peers[0] {
		t.Fatalf("read back %v, %v", peers, err)
	}
	if _, err := readSnapshot(dir, "other"); err == nil {
		t.Fatal("a snapshot of another cluster must be refused")
	}
	if err := os.WriteFile(dir+"/"+snapshotFile, []byte("{garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := readSnapshot(dir, "c1"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt snapshot: err = %v", err)
	}
}
