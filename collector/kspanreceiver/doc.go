// Package kspanreceiver is an OpenTelemetry Collector receiver that turns
// the Kubernetes Events of a cluster into traces, with kspan's engine: every
// Event a span, joined by causality (owner references, the controller event
// that created an object, recent activity of an owner) into one trace per
// change. It watches the cluster as standalone kspan's live mode does and
// hands the spans to the pipeline's consumer.Traces, with the same trace
// IDs, span IDs, names, times and attributes as standalone kspan, and can
// keep its restart checkpoint in a storage extension (file_storage) or, to
// share it among Collectors that elect a leader, in a ConfigMap.
//
// It is its own Go module so that kspan's own binary does not carry the
// Collector's dependencies.
package kspanreceiver
