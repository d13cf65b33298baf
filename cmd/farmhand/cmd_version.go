package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/farmhand/farmhand/agent"
)

func init() {
	register(&command{
		Name:     "version",
		Synopsis: "print the farmhand version",
		Run: func(ctx context.Context, env *cmdEnv, args []string) int {
			fs := newFlagSet("version", env)
			if code, ok := parseFlags(fs, args); !ok {
				return code
			}
			if fs.NArg() > 0 {
				errorf(env, "version", "takes no arguments, got %q", fs.Args())
				return exitUsage
			}
			fmt.Fprintf(env.Stdout, "farmhand %s (%s, %s/%s)\n", agent.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return 0
		},
	})
}
