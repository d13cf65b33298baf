package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"

	"github.com/farmhand/farmhand/membership"
)

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)"}
}

// fakeInstance is one instance of fakeEC2.
type fakeInstance struct {
	id     string
	state  ec2types.InstanceStateName
	status ec2types.SummaryStatus
	launch time.Time
	tags   map[string]string
	token  string
	subnet string
}

// fakeReservation is what a ClientToken launched, and with which parameters.
type fakeReservation struct {
	params string
	ids    []string
	resID  string
}

// fakeEC2 is an in-memory EC2 with real ClientToken idempotency: the same
// token with the same parameters returns the first reservation; with other
// parameters, IdempotentParameterMismatch.
type fakeEC2 struct {
	clock clockwork.Clock

	mu        sync.Mutex
	instances map[string]*fakeInstance
	tokens    map[string]*fakeReservation
	next      int
	calls     map[string]int
	runInputs []*ec2.RunInstancesInput
	terms     [][]string
	created   int // instances actually created
	// throttle is how many upcoming calls per operation answer RequestLimitExceeded.
	throttle map[string]int
	// beforeRun may fail a RunInstances call before it launches anything.
	beforeRun func(ctx context.Context, in *ec2.RunInstancesInput) error
	// mutated records every mutation's context (RunInstances,
	// TerminateInstances), for its deadline.
	mutated []mutation
	// afterRun may turn a successful RunInstances into an error (a lost response).
	afterRun func(in *ec2.RunInstancesInput) error
	// pageSize bounds DescribeInstances pages.
	pageSize int
}

func newFakeEC2(clock clockwork.Clock) *fakeEC2 {
	return &fakeEC2{clock: clock, instances: map[string]*fakeInstance{}, tokens: map[string]*fakeReservation{},
		calls: map[string]int{}, throttle: map[string]int{}, pageSize: 50}
}

// add puts an instance into the fake.
func (f *fakeEC2) add(id string, state ec2types.InstanceStateName, status ec2types.SummaryStatus, launch time.Time, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[id] = &fakeInstance{id: id, state: state, status: status, launch: launch, tags: tags}
}

// set changes an existing instance.
func (f *fakeEC2) set(id string, state ec2types.InstanceStateName, status ec2types.SummaryStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[id].state, f.instances[id].status = state, status
}

func (f *fakeEC2) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeEC2) mutations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls["RunInstances"] + f.calls["TerminateInstances"]
}

func (f *fakeEC2) createdCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created
}

func (f *fakeEC2) lastRun() *ec2.RunInstancesInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.runInputs) == 0 {
		return nil
	}
	return f.runInputs[len(f.runInputs)-1]
}

func (f *fakeEC2) runTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, in := range f.runInputs {
		out = append(out, aws.ToString(in.ClientToken))
	}
	return out
}

func (f *fakeEC2) instance(id string) fakeInstance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.instances[id]
}

// launchedBy lists instances created with a farmhand:group tag of group.
func (f *fakeEC2) launchedBy(group string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, in := range f.instances {
		if in.token != "" && in.tags[TagGroup] == group {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// enter counts a call and answers throttling; the caller holds f.mu.
func (f *fakeEC2) enterLocked(op string) error {
	f.calls[op]++
	if f.throttle[op] > 0 {
		f.throttle[op]--
		return apiErr("RequestLimitExceeded")
	}
	return nil
}

// mutation is one EC2 mutation call and the deadline of its context.
type mutation struct {
	op          string
	deadline    time.Time
	hasDeadline bool
}

// mutationsSeen returns the mutation calls so far.
func (f *fakeEC2) mutationsSeen() []mutation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mutated)
}

func (f *fakeEC2) recordMutationLocked(ctx context.Context, op string) {
	d, ok := ctx.Deadline()
	f.mutated = append(f.mutated, mutation{op, d, ok})
}

func (f *fakeEC2) RunInstances(ctx context.Context, in *ec2.RunInstancesInput, _ ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	f.mu.Lock()
	f.recordMutationLocked(ctx, "RunInstances")
	f.runInputs = append(f.runInputs, in)
	if err := f.enterLocked("RunInstances"); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	hook := f.beforeRun
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, in); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	stripped := *in
	stripped.ClientToken = nil
	pj, _ := json.Marshal(&stripped)
	params := string(pj)
	token := aws.ToString(in.ClientToken)
	res, ok := f.tokens[token]
	switch {
	case ok && token != "" && res.params != params:
		f.mu.Unlock()
		return nil, apiErr("IdempotentParameterMismatch")
	case !ok:
		res = &fakeReservation{params: params, resID: fmt.Sprintf("r-%08x", f.next)}
		n := int(aws.ToInt32(in.MaxCount))
		tags := map[string]string{}
		for _, ts := range in.TagSpecifications {
			if ts.ResourceType == ec2types.ResourceTypeInstance {
				for _, t := range ts.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
		}
		for range n {
			f.next++
			id := fmt.Sprintf("i-%017x", 0xf00000+f.next)
			f.instances[id] = &fakeInstance{id: id, state: ec2types.InstanceStateNamePending, status: ec2types.SummaryStatusInitializing,
				launch: f.clock.Now(), tags: tags, token: token, subnet: aws.ToString(in.SubnetId)}
			res.ids = append(res.ids, id)
			f.created++
		}
		if token != "" {
			f.tokens[token] = res
		}
	}
	out := &ec2.RunInstancesOutput{ReservationId: aws.String(res.resID)}
	for _, id := range res.ids {
		out.Instances = append(out.Instances, f.instances[id].toEC2())
	}
	after := f.afterRun
	f.mu.Unlock()
	if after != nil {
		if err := after(in); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (i *fakeInstance) toEC2() ec2types.Instance {
	out := ec2types.Instance{InstanceId: aws.String(i.id), State: &ec2types.InstanceState{Name: i.state},
		LaunchTime: aws.Time(i.launch), ClientToken: aws.String(i.token)}
	if i.subnet != "" {
		out.SubnetId = aws.String(i.subnet)
	}
	for k, v := range i.tags {
		out.Tags = append(out.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

func (i *fakeInstance) matches(filters []ec2types.Filter) bool {
	for _, flt := range filters {
		name := aws.ToString(flt.Name)
		var v string
		switch {
		case name == "instance-id":
			v = i.id
		case name == "instance-state-name":
			v = string(i.state)
		case name == "client-token":
			v = i.token
		case strings.HasPrefix(name, "tag:"):
			var ok bool
			if v, ok = i.tags[strings.TrimPrefix(name, "tag:")]; !ok {
				return false
			}
		default:
			panic("fakeEC2: unsupported filter " + name)
		}
		if !slices.Contains(flt.Values, v) {
			return false
		}
	}
	return true
}

func (f *fakeEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked("DescribeInstances"); err != nil {
		return nil, err
	}
	for _, id := range in.InstanceIds {
		if f.instances[id] == nil {
			return nil, apiErr("InvalidInstanceID.NotFound")
		}
	}
	var ids []string
	for id, inst := range f.instances {
		if (len(in.InstanceIds) == 0 || slices.Contains(in.InstanceIds, id)) && inst.matches(in.Filters) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	start := 0
	if t := aws.ToString(in.NextToken); t != "" {
		fmt.Sscanf(t, "%d", &start)
	}
	end := min(len(ids), start+f.pageSize)
	out := &ec2.DescribeInstancesOutput{}
	res := ec2types.Reservation{ReservationId: aws.String("r-page")}
	for _, id := range ids[start:end] {
		res.Instances = append(res.Instances, f.instances[id].toEC2())
	}
	out.Reservations = []ec2types.Reservation{res}
	if end < len(ids) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fakeEC2) DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enterLocked("DescribeInstanceStatus"); err != nil {
		return nil, err
	}
	out := &ec2.DescribeInstanceStatusOutput{}
	for _, id := range in.InstanceIds {
		inst := f.instances[id]
		if inst == nil {
			return nil, apiErr("InvalidInstanceID.NotFound")
		}
		if inst.state != ec2types.InstanceStateNameRunning && !aws.ToBool(in.IncludeAllInstances) {
			continue
		}
		out.InstanceStatuses = append(out.InstanceStatuses, ec2types.InstanceStatus{
			InstanceId:     aws.String(id),
			InstanceState:  &ec2types.InstanceState{Name: inst.state},
			InstanceStatus: &ec2types.InstanceStatusSummary{Status: inst.status},
			SystemStatus:   &ec2types.InstanceStatusSummary{Status: ec2types.SummaryStatusOk},
		})
	}
	return out, nil
}

func (f *fakeEC2) TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, _ ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recordMutationLocked(ctx, "TerminateInstances")
	if err := f.enterLocked("TerminateInstances"); err != nil {
		return nil, err
	}
	for _, id := range in.InstanceIds {
		if f.instances[id] == nil {
			return nil, apiErr("InvalidInstanceID.NotFound")
		}
	}
	f.terms = append(f.terms, slices.Clone(in.InstanceIds))
	for _, id := range in.InstanceIds {
		f.instances[id].state = ec2types.InstanceStateNameShuttingDown
	}
	return &ec2.TerminateInstancesOutput{}, nil
}

// fakeObject is one object of fakeStore.
type fakeObject struct {
	body []byte
	etag string
}

// fakeStore is an in-memory S3 with ETags and conditional-write semantics:
// If-None-Match "*" on an existing key and If-Match with another ETag fail
// with 412 PreconditionFailed.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string]fakeObject
	n       int
	puts    int
	gets    int
}

func newFakeStore() *fakeStore { return &fakeStore{objects: map[string]fakeObject{}} }

func (s *fakeStore) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	key := aws.ToString(in.Bucket) + "/" + aws.ToString(in.Key)
	cur, exists := s.objects[key]
	if aws.ToString(in.IfNoneMatch) == "*" && exists {
		return nil, apiErr("PreconditionFailed")
	}
	if m := aws.ToString(in.IfMatch); m != "" {
		if !exists {
			return nil, &s3types.NoSuchKey{}
		}
		if m != cur.etag {
			return nil, apiErr("PreconditionFailed")
		}
	}
	s.n++
	etag := fmt.Sprintf("%q", fmt.Sprintf("etag-%d", s.n))
	s.objects[key] = fakeObject{body: body, etag: etag}
	return &s3.PutObjectOutput{ETag: aws.String(etag)}, nil
}

func (s *fakeStore) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	o, ok := s.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body)), ETag: aws.String(o.etag)}, nil
}

func (s *fakeStore) putCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

// object returns a stored object's body, or nil.
func (s *fakeStore) object(bucket, key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.objects[bucket+"/"+key].body)
}

// cutStore is one node's path to a shared store; while cut, every call
// fails like a network outage.
type cutStore struct {
	ObjectStore
	mu  sync.Mutex
	cut bool
}

var errNetwork = errors.New("dial tcp: connection refused (fake partition)")

func (c *cutStore) setCut(v bool) {
	c.mu.Lock()
	c.cut = v
	c.mu.Unlock()
}

func (c *cutStore) isCut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut
}

func (c *cutStore) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if c.isCut() {
		return nil, errNetwork
	}
	return c.ObjectStore.PutObject(ctx, in, o...)
}

func (c *cutStore) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if c.isCut() {
		return nil, errNetwork
	}
	return c.ObjectStore.GetObject(ctx, in, o...)
}

// fakeView is a settable member view.
type fakeView struct {
	mu      sync.Mutex
	self    membership.Member
	members []membership.Member
}

func (v *fakeView) Members() []membership.Member {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.members)
}

func (v *fakeView) LocalMember() membership.Member {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.self
}

// put adds or replaces a member.
func (v *fakeView) put(m membership.Member) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range v.members {
		if v.members[i].Name == m.Name {
			v.members[i] = m
			return
		}
	}
	v.members = append(v.members, m)
}
