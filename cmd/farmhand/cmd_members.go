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

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/membership"
)

func init() {
	register(&command{
		Name:     "members",
		Synopsis: "list the cluster members the local agent sees (exit 2 if none match)",
		Usage:    "[-socket PATH] [-status S] [-role R] [-tag k=v]... [-format table|json|addrs] [-watch]",
		Run:      runMembers,
	})
}

func runMembers(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("members", env)
	socket := socketFlag(fs)
	f := memberFilterFlags(fs)
	format := formatFlag(fs, "table", "json", "addrs")
	watch := fs.Bool("watch", false, "after the view, print one JSON line per change until interrupted (blocking queries)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if !noArgs(env, "members", fs) {
		return exitUsage
	}
	c := agentClient(env, *socket)
	var ms []membership.Member
	var index uint64
	var err error
	if *watch {
		ms, index, err = c.WatchMembers(ctx, *f, 0, 0)
	} else {
		ms, err = c.Members(ctx, *f)
	}
	if err != nil {
		return clientFailure(env, "members", err)
	}
	if ms == nil {
		ms = []membership.Member{}
	}
	switch *format {
	case "json":
		if code := writeJSON(env, "members", localapi.MembersResponse{Members: ms}); code != 0 {
			return code
		}
	case "addrs":
		for _, m := range ms {
			fmt.Fprintln(env.Stdout, m.Addr)
		}
	default:
		if len(ms) > 0 {
			writeMemberTable(env.Stdout, ms)
		}
	}
	if *watch {
		return watchMembers(ctx, env, c, *f, ms, index)
	}
	if len(ms) == 0 {
		if *format == "table" {
			if desc := f.String(); desc != "" {
				errorf(env, "members", "no members match %s", desc)
			} else {
				errorf(env, "members", "the member view is empty")
			}
		}
		return 2
	}
	return 0
}

// writeMemberTable prints NAME ADDRESS STATUS ROLE AZ TAGS, one member a line.
func writeMemberTable(w io.Writer, ms []membership.Member) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tSTATUS\tROLE\tAZ\tTAGS")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, net.JoinHostPort(m.Addr, strconv.Itoa(m.Port)), m.Status,
			orDash(m.Tags[localapi.TagRole]), orDash(m.Tags[localapi.TagAZ]), otherTags(m.Tags))
	}
	tw.Flush()
}

// otherTags renders the tags other than role and az as sorted k=v pairs.
func otherTags(tags map[string]string) string {
	var kv []string
	for k, v := range tags {
		if k != localapi.TagRole && k != localapi.TagAZ {
			kv = append(kv, k+"="+v)
		}
	}
	sort.Strings(kv)
	return orDash(strings.Join(kv, ","))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
