package coordinator

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/farmhand/farmhand/membership"
)

// keyCounter counts PUTs per key on its way to a store.
type keyCounter struct {
	ObjectStore
	mu   sync.Mutex
	puts map[string]int
	// deny answers AccessDenied to every request for this key.
	deny string
}

func (k *keyCounter) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	k.mu.Lock()
	k.puts[aws.ToString(in.Key)]++
	deny := k.deny == aws.ToString(in.Key)
	k.mu.Unlock()
	if deny {
		return nil, apiErr("AccessDenied")
	}
	return k.ObjectStore.PutObject(ctx, in, o...)
}

func (k *keyCounter) count(key string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.puts[key]
}

const viewKey = "farmhand/c1/" + ViewObject

// storedView decodes the view in the harness's store.
func storedView(t *testing.T, h *harness) FarmView {
	t.Helper()
	body := h.store.object(testBucket, viewKey)
	if body == nil {
		t.Fatalf("no view at %s", viewKey)
	}
	var v FarmView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("view at %s: %v", viewKey, err)
	}
	return v
}

// TestLeaderPublishesTheViewWhenItChangesAtMostOncePerMinute drives the
// leader on a fake clock: the first tick publishes, an unchanged cluster
// publishes nothing until RefreshEvery, a change within the minute waits for the minute, and
// a member flapping at every tick for ten minutes costs at most one PUT a
// minute.
func TestLeaderPublishesTheViewWhenItChangesAtMostOncePerMinute(t *testing.T) {
	counter := &keyCounter{puts: map[string]int{}}
	h := newHarnessOn(t, counter, nil)
	counter.ObjectStore = h.store
	h.alive(1, 3, "worker")
	h.view.put(membership.Member{Name: iid(9), Addr: "10.0.0.9", Status: membership.StatusAlive, Since: t0, Tags: map[string]string{"role": "worker", "az": "us-east-1b"}})

	h.tick(h.c)
	if n := counter.count(viewKey); n != 1 {
		t.Fatalf("first leader tick wrote the view %d times, want 1", n)
	}
	v := storedView(t, h)
	if v.Version != ViewVersion || v.Cluster != "c1" || v.Index != 1 || !v.Time.Equal(t0) {
		t.Errorf("view header = version %d cluster %q index %d time %s, want 1 c1 1 %s", v.Version, v.Cluster, v.Index, v.Time, t0)
	}
	if v.Coordinator.Leader != h.view.self.Name || v.Coordinator.Epoch != 1 || len(v.Coordinator.Groups) != 1 {
		t.Errorf("view coordinator = %+v, want leader %s epoch 1 and one group", v.Coordinator, h.view.self.Name)
	}
	if len(v.Members) != 5 {
		t.Fatalf("view has %d members, want 5 (self, 3 workers, i-9): %+v", len(v.Members), v.Members)
	}
	var nine ViewMember
	for _, m := range v.Members {
		if m.Name == iid(9) {
			nine = m
		}
	}
	if nine.Status != membership.StatusAlive || nine.Role != "worker" || nine.AZ != "us-east-1b" || nine.Addr != "10.0.0.9" {
		t.Errorf("member %s in the view = %+v, want alive worker in us-east-1b at 10.0.0.9", iid(9), nine)
	}

	// Nothing changed: no write, however many ticks.
	for range 5 {
		h.clock.Advance(20 * time.Second)
		h.tick(h.c)
	}
	if n := counter.count(viewKey); n != 1 {
		t.Fatalf("an unchanged cluster rewrote the view: %d writes, want 1", n)
	}

	// Unchanged for RefreshEvery: rewritten with the same index, a new time.
	h.clock.Advance(RefreshEvery - 100*time.Second)
	h.tick(h.c)
	if n, v := counter.count(viewKey), storedView(t, h); n != 2 || v.Index != 1 || !v.Time.Equal(h.clock.Now()) {
		t.Fatalf("after %s unchanged: %d writes, index %d, time %s; want a refresh: 2 writes, index 1, time %s", RefreshEvery, n, v.Index, v.Time, h.clock.Now())
	}

	// A change right after a write waits for the minute.
	h.clock.Advance(100 * time.Second)
	h.member(2, "worker", membership.StatusDead, 0, ec2types.InstanceStateNameRunning, ec2types.SummaryStatusOk)
	h.tick(h.c)
	if n := counter.count(viewKey); n != 3 {
		t.Fatalf("a change 100 s after the last write made %d writes in all, want 3", n)
	}
	if v := storedView(t, h); v.Index != 2 {
		t.Errorf("index after one change = %d, want 2", v.Index)
	}
	h.member(3, "worker", membership.StatusSuspect, 0, ec2types.InstanceStateNameRunning, ec2types.SummaryStatusOk)
	h.clock.Advance(30 * time.Second)
	h.tick(h.c)
	if n := counter.count(viewKey); n != 3 {
		t.Fatalf("a change 30 s after a write was written at once (%d writes), want it held back to the minute", n)
	}
	h.clock.Advance(30 * time.Second)
	h.tick(h.c)
	if n := counter.count(viewKey); n != 4 {
		t.Fatalf("a change held back was not written once the minute passed: %d writes, want 4", n)
	}
	for _, m := range storedView(t, h).Members {
		if m.Name == iid(3) && m.Status != membership.StatusSuspect {
			t.Errorf("member %s published as %s, want suspect", m.Name, m.Status)
		}
	}

	// A member flapping at every 5 s tick for ten minutes.
	before := counter.count(viewKey)
	for i := range 120 {
		st := membership.StatusAlive
		if i%2 == 0 {
			st = membership.StatusSuspect
		}
		h.member(1, "worker", st, 0, ec2types.InstanceStateNameRunning, ec2types.SummaryStatusOk)
		h.clock.Advance(5 * time.Second)
		h.tick(h.c)
	}
	if n := counter.count(viewKey) - before; n > 10 || n < 9 {
		t.Errorf("ten minutes of flapping wrote the view %d times, want one a minute (9 or 10)", n)
	}
}

// TestNewLeaderContinuesTheViewIndex checks that a publisher in a new term
// reads the stored view once and numbers on from it.
func TestNewLeaderContinuesTheViewIndex(t *testing.T) {
	store := newFakeStore()
	h := newHarness(t, nil)
	p1 := &publisher{store: store, bucket: testBucket, key: viewKey, clock: h.clock, log: h.cfg.Logger}
	v := FarmView{Cluster: "c1", Members: []ViewMember{{Name: "a", Status: membership.StatusAlive}}, Coordinator: ViewCoordinator{Leader: "x", Epoch: 3}}
	for i := range 3 {
		v.Members[0].Addr = string(rune('1' + i))
		if ok, err := p1.publish(context.Background(), v); err != nil || !ok {
			t.Fatalf("publish %d: %v %v", i, ok, err)
		}
		h.clock.Advance(PublishEvery)
	}
	p2 := &publisher{store: store, bucket: testBucket, key: viewKey, clock: h.clock, log: h.cfg.Logger}
	v.Coordinator = ViewCoordinator{Leader: "y", Epoch: 4}
	if ok, err := p2.publish(context.Background(), v); err != nil || !ok {
		t.Fatalf("new leader's publish: %v %v", ok, err)
	}
	got, err := ReadView(context.Background(), store, testBucket, viewKey)
	if err != nil || got == nil {
		t.Fatalf("ReadView: %v %v", got, err)
	}
	if got.Index != 4 || got.Coordinator.Leader != "y" {
		t.Errorf("after a change of leader: index %d leader %q, want 4 and y", got.Index, got.Coordinator.Leader)
	}
	// Garbage in place of the view is overwritten, not fatal.
	if _, err := store.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(viewKey), Body: strings.NewReader("{garbage")}); err != nil {
		t.Fatal(err)
	}
	p3 := &publisher{store: store, bucket: testBucket, key: viewKey, clock: h.clock, log: h.cfg.Logger}
	v.Coordinator.Epoch = 5
	if ok, err := p3.publish(context.Background(), v); err != nil || !ok {
		t.Fatalf("publishing over garbage: %v %v", ok, err)
	}
}

// TestAFailingViewWriteIsTriedOncePerMinute: a policy without view.json
// (AccessDenied) costs one PUT attempt a minute, not one per tick, and the
// coordinator goes on acting.
func TestAFailingViewWriteIsTriedOncePerMinute(t *testing.T) {
	counter := &keyCounter{puts: map[string]int{}, deny: viewKey}
	h := newHarnessOn(t, counter, nil)
	counter.ObjectStore = h.store
	h.alive(1, 3, "worker")
	for i := range 36 { // three minutes of 5 s ticks, a member flapping
		st := membership.StatusAlive
		if i%2 == 0 {
			st = membership.StatusSuspect
		}
		h.member(1, "worker", st, 0, ec2types.InstanceStateNameRunning, ec2types.SummaryStatusOk)
		h.tick(h.c)
		h.clock.Advance(5 * time.Second)
	}
	if n := counter.count(viewKey); n < 1 || n > 3 {
		t.Errorf("three minutes of a denied view write: %d PUT attempts, want one a minute (1 to 3)", n)
	}
	if !h.c.Status().Leader {
		t.Errorf("a failing view write stopped the leader")
	}
}
