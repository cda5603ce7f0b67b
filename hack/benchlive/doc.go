// Command benchlive is the live part of `make bench`: on a local control
// plane (hack/cluster.sh, on its own ports), it runs kspan and the
// baseline (a bare client-go Event informer, ./baseline) side by side
// while Deployments roll out, then prints kspan's CPU seconds per Event and
// peak RSS against the baseline's, kspan's Event-to-export latency (p50,
// p99) and its completeness (a span for every Event the apiserver holds),
// each with its target and PASS or MISS. A miss is reported, not an error.
//
// Given -otelcol-kspan and -otelcol-k8sevents, it also runs two
// OpenTelemetry Collectors on the same burst, kspan's receiver and the
// contrib k8s_events receiver (./otelcol-k8sevents), each writing to a file
// with the contrib file exporter, which it reads, and prints their CPU per
// Event and peak RSS beside standalone kspan's, with the receiver's target
// (1.5 times k8s_events).
package main
