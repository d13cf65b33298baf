// Command farmhand is the farmhand agent and its command-line client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. Each lives in its own cmd_*.go file and
// registers itself from init, so adding one never touches this file.
type command struct {
	// Name is the first argument that selects the command.
	Name string
	// Synopsis is the one-line summary shown by "farmhand help".
	Synopsis string
	// Usage is the argument summary, e.g. "[-format table|json|addrs]".
	Usage string
	// Run executes the command with the arguments after its name and
	// returns the exit code. It makes its own flag set (newFlagSet), defines
	// its flags and parses args (parseFlags), writing to env's streams.
	Run func(ctx context.Context, env *cmdEnv, args []string) int
}

// cmdEnv carries the process streams so commands are testable in-process.
type cmdEnv struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("farmhand: command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

// exitUsage is the exit code for a usage error (unknown command or flag).
const exitUsage = 2

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &cmdEnv{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a command and returns the process exit code.
func run(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 {
		printHelp(env.Stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Fprintf(env.Stdout, "usage: farmhand %s %s\n\n%s\n", c.Name, c.Usage, c.Synopsis)
				return 0
			}
		}
		printHelp(env.Stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "farmhand: unknown command %q; run 'farmhand help' for the list\n", name)
		return exitUsage
	}
	return c.Run(ctx, env, args[1:])
}

// newFlagSet returns a FlagSet for c that reports errors to env.Stderr and
// does not exit, so parse errors become exit code 2 through parseFlags.
func newFlagSet(c string, env *cmdEnv) *flag.FlagSet {
	fs := flag.NewFlagSet("farmhand "+c, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags parses args into fs. It returns (0, true) on success,
// (0, false) for -h, and (2, false) for a bad flag, after printing usage.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return exitUsage, false
	}
	return 0, true
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "farmhand: peer discovery and membership for farm nodes on EC2")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: farmhand <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].Synopsis)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'farmhand help <command>' or 'farmhand <command> -h' for a command's flags.")
}

// errorf prints a one-line error prefixed with the command name.
func errorf(env *cmdEnv, cmd, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(env.Stderr, "farmhand %s: %s\n", cmd, strings.TrimRight(msg, "\n"))
}
