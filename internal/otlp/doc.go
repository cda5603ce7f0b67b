// Package otlp turns finished spans into OpenTelemetry's wire forms: the
// OTLP protobuf ExportTraceServiceRequest handed to an otlptrace.Client, and
// OTLP/JSON lines in the layout the OpenTelemetry Collector's file exporter
// writes. It is a sink-side package: the engine emits span.Span values and
// the exporters and file writers call into here; nothing here does network
// I/O or keeps state beyond a JSONWriter's buffer.
//
// The JSON is written by hand rather than with protojson, whose output is
// deliberately unstable: kspan needs byte-identical files for identical
// spans, so that replays can be compared with golden files.
package otlp
