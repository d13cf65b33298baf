package main

import "runtime"

// agentProcs is how many threads the agent runs Go code on, unless the
// GOMAXPROCS environment variable says otherwise.
//
// The agent is idle almost all the time: a probe and an ack or two every
// half second, a gossip round every 200 ms, a push/pull now and then. With
// one P per core (Go's default) each of those events wakes a second thread
// that finds nothing to do: on a 2-core machine an idle agent spent about a
// fifth of its CPU on those hand-offs (futex and epoll wake-ups), and on a
// 64-core instance the runtime has 64 Ps to hand work between. One P runs
// every event at once on the thread that got it; the largest burst of work
// an agent has, decoding a 2,000-member push/pull, takes milliseconds.
const agentProcs = 1

// limitProcs applies agentProcs unless GOMAXPROCS is set.
func limitProcs(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(agentProcs)
	}
}
