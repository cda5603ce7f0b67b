# kspan's build, test and tool targets. Every target works from a fresh clone:
# what the tests need is built into .cache/ (ignored) on first use.

SHELL := /bin/bash
ROOT := $(abspath .)
CACHE := $(ROOT)/.cache
BIN := $(CACHE)/bin
# The module proxy is the only host reachable here: never fall back to direct.
export GOPROXY := $(patsubst %$(comma)direct,%,$(shell go env GOPROXY))
comma := ,
# grpcnotrace: gRPC without golang.org/x/net/trace, whose html/template keeps
# every exported method in the binary (half its size; see internal/web/render.go).
export GOFLAGS := -mod=readonly -tags=grpcnotrace

STATICCHECK_VERSION := v0.8.2
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/kspan-project/kspan/internal/cli.Version=$(VERSION)


.PHONY: all build collector image plugin krew test test-unit lint fmt fuzz clean run demo tools chromium help bench bench-engine bench-live bench-replay helm chart manifests

all: lint test build

help:
	@echo "make build      build bin/kspan"
	@echo "make collector  build the Collector distribution with kspan's receiver (.cache/otelcol-kspan/)"
	@echo "make image      build the container image with podman (localhost/kspan:VERSION, :dev)"
	@echo "make plugin     build bin/kubectl-kspan (kubectl kspan KIND/NAME)"
	@echo "make krew       the plugin's release archives and krew manifest into dist/ (VERSION=...)"
	@echo "make run        replay the bundled captures: a tree, and the viewer on 127.0.0.1:7380"
	@echo "make test       every test, end-to-end ones on a local control plane (the command CI runs)"
	@echo "make test-unit  the tests that need no cluster (seconds)"
	@echo "make demo       local control plane + kspan live + a sample rollout"
	@echo "make tools      build the pinned control plane, Jaeger and helm into .cache/bin"
	@echo "make chart      helm lint (also --strict) and helm template of deploy/helm/kspan"
	@echo "make manifests  regenerate deploy/kustomize/ from the chart (helm template, default values)"
	@echo "make lint       gofmt, go vet, staticcheck"
	@echo "make fuzz       run each fuzz target briefly (FUZZTIME=100000x executions): decoders, rules, checkpoint, shown text, Host check, traceparent"
	@echo "make bench      engine, memory, replay and live benchmarks, as ratios against baselines (bench-engine, bench-replay, bench-live)"

build:
	go build -ldflags '$(LDFLAGS)' -o bin/kspan ./cmd/kspan

# The container image, built here without a registry or base image
# (hack/image.sh: podman, installed when missing): localhost/kspan:$(VERSION)
# and :dev, and an OCI archive under .cache/image/ to push with skopeo.
image:
	VERSION=$(VERSION) hack/image.sh

# The OpenTelemetry Collector distribution with kspan's receiver
# (collector/otelcol-kspan/builder-config.yaml), built by the Collector
# Builder from the module proxy into .cache/otelcol-kspan/otelcol-kspan.
BUILDER_VERSION := v0.165.0
$(BIN)/builder: Makefile
	GOFLAGS= GOBIN=$(BIN) go install go.opentelemetry.io/collector/cmd/builder@$(BUILDER_VERSION)

collector: $(BIN)/builder
	BUILDER=$(BIN)/builder hack/collector.sh

# bench-live's baseline Collector: the contrib k8s_events receiver, at the
# one release of it the module proxy serves (hack/benchlive/otelcol-k8sevents).
K8SEVENTS_VERSION := v0.111.0
K8SEVENTS_COL := $(CACHE)/otelcol-k8sevents/otelcol-k8sevents
$(BIN)/builder-$(K8SEVENTS_VERSION)/builder: Makefile
	GOFLAGS= GOBIN=$(BIN)/builder-$(K8SEVENTS_VERSION) go install go.opentelemetry.io/collector/cmd/builder@$(K8SEVENTS_VERSION)
$(K8SEVENTS_COL): $(BIN)/builder-$(K8SEVENTS_VERSION)/builder hack/benchlive/otelcol-k8sevents/builder-config.yaml
	cd hack/benchlive/otelcol-k8sevents && GOFLAGS= $(BIN)/builder-$(K8SEVENTS_VERSION)/builder --config builder-config.yaml

# The kubectl plugin: kspan under the name kubectl looks for (kubectl kspan KIND/NAME).
plugin:
	go build -ldflags '$(LDFLAGS)' -o bin/kubectl-kspan ./cmd/kspan

# The plugin's release archives and krew manifest, into dist/ (docs/kubectl-plugin.md).
krew:
	go run ./hack/krew -version $(VERSION) -out dist

run:
	go run ./cmd/kspan replay -ui 127.0.0.1:7380 testdata/kspan-v0/*.yaml testdata/live-capture/capture.jsonl

# The end-to-end tests start a real control plane from .cache/bin (built once,
# about 22 minutes cold; rebuilt only when hack/tools pins change). The viewer's
# browser tests drive Chromium and save their screenshots under
# $(KSPAN_TEST_ARTIFACTS).
export KSPAN_TEST_ARTIFACTS ?= $(CACHE)/artifacts
# The Collector receiver is a Go module of its own (collector/kspanreceiver):
# ./... does not reach it.
RECEIVER := collector/kspanreceiver
test: tools chromium image collector
	go test -count=1 -timeout 40m ./...
	cd $(RECEIVER) && go test -count=1 ./...

test-unit: chromium
	go test -count=1 ./internal/... ./cmd/...
	cd $(RECEIVER) && go test -count=1 ./...

# Debian's chromium, for the browser tests of internal/web (installed only
# when missing; needs root, as CI runs).
chromium:
	@command -v chromium >/dev/null || { echo "== installing chromium for the viewer's browser tests"; \
		apt-get update && apt-get install -y chromium; }

tools:
	hack/build-tools.sh cluster && hack/build-tools.sh jaeger && hack/build-tools.sh helm

# helm alone (about 4 minutes cold, then skipped until its pin changes).
helm:
	hack/build-tools.sh helm

# The Helm chart: lint it, render it with the default values and with every
# option set (ci/full-values.yaml), and check that values which would make
# every replica export every span are refused.
CHART := deploy/helm/kspan
HELM := $(BIN)/helm
chart: helm
	$(HELM) lint $(CHART)
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) -f $(CHART)/ci/full-values.yaml
	$(HELM) template kspan $(CHART) --namespace kspan > /dev/null
	$(HELM) template kspan $(CHART) --namespace kspan -f $(CHART)/ci/full-values.yaml > /dev/null
	$(HELM) template kspan $(CHART) --namespace kspan --set leaderElection.enabled=false --set replicas=1 > /dev/null
	@if $(HELM) template kspan $(CHART) --set leaderElection.enabled=false > /dev/null 2>&1; then \
		echo "chart: replicas=2 without leader election must be refused"; exit 1; fi
	go test -count=1 ./deploy

# deploy/kustomize/ is the chart rendered with its default values; the test in
# deploy/ fails when they differ, and -update rewrites them.
manifests: helm
	go test -count=1 -run '^TestManifests$$' ./deploy -update

demo:
	hack/demo.sh

$(BIN)/staticcheck: Makefile
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(BIN)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(BIN)/staticcheck ./...
	cd $(RECEIVER) && go vet ./... && $(BIN)/staticcheck ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# A count, not a duration: with a duration, Go before 1.27 can fail a target with
# "context deadline exceeded" and no failing input when a worker misses the
# deadline on a loaded machine (golang/go#75804).
FUZZTIME ?= 100000x
fuzz:
	go test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) ./internal/decode
	go test -run='^$$' -fuzz='^FuzzMatch$$' -fuzztime=$(FUZZTIME) ./internal/rules
	go test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./internal/checkpoint
	go test -run='^$$' -fuzz='^FuzzText$$' -fuzztime=$(FUZZTIME) ./internal/printable
	go test -run='^$$' -fuzz='^FuzzHostsAllows$$' -fuzztime=$(FUZZTIME) ./internal/httpserve
	go test -run='^$$' -fuzz='^FuzzParseTraceparent$$' -fuzztime=$(FUZZTIME) ./internal/correlate

# The engine and memory figures: the engine's cost per Event against
# encoding/json decoding the same Events (run back to back, BENCHRUNS times,
# on one core), then bytes retained per object and per held Event; printed
# as ratios with targets and PASS/MISS. A miss never fails the target.
BENCHRUNS ?= 5
bench: bench-engine bench-replay bench-live

bench-engine:
	@mkdir -p $(CACHE)
	go test -c -o $(CACHE)/correlate.test ./internal/correlate
	@set -o pipefail; out=$(CACHE)/bench.txt; : > $$out; \
	for i in $$(seq $(BENCHRUNS)); do \
		$(CACHE)/correlate.test -test.run='^$$' -test.bench='^Benchmark(Engine|EngineStream|EngineWarm|EngineWarmStream|DecodeEvent|DecodeEventClientGo)$$' \
			-test.benchtime=1s -test.cpu=1 | tee -a $$out || exit 1; \
	done; \
	$(CACHE)/correlate.test -test.run='^$$' -test.bench='^BenchmarkRetained$$' -test.benchtime=1x -test.cpu=1 | tee -a $$out && \
	echo "== $$(date -u +%F) $$(nproc) cores, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" && \
	go run ./hack/benchreport < $$out

clean:
	rm -rf bin

# Issue 17's replay figure: kspan replay's peak RSS on synthetic captures of
# 10^5 and 10^6 Events (about 1.5 GB written under .cache/ and removed), to
# each output, with the target (under 100 MB at 10^6) and PASS/MISS.
bench-replay: build
	@set -o pipefail; mkdir -p $(CACHE)/tmp; \
	KSPAN_BIN=$(ROOT)/bin/kspan TMPDIR=$(CACHE)/tmp go test -run='^$$' -bench='^BenchmarkReplayPeakRSS$$' -benchtime=1x ./internal/replay | tee $(CACHE)/bench-replay.txt; \
	echo "== $$(date -u +%F) $$(nproc) cores, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"; \
	awk '/^BenchmarkReplayPeakRSS\//{ split($$1, p, "/"); for (i = 2; i < NF; i++) if ($$(i+1) == "peak-RSS-MB") mb = $$i; else if ($$(i+1) == "events/s") r = $$i; \
		v = (p[2] ~ /events=1000000$$/) ? (mb < 100 ? "PASS" : "MISS") : ""; \
		printf "replay %-15s %-12s peak RSS %7.1f MB  %8.0f events/s  %s\n", p[2], p[3], mb, r, (v == "" ? "" : "target < 100 MB: " v) }' $(CACHE)/bench-replay.txt

# The live figures: a local control plane on its own ports, kspan and a
# bare client-go Event informer side by side while BENCH_DEPLOYMENTS
# Deployments of BENCH_REPLICAS replicas roll out (several minutes); beside
# them the Collector with kspan's receiver and one with the contrib
# k8s_events receiver, both exporting OTLP to the harness.
BENCH_DEPLOYMENTS ?= 100
BENCH_REPLICAS ?= 10
# kspan runs with the flags the Helm chart deploys it with (values.yaml: stream).
BENCH_KSPAN_FLAGS ?= -stream
bench-live: tools collector $(K8SEVENTS_COL)
	go run ./hack/benchlive -deployments $(BENCH_DEPLOYMENTS) -replicas $(BENCH_REPLICAS) \
		-kspan-flags "$(BENCH_KSPAN_FLAGS)" -otelcol-kspan $(CACHE)/otelcol-kspan/otelcol-kspan \
		-otelcol-k8sevents $(K8SEVENTS_COL) $(BENCHLIVE_FLAGS)
