package main

import (
	"fmt"
	"math"
	"strings"
)

// s3PerAgent is a run's registry cost per agent: at boot (cold start),
// per late join, and per hour at rest.
type s3PerAgent struct {
	Boot, Join, Hour s3Rate
	// Run is per agent per hour over the whole run after boot (crashes,
	// loss and stalls included).
	Run s3Rate
	OK  bool
}

// s3Rate is a request count split by kind, per agent.
type s3Rate struct{ Put, List, Get, Delete, Other float64 }

// Total is every request.
func (r s3Rate) Total() float64 { return r.Put + r.List + r.Get + r.Delete + r.Other }

// Dollars prices r; other requests (HEAD) are priced as GETs.
func (r s3Rate) Dollars() float64 { return dollars(r.Put, r.List, r.Get+r.Other) }

// String shows r as "3.00 (1 PUT, 1 LIST, 1 GET)".
func (r s3Rate) String() string {
	var parts []string
	for _, p := range []struct {
		n    float64
		name string
	}{{r.Put, "PUT"}, {r.List, "LIST"}, {r.Get, "GET"}, {r.Delete, "DELETE"}, {r.Other, "other"}} {
		if p.n != 0 {
			parts = append(parts, num(p.n)+" "+p.name)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return fmt.Sprintf("%s (%s)", num(r.Total()), strings.Join(parts, ", "))
}

// rateOf divides counts by d.
func rateOf(c s3Counts, d float64) s3Rate {
	if d == 0 {
		return s3Rate{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	}
	return s3Rate{float64(c.Put) / d, float64(c.List) / d, float64(c.Get) / d, float64(c.Delete) / d, float64(c.Other) / d}
}

// s3Cost computes a run's per-agent registry costs.
func s3Cost(run *runResult) s3PerAgent {
	var out s3PerAgent
	if run.Err != "" {
		return out
	}
	out.OK = true
	out.Boot = rateOf(run.Cold.S3, float64(run.N))
	var joins s3Counts
	for _, l := range run.Late {
		joins.Put += l.S3.Put
		joins.Get += l.S3.Get
		joins.List += l.S3.List
		joins.Delete += l.S3.Delete
		joins.Other += l.S3.Other
	}
	out.Join = rateOf(joins, float64(len(run.Late)))
	out.Hour = rateOf(run.Rest.S3, float64(run.Rest.Members)*run.Rest.Win.Span.Hours())
	out.Run = rateOf(run.AfterBoot, float64(run.Rest.Members)*run.AfterBootSpan.Hours())
	return out
}

// heartbeatAnchor is the DESIGN.md anchor: a 60 s heartbeat that PUTs
// its own record and LISTs the others every minute, for 1,000 nodes.
func heartbeatAnchor() float64 {
	perHour := 60.0
	return dollars(perHour, perHour, 0) * hoursPerMon * 1000
}

// writeS3 writes the registry cost table.
func (r *report) writeS3(b *strings.Builder) {
	fmt.Fprintf(b, "### S3 cost\n\n")
	fmt.Fprintf(b, "Requests the embedded S3 (gofakes3 behind a counter) served, per agent. Prices: PUT/LIST $0.005 per 1,000, GET $0.0004 per 1,000, DELETE free; a month is %d h. "+
		"*At rest* is the quiet rest window only (%s); *after boot* is everything from the end of the cold start to the end of the run (crashes, loss and stalls included; late joiners' own boots left out). A zero means no request in that span. "+
		"Anchor: a 60 s heartbeat (PUT own record + LIST) costs $%.0f per 1,000 nodes per month.\n\n",
		hoursPerMon, r.Plan.Rest, heartbeatAnchor())
	fmt.Fprintf(b, "| N | impl | per agent at boot | per late join | per agent per hour at rest | per agent per hour after boot | $ per 1,000 nodes per month (after-boot rate) | $ per 1,000 boots |\n|---:|---|---|---|---|---|---|---|\n")
	for _, n := range r.sizes() {
		for _, name := range r.implNames() {
			run := r.run(name, n)
			if run == nil {
				continue
			}
			if !r.Impls[name].HasS3 {
				fmt.Fprintf(b, "| %d | %s | no registry (static seeds) | – | – | – | – | – |\n", n, name)
				continue
			}
			c := s3Cost(run)
			if !c.OK {
				fmt.Fprintf(b, "| %d | %s | %s | – | – | – | – | – |\n", n, name, rateOf(run.Cold.S3, float64(run.N)))
				continue
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | $%.4f | $%.4f |\n", n, name, c.Boot, c.Join, c.Hour, c.Run,
				c.Run.Dollars()*hoursPerMon*1000, c.Boot.Dollars()*1000)
		}
	}
	b.WriteString("\n")
}
