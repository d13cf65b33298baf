# farmhand Makefile. `make demo` and `make test` are the two commands a new
# user needs; everything else is for developers and CI.

GO        ?= go
BIN       := $(CURDIR)/bin
TOOLS_BIN := $(CURDIR)/.tools/bin
VERSITYGW_VERSION := v1.8.0
STATICCHECK_VERSION := v0.8.2
# Serf is the peer farmhand is measured against (make bench), not a test
# dependency: tools-bench installs it, tools does not.
SERF_VERSION      := v0.10.2

# Tests find the tools and the binary through these.
export FARMHAND_VERSITYGW := $(TOOLS_BIN)/versitygw
export FARMHAND_BIN       := $(BIN)/farmhand
export FARMHAND_TESTBED_BIN := $(BIN)/farmhand-testbed

LDFLAGS := -X github.com/farmhand/farmhand/agent.Version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test test-race test-short lint tools tools-bench bench bench-full demo soak fuzz clean

all: build

build: ## build bin/farmhand (the agent and its CLI) and bin/farmhand-testbed
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/farmhand ./cmd/farmhand-testbed

tools: $(TOOLS_BIN)/versitygw $(TOOLS_BIN)/staticcheck ## install pinned test and lint tools into .tools/bin

$(TOOLS_BIN)/versitygw:
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(TOOLS_BIN)/staticcheck:
	GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

tools-bench: $(TOOLS_BIN)/serf ## install the benchmark's peer (Serf) into .tools/bin

$(TOOLS_BIN)/serf:
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/hashicorp/serf/cmd/serf@$(SERF_VERSION)

test: tools build ## unit, integration and end-to-end tests (what CI runs)
	$(GO) test -count=1 -timeout 25m ./...

test-race: tools build ## every package under the race detector (CI runs it; agent processes stay plain builds)
	$(GO) test -race -count=1 -timeout 40m ./...

test-short: build ## unit tests only, no external processes
	$(GO) test -short -count=1 ./...

lint: $(TOOLS_BIN)/staticcheck ## go vet, gofmt, staticcheck, and no binaries tracked by git
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(TOOLS_BIN)/staticcheck ./...
	@bash .ci/tracked-files

bench: build tools-bench ## quick benchmarks: real processes beside Serf, then the in-process harness; writes BENCHMARKS.md
	$(GO) run ./testbed/procbench -mode quick -farmhand $(BIN)/farmhand -serf $(TOOLS_BIN)/serf -out .bench/procbench.md
	$(GO) run ./testbed/bench -mode quick -real .bench/procbench.md -out BENCHMARKS.md

bench-full: build tools-bench ## full benchmarks with the time-dilated N=500 to 2,000 (several hours on 2 idle cores), writes BENCHMARKS.md
	$(GO) run ./testbed/procbench -mode full -farmhand $(BIN)/farmhand -serf $(TOOLS_BIN)/serf -out .bench/procbench.md
	$(GO) run ./testbed/bench -mode full -scale -real .bench/procbench.md -out BENCHMARKS.md

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
	$(BIN)/farmhand-testbed demo -nodes 5 -dir $(CURDIR)/demo

soak: build ## 20 agents under random chaos for 10 minutes; writes SOAK.md (not in CI)
	$(GO) run ./testbed/soak -bin $(BIN)/farmhand -nodes 20 -duration 10m -out SOAK.md

clean:
	rm -rf $(BIN) $(CURDIR)/demo

# Native packages: a .deb and an .rpm built with nfpm into
# build/packages/$(PKG_ARCH) (ignored). PKG_ARCH (amd64, arm64) picks the
# architecture; the binary is built for it with the flags of `build`. See
# dist/packaging and docs/ami.md.
NFPM_VERSION   := v2.48.0
PKG_ARCH       ?= $(shell $(GO) env GOARCH)
PKG_VERSION    ?= $(shell dist/packaging/version.sh)
PKG_MAINTAINER ?= farmhand developers
PKG_DIR        := $(CURDIR)/build/packages/$(PKG_ARCH)
PKG_STAGE      := $(PKG_DIR)/stage

.PHONY: package package-test
tools: $(TOOLS_BIN)/nfpm

$(TOOLS_BIN)/nfpm:
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

package: $(TOOLS_BIN)/nfpm ## build the .deb and .rpm into build/packages/ARCH
	rm -rf $(PKG_DIR) && mkdir -p $(PKG_STAGE)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(PKG_ARCH) $(GO) build -ldflags "$(LDFLAGS)" -o $(PKG_STAGE)/farmhand ./cmd/farmhand
	sed -e 's|/usr/local/bin/farmhand|/usr/bin/farmhand|g' \
	    -e 's|^# Install to /etc/systemd/system/.*|# Installed by the farmhand package; change it with "systemctl edit farmhand".|' \
	    dist/systemd/farmhand.service > $(PKG_STAGE)/farmhand.service
	grep -q '^ExecStart=/usr/bin/farmhand agent ' $(PKG_STAGE)/farmhand.service
	@set -e; for f in deb rpm; do \
		PKG_VERSION='$(PKG_VERSION)' PKG_ARCH='$(PKG_ARCH)' PKG_MAINTAINER='$(PKG_MAINTAINER)' PKG_STAGE='$(PKG_STAGE)' \
		SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) \
		$(TOOLS_BIN)/nfpm package --config dist/packaging/nfpm.yaml --packager $$f --target $(PKG_DIR)/; \
	done

package-test: package ## install, upgrade, remove and purge the .deb (root; off CI, in a throwaway sandbox)
	dist/packaging/test-deb.sh $(PKG_DIR)/farmhand_*.deb
	dist/packaging/test-rpm.sh $(PKG_DIR)/farmhand-*.rpm $(PKG_DIR)/farmhand_*.deb
