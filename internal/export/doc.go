// Package export sends kspan's spans to an OTLP backend (Jaeger, Tempo,
// Honeycomb, an OpenTelemetry Collector) over gRPC or HTTP. It is a sink:
// the engine's goroutine hands it finished spans through Export, which only
// queues them; one sender goroutine batches them by size and time, converts
// each batch with otlp.Request and uploads it through the public
// otlptrace.Client of otlptracegrpc or otlptracehttp.
//
// The clients' own retry is disabled: the sender retries a batch itself, with
// exponential backoff, for as long as the backend answers with a retryable
// error, so that it can count retries and keep spans through an outage. The
// queue is bounded in spans; while it is full, live mode drops new spans
// (counted, logged once per interval) and replay waits. Close flushes within
// a deadline and counts what it could not send.
//
// Configuration follows the OpenTelemetry exporter variables
// (OTEL_EXPORTER_OTLP_*, read by FromEnv); the command line's flags override
// them.
package export
