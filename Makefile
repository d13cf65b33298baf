# farmhand Makefile. `make demo` and `make test` are the two commands a new
# user needs; everything else is for developers and CI.

GO        ?= go
BIN       := $(CURDIR)/bin
TOOLS_BIN := $(CURDIR)/.tools/bin
VERSITYGW_VERSION := v1.8.0
# Serf is the peer farmhand is measured against (make bench), not a test
# dependency: tools-bench installs it, tools does not.
SERF_VERSION      := v0.10.2

# Tests find the tools and the binary through these.
export FARMHAND_VERSITYGW := $(TOOLS_BIN)/versitygw
export FARMHAND_BIN       := $(BIN)/farmhand

LDFLAGS := -X github.com/farmhand/farmhand/agent.Version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test test-short lint tools tools-bench bench bench-full demo soak fuzz clean

all: build

build: ## build bin/farmhand
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/farmhand ./cmd/farmhand

tools: $(TOOLS_BIN)/versitygw ## install pinned test tools into .tools/bin

$(TOOLS_BIN)/versitygw:
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

tools-bench: $(TOOLS_BIN)/serf ## install the benchmark's peer (Serf) into .tools/bin

$(TOOLS_BIN)/serf:
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/hashicorp/serf/cmd/serf@$(SERF_VERSION)

test: tools build ## unit, integration and end-to-end tests (what CI runs)
	$(GO) test -count=1 -timeout 25m ./...

test-short: build ## unit tests only, no external processes
	$(GO) test -short -count=1 ./...

lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

bench: build tools-bench ## quick benchmarks: real processes beside Serf, then the in-process harness; writes BENCHMARKS.md
	$(GO) run ./testbed/procbench -mode quick -farmhand $(BIN)/farmhand -serf $(TOOLS_BIN)/serf -out .bench/procbench.md
	$(GO) run ./testbed/bench -mode quick -real .bench/procbench.md -out BENCHMARKS.md

bench-full: build tools-bench ## full benchmarks (the committed BENCHMARKS.md; a few hours), writes BENCHMARKS.md
	$(GO) run ./testbed/procbench -mode full -farmhand $(BIN)/farmhand -serf $(TOOLS_BIN)/serf -out .bench/procbench.md
	$(GO) run ./testbed/bench -mode full -real .bench/procbench.md -out BENCHMARKS.md

# Each fuzz target runs for FUZZTIME (CI: 10s each); a crasher fails the
# target and is saved under the package's testdata/fuzz for a regression test.
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./bootstrap:FuzzDecodeRecord \
	./bootstrap:FuzzParseKey \
	./agent/config:FuzzDecode \
	./membership:FuzzDecodeTags \
	./agent/localapi:FuzzParseMemberFilter

fuzz: ## run every fuzz target for FUZZTIME
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	done

demo: build ## a 5-node farm on this machine; Ctrl-C tears it down
	$(BIN)/farmhand testbed demo -nodes 5 -dir $(CURDIR)/demo

soak: build ## 20 agents under random chaos for 10 minutes; writes SOAK.md (not in CI)
	$(GO) run ./testbed/soak -bin $(BIN)/farmhand -nodes 20 -duration 10m -out SOAK.md

clean:
	rm -rf $(BIN) $(CURDIR)/demo
