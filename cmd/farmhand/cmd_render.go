package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/farmhand/farmhand/agent/localapi"
	"github.com/farmhand/farmhand/agent/render"
	"github.com/farmhand/farmhand/membership"
)

func init() {
	register(&command{
		Name:     "render",
		Synopsis: "render a peer list once from the live agent (built-in template name or a template file)",
		Usage:    "-template NAME|FILE [-role R] [-status S] [-tag k=v]... [-out FILE] [-socket PATH]",
		Run:      runRender,
	})
}

func runRender(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("render", env)
	socket := socketFlag(fs)
	tmpl := fs.String("template", "", fmt.Sprintf("built-in template (%v) or a Go text/template file", render.Builtins()))
	mf := memberFilterFlags(fs)
	out := fs.String("out", "", "write to this file atomically instead of stdout")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if !noArgs(env, "render", fs) {
		return exitUsage
	}
	if *tmpl == "" {
		errorf(env, "render", "-template is required: one of %v, or a template file path", render.Builtins())
		return exitUsage
	}
	f := render.Filter{Role: mf.Role, Tags: mf.Tags}
	if mf.Status != "" {
		f.Status = []membership.Status{membership.Status(mf.Status)}
	}
	c := agentClient(env, *socket)
	st, err := c.Status(ctx)
	if err != nil {
		return clientFailure(env, "render", err)
	}
	all, err := c.Members(ctx, localapi.MemberFilter{})
	if err != nil {
		return clientFailure(env, "render", err)
	}
	var local membership.Member
	for _, m := range all {
		if m.Name == st.Name {
			local = m
		}
	}
	text, err := render.RenderOnce(*tmpl, render.NewData(st.Cluster, all, local, f))
	if err != nil {
		errorf(env, "render", "%v", err)
		return 1
	}
	if *out == "" {
		env.Stdout.Write(text)
		return 0
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		errorf(env, "render", "-out %s: %v", *out, err)
		return 1
	}
	spec := render.DefaultSpec()
	spec.Name, spec.Template, spec.Destination = "cli", *tmpl, abs
	target, err := render.Compile(spec)
	if err != nil {
		errorf(env, "render", "%v", err)
		return 1
	}
	changed, err := target.Write(text)
	if err != nil {
		errorf(env, "render", "writing %s: %v", abs, err)
		return 1
	}
	if changed {
		fmt.Fprintf(env.Stderr, "wrote %s (%d bytes)\n", abs, len(text))
	} else {
		fmt.Fprintf(env.Stderr, "%s unchanged\n", abs)
	}
	return 0
}
