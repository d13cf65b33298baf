package membership

import (
	"testing"

	"github.com/farmhand/farmhand/testbed/testutil"
)

// TestDrainingIsGossipedAndEndsInLeft marks a member draining: every view,
// its own included, shows it draining while it still answers and counts
// as up; a tag change keeps the mark; its leave shows as left.
func TestDrainingIsGossipedAndEndsInLeft(t *testing.T) {
	nodes := startN(t, "drain", 3, nil)
	d := nodes[2]
	if err := d.SetDraining(true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, nodes, "drain-2", StatusDraining)
	for _, c := range nodes {
		if n := c.NumAlive(); n != 3 {
			t.Errorf("%s: NumAlive = %d with one member draining, want 3 (a draining member is up)", c.cfg.Name, n)
		}
		if s := c.Stats(); s.Draining != 1 || s.Alive != 2 {
			t.Errorf("%s: Stats = %+v, want 2 alive and 1 draining", c.cfg.Name, s)
		}
	}
	// New tags keep the mark.
	if err := d.UpdateTags(map[string]string{"role": "worker", "name": "drain-2", "v": "2"}); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, settle, func(r *testutil.R) {
		for _, c := range nodes[:2] {
			m, _ := c.view.member("drain-2")
			if m.Tags["v"] != "2" || m.Status != StatusDraining {
				r.Fatalf("%s sees drain-2 %s with tags %v, want draining with v=2", c.cfg.Name, m.Status, m.Tags)
			}
		}
	})
	// Undo, then drain again and leave.
	if err := d.SetDraining(false); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, nodes, "drain-2", StatusAlive)
	if err := d.SetDraining(true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, nodes[:2], "drain-2", StatusDraining)
	if err := d.Leave(settle); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, nodes[:2], "drain-2", StatusLeft)
	if err := d.SetDraining(false); err == nil {
		t.Error("SetDraining after Leave succeeded, want an error")
	}
}

// TestSuspectDrainingMemberReturnsToDraining: a local probe failure makes a
// draining member suspect; when it answers again it is draining, not alive.
func TestSuspectDrainingMemberReturnsToDraining(t *testing.T) {
	nodes := startN(t, "sdrain", 2, nil)
	if err := nodes[1].SetDraining(true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, nodes[:1], "sdrain-1", StatusDraining)
	v := nodes[0].view
	v.suspect("sdrain-1")
	if m, _ := v.member("sdrain-1"); m.Status != StatusSuspect {
		t.Fatalf("after a failed probe sdrain-1 is %s, want suspect", m.Status)
	}
	v.probeOK("sdrain-1")
	if m, _ := v.member("sdrain-1"); m.Status != StatusDraining {
		t.Errorf("after the member answered it is %s, want draining", m.Status)
	}
}
