package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		Name:     "leave",
		Synopsis: "make the local agent leave the cluster gracefully and exit",
		Usage:    "[-socket PATH]",
		Run:      runLeave,
	})
}

func runLeave(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("leave", env)
	socket := socketFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if !noArgs(env, "leave", fs) {
		return exitUsage
	}
	resp, err := agentClient(env, *socket).Leave(ctx)
	if err != nil {
		return clientFailure(env, "leave", err)
	}
	fmt.Fprintln(env.Stdout, resp.Message)
	return 0
}
