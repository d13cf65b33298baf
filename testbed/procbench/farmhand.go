package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/farmhand/farmhand/agent/client"
	"github.com/farmhand/farmhand/testbed"
)

// farmhandImpl runs farmhand agents through the testbed, as `farmhand
// testbed up -profile lan` does: RunInstances on the EC2 emulator, an IMDS
// per instance, the S3 registry, one agent process per instance.
type farmhandImpl struct {
	bin string
}

func (farmhandImpl) name() string { return "farmhand" }

func (farmhandImpl) describe() string {
	return "`farmhand agent` processes launched by the testbed (EC2 and IMDS emulators, embedded S3 registry), gossip profile `lan` (the production timers), unencrypted like the Serf agents; each boots by registering in S3 and joining a few registry candidates"
}

func (f farmhandImpl) start(ctx context.Context, n int, o startOpts) (farm, error) {
	dir, err := os.MkdirTemp("", "fh-procbench-")
	if err != nil {
		return nil, err
	}
	cfg := testbed.DefaultConfig()
	cfg.Dir = dir
	cfg.Nodes = n
	cfg.Profile = "lan"
	cfg.Bin = f.bin
	cfg.Netns = o.netns
	cfg.Coordinator = o.coordinator
	tb, err := testbed.Start(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testbed: %w", err)
	}
	return &farmhandFarm{tb: tb, dir: dir, initial: len(tb.Instances())}, nil
}

type farmhandFarm struct {
	tb  *testbed.Testbed
	dir string
	// initial is how many instances the harness launched at the start;
	// asked tracks its later launches.
	initial, asked int
}

func (f *farmhandFarm) agents() []agent {
	var out []agent
	for _, in := range f.tb.State().Instances {
		if in.Agent == "running" {
			out = append(out, farmhandAgent(in))
		}
	}
	return out
}

func farmhandAgent(in testbed.InstanceState) agent {
	c := client.New(in.Socket)
	return agent{
		name: in.ID,
		pid:  in.PID,
		view: func(ctx context.Context) (map[string]string, error) {
			ms, err := c.Members(ctx, client.Filter{})
			if err != nil {
				return nil, err
			}
			v := make(map[string]string, len(ms))
			for _, m := range ms {
				v[m.Name] = string(m.Status)
			}
			return v, nil
		},
	}
}

func (f *farmhandFarm) launch(ctx context.Context) (agent, error) {
	ids, err := f.tb.Launch(ctx, 1)
	if err != nil {
		return agent{}, err
	}
	f.asked++
	for _, in := range f.tb.State().Instances {
		if slices.Contains(ids, in.ID) {
			return farmhandAgent(in), nil
		}
	}
	return agent{}, fmt.Errorf("launched %v but the testbed does not list it", ids)
}

func (f *farmhandFarm) kill(a agent) error { return f.tb.Crash(a.name) }

func (f *farmhandFarm) setLoss(ctx context.Context, percent int) error {
	return f.tb.SetLoss(ctx, percent)
}

func (f *farmhandFarm) logFiles() []string {
	var out []string
	for _, in := range f.tb.State().Instances {
		out = append(out, in.Log)
	}
	return out
}

func (f *farmhandFarm) launched() int { return len(f.tb.Instances()) - f.initial - f.asked }

func (f *farmhandFarm) close() error {
	err := f.tb.Close()
	if os.Getenv("PROCBENCH_KEEP") == "" {
		os.RemoveAll(f.dir)
	} else {
		logf("  kept %s", f.dir)
	}
	return err
}
