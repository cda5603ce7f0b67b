# kspan's build, test and tool targets. Every target works from a fresh clone:
# what the tests need is built into .cache/ (ignored) on first use.

SHELL := /bin/bash
ROOT := $(abspath .)
CACHE := $(ROOT)/.cache
BIN := $(CACHE)/bin
# The module proxy is the only host reachable here: never fall back to direct.
export GOPROXY := $(patsubst %$(comma)direct,%,$(shell go env GOPROXY))
comma := ,
export GOFLAGS := -mod=readonly

STATICCHECK_VERSION := v0.8.2
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/kspan-project/kspan/internal/cli.Version=$(VERSION)

.PHONY: all build test test-unit lint fmt fuzz clean run demo tools chromium help bench

all: lint test build

help:
	@echo "make build      build bin/kspan"
	@echo "make run        replay the bundled captures: a tree, and the viewer on 127.0.0.1:7380"
	@echo "make test       every test, end-to-end ones on a local control plane (the command CI runs)"
	@echo "make test-unit  the tests that need no cluster (seconds)"
	@echo "make demo       local control plane + kspan live + a sample rollout"
	@echo "make tools      build the pinned control plane and Jaeger into .cache/bin"
	@echo "make lint       gofmt, go vet, staticcheck"
	@echo "make fuzz       run each fuzz target briefly (FUZZTIME=30s)"
	@echo "make bench      engine and memory benchmarks, as ratios against a decode baseline"

build:
	go build -ldflags '$(LDFLAGS)' -o bin/kspan ./cmd/kspan

run:
	go run ./cmd/kspan replay -ui 127.0.0.1:7380 testdata/kspan-v0/*.yaml testdata/live-capture/capture.jsonl

# The end-to-end tests start a real control plane from .cache/bin (built once,
# about 22 minutes cold; rebuilt only when hack/tools pins change). The viewer's
# browser tests drive Chromium and save their screenshots under
# $(KSPAN_TEST_ARTIFACTS).
export KSPAN_TEST_ARTIFACTS ?= $(CACHE)/artifacts
test: tools chromium
	go test -count=1 -timeout 40m ./...

test-unit: chromium
	go test -count=1 ./internal/... ./cmd/...

# Debian's chromium, for the browser tests of internal/web (installed only
# when missing; needs root, as CI runs).
chromium:
	@command -v chromium >/dev/null || { echo "== installing chromium for the viewer's browser tests"; \
		apt-get update && apt-get install -y chromium; }

tools:
	hack/build-tools.sh cluster && hack/build-tools.sh jaeger

demo:
	hack/demo.sh

$(BIN)/staticcheck: Makefile
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(BIN)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(BIN)/staticcheck ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

FUZZTIME ?= 20s
fuzz:
	go test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) ./internal/decode
	go test -run='^$$' -fuzz='^FuzzMatch$$' -fuzztime=$(FUZZTIME) ./internal/rules

# Issue 7's engine and memory figures: the engine's cost per Event against
# encoding/json decoding the same Events (run back to back, BENCHRUNS times,
# on one core), then bytes retained per object and per held Event; printed
# as ratios with targets and PASS/MISS. A miss never fails the target.
BENCHRUNS ?= 5
bench:
	@mkdir -p $(CACHE)
	go test -c -o $(CACHE)/correlate.test ./internal/correlate
	@set -o pipefail; out=$(CACHE)/bench.txt; : > $$out; \
	for i in $$(seq $(BENCHRUNS)); do \
		$(CACHE)/correlate.test -test.run='^$$' -test.bench='^Benchmark(Engine|DecodeEvent)$$' \
			-test.benchtime=1s -test.cpu=1 | tee -a $$out || exit 1; \
	done; \
	$(CACHE)/correlate.test -test.run='^$$' -test.bench='^BenchmarkRetained$$' -test.benchtime=1x -test.cpu=1 | tee -a $$out && \
	echo "== $$(date -u +%F) $$(nproc) cores, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" && \
	go run ./internal/correlate/benchreport < $$out

clean:
	rm -rf bin
