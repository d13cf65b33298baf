package testbed

import "time"

// outageRequestLimit is the most S3 requests a booting agent may send while
// S3 answers every request with 503 SlowDown for window. It follows from
// the agent's retry policies (mirrored here; see agent/join.go,
// bootstrap/registry_config.go and membership.DefaultLocalConfig):
//
//   - every registry call makes at most 6 attempts, sleeping a full-jitter
//     rand[0, min(10 s, 200 ms*2^k)] before retry k: 3.1 s per call on
//     average (0.1+0.2+0.4+0.8+1.6);
//   - the boot loop makes two calls per round (Register, then List for
//     candidates), 12 requests in about 6.2 s, then waits a full-jitter
//     rand[0, min(30 s, 1 s*2^round)];
//   - the membership isolation loop, which runs while the agent is alone,
//     makes one List call per attempt, cut off after 3 s (three TCP
//     timeouts of the local profile), so up to 6 requests, then backs off
//     0.5 s*2^failures capped at 4 s, jittered in its upper half (0.75 s,
//     1.5 s, then 3 s on average).
//
// On average that is 12 requests per 6.7 s or more from the boot loop and 6
// per 3.75 s or more from the isolation loop: under 3.4 requests a second.
// The limit allows twice that plus one boot round of slack, so only a lost
// backoff (the next round starting at once: hundreds a second against a
// local 503) trips it, not an unlucky draw of the jitter.
func outageRequestLimit(window time.Duration) int {
	const perSecond = 2 * 3.4
	const bootRound = 12
	return int(perSecond*window.Seconds()) + bootRound
}
