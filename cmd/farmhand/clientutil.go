package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/agent/localapi"
)

// socketFlag defines -socket on fs; resolve the value with agentClient.
func socketFlag(fs *flag.FlagSet) *string {
	return fs.String("socket", "", "agent socket `path` (default $"+localapi.SocketEnv+", else "+localapi.DefaultSocketPath+")")
}

// socketPath picks the socket: the -socket flag, else FARMHAND_SOCKET, else the default.
func socketPath(env *cmdEnv, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := env.Getenv(localapi.SocketEnv); v != "" {
		return v
	}
	return localapi.DefaultSocketPath
}

// agentClient returns a client of the agent chosen by -socket or the environment.
func agentClient(env *cmdEnv, flagValue string) *client.Client {
	return client.New(socketPath(env, flagValue))
}

// formatFlag defines -format on fs, accepting only the allowed values; the
// first is the default. A bad value is a usage error reported by parseFlags.
func formatFlag(fs *flag.FlagSet, allowed ...string) *string {
	v := allowed[0]
	list := strings.Join(allowed, "|")
	fs.Func("format", "output `format`: "+list+" (default "+v+")", func(s string) error {
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("unknown format %q: want %s", s, list)
		}
		v = s
		return nil
	})
	return &v
}

// noArgs reports a usage error if fs was given positional arguments.
func noArgs(env *cmdEnv, cmd string, fs *flag.FlagSet) bool {
	if fs.NArg() == 0 {
		return true
	}
	errorf(env, cmd, "takes no arguments, got %q; flags go before arguments", fs.Args())
	return false
}

// clientFailure prints a failed agent call for a person and returns the
// exit code: exitUsage when the agent rejected the request as invalid, 1 otherwise.
func clientFailure(env *cmdEnv, cmd string, err error) int {
	errorf(env, cmd, "%v", err)
	if errors.Is(err, client.ErrBadRequest) {
		return exitUsage
	}
	return 1
}

// memberFilterFlags defines -status, -role and -tag k=v (repeatable) on fs,
// parsed with the local API's own parsers.
func memberFilterFlags(fs *flag.FlagSet) *client.Filter {
	f := &client.Filter{}
	fs.Func("status", "only members in this `status`: alive, draining, suspect, dead or left", func(s string) error {
		st, err := localapi.ParseStatus(s)
		f.Status = string(st)
		return err
	})
	fs.StringVar(&f.Role, "role", "", "only members with this `role` tag")
	fs.Func("tag", "only members with tag `k=v` (repeatable; all must match)", func(s string) error {
		k, v, err := localapi.ParseTag(s)
		if err != nil {
			return err
		}
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		f.Tags[k] = v
		return nil
	})
	return f
}

// writeJSON prints v as indented JSON for -format json; it returns the exit
// code (1 when stdout cannot be written).
func writeJSON(env *cmdEnv, cmd string, v any) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		errorf(env, cmd, "writing JSON: %v", err)
		return 1
	}
	return 0
}
