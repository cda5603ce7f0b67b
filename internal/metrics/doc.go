// Package metrics is kspan's self-observability in live mode: Prometheus
// metrics read from the counters the live run, the OTLP exporter and the
// viewer already keep, and the /metrics, /healthz and /readyz endpoints
// (with pprof behind a flag) served beside the run.
//
// It sits beside the flow, not in it: the live run publishes a copy of the
// engine's counters on every tick (live.Status), and the collector reads
// that copy, the exporter's Stats and the viewer store's Stats at scrape
// time, so a scrape never touches the engine's goroutine.
package metrics
