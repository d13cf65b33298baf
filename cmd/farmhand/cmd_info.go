package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/bootstrap"
)

func init() {
	register(&command{
		Name:     "info",
		Synopsis: "describe the local agent: node, cluster, state, member counts, S3 requests",
		Usage:    "[-socket PATH] [-format text|json]",
		Run:      runInfo,
	})
}

func runInfo(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("info", env)
	socket := socketFlag(fs)
	format := formatFlag(fs, "text", "json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if !noArgs(env, "info", fs) {
		return exitUsage
	}
	c := agentClient(env, *socket)
	st, err := c.Status(ctx)
	if err != nil {
		return clientFailure(env, "info", err)
	}
	// The bucket check is one HEAD from the agent; an agent without it
	// (an older version) leaves the line out rather than failing info.
	var bucket *bootstrap.BucketStatus
	if b, err := c.CheckBucket(ctx); err == nil {
		bucket = &b
	} else {
		fmt.Fprintf(env.Stderr, "farmhand info: the agent did not check the registry bucket: %v\n", err)
	}
	if *format == "json" {
		return writeJSON(env, "info", infoJSON{Status: st, Bucket: bucket})
	}
	writeInfo(env.Stdout, st, time.Now())
	if bucket != nil {
		fmt.Fprintf(env.Stdout, "Bucket:        %s\n", bucketLine(*bucket))
	}
	return 0
}

// infoJSON is info's JSON: the agent's status and the bucket check.
type infoJSON struct {
	localapi.Status
	Bucket *bootstrap.BucketStatus `json:"bucket,omitempty"`
}

// bucketLine says in one line whether a bucket answered its HEAD.
func bucketLine(b bootstrap.BucketStatus) string {
	if b.OK {
		return fmt.Sprintf("s3://%s answers HEAD", b.Bucket)
	}
	return fmt.Sprintf("s3://%s does NOT answer HEAD: %s", b.Bucket, b.Error)
}

// Orders in which info lists member statuses and S3 request kinds; any
// other keys follow, sorted.
var (
	infoStatusOrder = []string{"alive", "draining", "suspect", "dead", "left"}
	infoS3Order     = []string{"put", "list", "get", "delete"}
)

// writeInfo prints st for a person; now dates the relative times.
func writeInfo(w io.Writer, st localapi.Status, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, k+":\t"+format+"\n", args...) }
	row("Node", "%s (%s)", st.Name, net.JoinHostPort(st.Addr, strconv.Itoa(st.Port)))
	row("Cluster", "%s", st.Cluster)
	row("State", "%s", st.State)
	row("Version", "%s", st.Version)
	row("Started", "%s", when(st.StartedAt, now))
	id := st.Identity
	row("Instance", "%s %s %s %s %s", orDash(id.InstanceID), orDash(id.InstanceType), orDash(id.AvailabilityZone), orDash(id.AMI), orDash(id.PrivateIP))
	row("Tags", "%s", orDash(joinPairs(st.Tags, nil)))
	row("Members", "%s", joinPairs(st.Counts, infoStatusOrder))
	row("View changed", "%s", when(st.LastChange, now))
	row("S3 requests", "%s", joinPairs(st.S3, infoS3Order))
	row("Joins", "%d", st.Joins)
	row("Reconnects", "%d", st.Reconnects)
	if d := st.Drain; d != nil {
		row("Drain", "%s", drainLine(*d, now))
		if !d.RebalanceAt.IsZero() {
			row("Rebalance", "recommended %s", when(d.RebalanceAt, now))
		}
		if d.OnDrain != "" {
			row("on_drain", "%s", d.OnDrain)
		}
		if d.IMDSError != "" {
			row("IMDS", "%s", d.IMDSError)
		}
	}
	tw.Flush()
}

// drainLine says whether this node drains, why and when it leaves.
func drainLine(d localapi.DrainStatus, now time.Time) string {
	if !d.Draining {
		return "no (watching IMDS)"
	}
	s := "draining: " + d.Reason
	if d.Action != "" {
		s += " (" + d.Action + ")"
	}
	if !d.Deadline.IsZero() {
		s += ", deadline " + d.Deadline.Local().Format(time.RFC3339)
	}
	if !d.LeaveAt.IsZero() {
		s += fmt.Sprintf(", leaving in %s", max(0, d.LeaveAt.Sub(now)).Round(time.Second))
	}
	return s
}

// when renders t with its distance from now, or "-" when t is unset.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.RFC3339), now.Sub(t).Round(time.Second))
}

// joinPairs renders m as space-separated k=v pairs: the keys in order first
// (shown even when absent, as zero values), then the rest sorted.
func joinPairs[V any](m map[string]V, order []string) string {
	var items []string
	seen := map[string]bool{}
	for _, k := range order {
		seen[k] = true
		items = append(items, fmt.Sprintf("%s=%v", k, m[k]))
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		items = append(items, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(items, " ")
}
