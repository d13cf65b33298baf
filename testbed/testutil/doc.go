// Package testutil holds the test helpers shared by every farmhand package.
// Its jobs:
//
//   - waiting: Run and Poll retry a condition until a deadline (no sleeps);
//   - addresses: TakeIP and FreePort hand out loopback addresses and ports
//     that no other test process uses, never the same one twice;
//   - binaries: FarmhandBinary and TestbedBinary give the farmhand and
//     farmhand-testbed binaries for tests that run real processes (from
//     $FARMHAND_BIN and $FARMHAND_TESTBED_BIN, or built once);
//   - processes and tools: RunCommand runs a command for its exit code and
//     output, Nobody is the unprivileged user, NeedTool and NeedRoot skip a
//     test on a user's machine but fail it in CI (InCI);
//   - leaks: VerifyTestMain fails a package whose tests leave goroutines
//     running;
//   - logs: LogWriter sends a component's log to t.Log, Buffer is a
//     goroutine-safe log sink to search;
//   - AWS: Context bounds a test's calls, WantAPIError checks an SDK error's
//     code and HTTP status.
//
// It imports nothing else from farmhand, so any package's tests may use it.
package testutil
