package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/farmhand/farmhand/agent/coordinator"
	"github.com/farmhand/farmhand/bootstrap"
	"github.com/farmhand/farmhand/membership"
)

func init() {
	register(&command{
		Name:     "status",
		Synopsis: "the farm seen from outside, from S3 alone: published view, lease, ledger, registry, bucket",
		Usage:    "-bucket B -cluster C [-prefix P] [-region R] [-endpoint URL -path-style] [-decisions N] [-max-age D] [-format text|json]",
		Run:      runStatus,
	})
}

// farmStatus is what "farmhand status" read. Each part carries its own
// error, so one unreadable object does not hide the others.
type farmStatus struct {
	Bucket     bootstrap.BucketStatus    `json:"bucket"`
	Cluster    string                    `json:"cluster"`
	Prefix     string                    `json:"prefix"`
	Now        time.Time                 `json:"now"`
	View       *coordinator.FarmView     `json:"view"`
	ViewAge    string                    `json:"view_age,omitempty"`
	ViewOld    bool                      `json:"view_old"`
	ViewError  string                    `json:"view_error,omitempty"`
	Lease      *coordinator.StoredLease  `json:"lease"`
	LeaseError string                    `json:"lease_error,omitempty"`
	Ledger     *coordinator.StoredLedger `json:"ledger"`
	LedgerErr  string                    `json:"ledger_error,omitempty"`
	Records    []statusRecord            `json:"records"`
	Skipped    map[string]int64          `json:"skipped,omitempty"`
	RecordsErr string                    `json:"records_error,omitempty"`
}

// statusRecord is one registry record and what the view says of its node.
type statusRecord struct {
	bootstrap.Record
	// InView is the node's status in the published view, "absent" when
	// the view does not have it, "" when there is no view.
	InView string `json:"in_view"`
	// Stale is set when the view has the node neither alive nor suspect.
	Stale bool `json:"stale"`
}

func runStatus(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("status", env)
	bucket := fs.String("bucket", "", "the registry's S3 `bucket` (required)")
	cluster := fs.String("cluster", "", "the cluster `name` (required)")
	prefix := fs.String("prefix", "farmhand", "the registry's key `prefix`")
	region := fs.String("region", "", "the bucket's `region` (default: the AWS config chain, AWS_REGION)")
	endpoint := fs.String("endpoint", "", "an S3-compatible endpoint `URL` instead of AWS S3")
	pathStyle := fs.Bool("path-style", false, "path-style bucket addressing (most S3-compatible servers)")
	decisions := fs.Int("decisions", 10, "how many of the ledger's last decisions to show")
	maxAge := fs.Duration("max-age", 15*time.Minute, "a view older than this is reported old (the leader rewrites it every 10m)")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on all S3 requests")
	format := formatFlag(fs, "text", "json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if !noArgs(env, "status", fs) {
		return exitUsage
	}
	if err := checkStatusFlags(*bucket, *cluster, *decisions, *maxAge); err != nil {
		errorf(env, "status", "%v", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	api, err := bootstrap.NewS3Client(ctx, bootstrap.S3Config{Region: *region, Endpoint: *endpoint, PathStyle: *pathStyle})
	if err != nil {
		errorf(env, "status", "%v", err)
		return 1
	}
	st, err := readFarm(ctx, api, *bucket, *prefix, *cluster, *decisions, *maxAge, time.Now())
	if err != nil {
		errorf(env, "status", "%v", err)
		return 1
	}
	if *format == "json" {
		return writeJSON(env, "status", st)
	}
	writeFarmStatus(env.Stdout, st)
	if !st.Bucket.OK || st.ViewError != "" || st.LeaseError != "" || st.LedgerErr != "" || st.RecordsErr != "" {
		return 1
	}
	return 0
}

// checkStatusFlags checks the flags that have no safe default.
func checkStatusFlags(bucket, cluster string, decisions int, maxAge time.Duration) error {
	switch {
	case bucket == "":
		return errors.New("-bucket is required: the registry's S3 bucket")
	case cluster == "":
		return errors.New("-cluster is required: the cluster's name")
	case strings.Contains(cluster, "/"):
		return fmt.Errorf("-cluster %q: a cluster name has no \"/\"", cluster)
	case decisions < 0:
		return fmt.Errorf("-decisions %d: want 0 or more", decisions)
	case maxAge <= 0:
		return fmt.Errorf("-max-age %s: want a positive duration", maxAge)
	}
	return nil
}

// readFarm reads everything status shows. It fails only when the registry
// cannot be set up; S3 errors are kept per part.
func readFarm(ctx context.Context, api bootstrap.S3API, bucket, prefix, cluster string, decisions int, maxAge time.Duration, now time.Time) (*farmStatus, error) {
	cfg := bootstrap.DefaultRegistryConfig()
	cfg.Bucket, cfg.Prefix, cfg.Cluster = bucket, prefix, cluster
	cfg.Retry.MaxAttempts = 2
	reg, err := bootstrap.NewRegistry(api, cfg)
	if err != nil {
		return nil, err
	}
	cp := reg.ClusterPrefix()
	st := &farmStatus{Bucket: reg.HeadBucket(ctx), Cluster: cluster, Prefix: cp, Now: now, Records: []statusRecord{}}
	if st.View, err = coordinator.ReadView(ctx, api, bucket, cp+coordinator.ViewObject); err != nil {
		st.ViewError = err.Error()
	} else if st.View != nil {
		age := now.Sub(st.View.Time)
		st.ViewAge, st.ViewOld = age.Round(time.Second).String(), age > maxAge
	}
	if st.Lease, err = coordinator.ReadLease(ctx, api, bucket, cp+coordinator.LeaseObject); err != nil {
		st.LeaseError = err.Error()
	}
	if st.Ledger, err = coordinator.ReadLedger(ctx, api, bucket, cp+coordinator.LedgerObject, decisions); err != nil {
		st.LedgerErr = err.Error()
	}
	recs, err := reg.List(ctx)
	if err != nil {
		st.RecordsErr = err.Error()
	}
	inView := map[string]membership.Status{}
	if st.View != nil {
		for _, m := range st.View.Members {
			inView[m.Name] = m.Status
		}
	}
	for _, r := range recs {
		sr := statusRecord{Record: r}
		if st.View != nil {
			s, ok := inView[r.Name]
			sr.InView = string(s)
			if !ok {
				sr.InView = "absent"
			}
			sr.Stale = s != membership.StatusAlive && s != membership.StatusSuspect && s != membership.StatusDraining
		}
		st.Records = append(st.Records, sr)
	}
	if sk := reg.Stats().Skipped; len(sk) > 0 {
		st.Skipped = map[string]int64{}
		for reason, n := range sk {
			st.Skipped[string(reason)] = n
		}
	}
	return st, nil
}

// writeFarmStatus prints st for a person.
func writeFarmStatus(w io.Writer, st *farmStatus) {
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		d := st.Now.Sub(t).Round(time.Second)
		if d < 0 {
			return fmt.Sprintf("%s (in %s)", t.Local().Format(time.RFC3339), -d)
		}
		return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.RFC3339), d)
	}
	fmt.Fprintf(w, "cluster %s at s3://%s/%s\n", st.Cluster, st.Bucket.Bucket, st.Prefix)
	if st.Bucket.OK {
		fmt.Fprintf(w, "bucket:  answers HEAD\n")
	} else {
		fmt.Fprintf(w, "bucket:  DOES NOT ANSWER HEAD: %s\n", st.Bucket.Error)
	}

	fmt.Fprintln(w)
	switch v := st.View; {
	case st.ViewError != "":
		fmt.Fprintf(w, "view:    UNREADABLE: %s\n", st.ViewError)
	case v == nil:
		fmt.Fprintf(w, "view:    MISSING: no coordinator leader has published %s%s (is a coordinator enabled?)\n", st.Prefix, coordinator.ViewObject)
	default:
		fmt.Fprintf(w, "view:    index %d, published %s by %s (epoch %d)\n", v.Index, ago(v.Time), v.Coordinator.Leader, v.Coordinator.Epoch)
		if st.ViewOld {
			fmt.Fprintf(w, "         THE VIEW IS OLD (%s): a leader rewrites it every %s, so no coordinator leader has published since; what follows may be out of date\n",
				st.ViewAge, coordinator.RefreshEvery)
		}
		writeViewMembers(w, st.Now, v.Members)
		for _, g := range v.Coordinator.Groups {
			state := "active"
			if g.Frozen {
				state = "FROZEN: " + g.FreezeReason
			}
			fmt.Fprintf(w, "group %s: %s\n", g.Name, state)
		}
		fmt.Fprintf(w, "pending batches: %d", v.Coordinator.Pending)
		if v.Coordinator.DryRun {
			fmt.Fprint(w, " (dry run)")
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w)
	switch l := st.Lease; {
	case st.LeaseError != "":
		fmt.Fprintf(w, "lease:   UNREADABLE: %s\n", st.LeaseError)
	case l == nil:
		fmt.Fprintln(w, "lease:   none: no coordinator has ever led this cluster")
	case l.Holder == "":
		fmt.Fprintf(w, "lease:   released (epoch %d): no leader now\n", l.Epoch)
	case st.Now.After(l.Expires):
		fmt.Fprintf(w, "lease:   EXPIRED: held by %s, epoch %d, expired %s: no leader renews it\n", l.Holder, l.Epoch, ago(l.Expires))
	default:
		fmt.Fprintf(w, "lease:   held by %s, epoch %d, expires %s\n", l.Holder, l.Epoch, ago(l.Expires))
	}

	switch l := st.Ledger; {
	case st.LedgerErr != "":
		fmt.Fprintf(w, "ledger:  UNREADABLE: %s\n", st.LedgerErr)
	case l == nil:
		fmt.Fprintln(w, "ledger:  none yet")
	default:
		fmt.Fprintf(w, "ledger:  written %s by %s (epoch %d), %d pending batch(es); last %d decision(s):\n",
			ago(l.Updated), orDash(l.Holder), l.Epoch, len(l.Pending), len(l.Decisions))
		writeDecisions(w, l.Decisions)
	}

	fmt.Fprintln(w)
	if st.RecordsErr != "" {
		fmt.Fprintf(w, "registry: UNREADABLE: %s\n", st.RecordsErr)
		return
	}
	stale := 0
	for _, r := range st.Records {
		if r.Stale {
			stale++
		}
	}
	fmt.Fprintf(w, "registry: %d record(s), %d stale (not alive in the view)", len(st.Records), stale)
	if len(st.Skipped) > 0 {
		fmt.Fprintf(w, "; skipped as garbage: %s", joinPairs(st.Skipped, nil))
	}
	fmt.Fprintln(w)
	if len(st.Records) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDR\tAZ\tROLE\tSTARTED\tIN VIEW")
	for _, r := range st.Records {
		mark := orDash(r.InView)
		if r.Stale {
			mark += " (STALE)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.JoinAddr(), orDash(r.AZ), orDash(r.Tags["role"]), ago(r.StartedAt), mark)
	}
	tw.Flush()
}

// writeViewMembers prints the view's members by role and AZ.
func writeViewMembers(w io.Writer, now time.Time, ms []coordinator.ViewMember) {
	ms = append([]coordinator.ViewMember(nil), ms...)
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].Role != ms[j].Role {
			return ms[i].Role < ms[j].Role
		}
		return ms[i].AZ < ms[j].AZ
	})
	counts := map[string]int{}
	for _, m := range ms {
		counts[string(m.Status)]++
	}
	fmt.Fprintf(w, "members: %d (%s)\n", len(ms), joinPairs(counts, infoStatusOrder))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tAZ\tNAME\tADDR\tSTATUS\tFOR")
	for _, m := range ms {
		age := "-"
		if !m.Since.IsZero() {
			age = now.Sub(m.Since).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", orDash(m.Role), orDash(m.AZ), m.Name, orDash(m.Addr), m.Status, age)
	}
	tw.Flush()
}
