package testbed

import "time"

// outageRequestLimit is the most S3 requests a booting agent may send while
// S3 answers every request with 503 SlowDown for window. It follows from
// the agent's retry policy (see agent/join.go and docs/operations.md):
//
//   - registry calls make at most 2 attempts (the caller's loop retries);
//   - a boot round stops after a failed Register when S3 is failing, so it
//     costs at most 2 requests, then waits a full-jitter
//     rand[0, min(30 s, 1 s*2^round)];
//   - the membership isolation loop does not list S3 before the boot loop
//     has joined someone.
//
// That averages about 17 requests in the first minute and 8 a minute after
// (docs/operations.md). The limit keeps the older, looser bound of about
// 6.8 a second plus one round: far above the real rate, so an unlucky draw
// of the jitter never trips it, while a lost backoff (hundreds a second
// against a local 503) always does. agent/faults_s3_test.go holds the
// tight bound.
func outageRequestLimit(window time.Duration) int {
	const perSecond = 2 * 3.4
	const bootRound = 12
	return int(perSecond*window.Seconds()) + bootRound
}
