package kspanreceiver

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/proto"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// resource is what the spans are sent under, as standalone kspan sends
// them (service.name kspan, k8s.cluster.name when configured).
func (c *Config) resource() otlp.Resource {
	attrs := []span.Attr{span.Str(span.KeyServiceName, "kspan")}
	if c.ClusterName != "" {
		attrs = append(attrs, span.Str(span.KeyClusterName, c.ClusterName))
	}
	return otlp.Resource{Attrs: attrs, ByComponent: c.ServiceNameFrom == "component"}
}

// toTraces converts spans as standalone kspan's OTLP exporter does (the
// same request, built by the same code) into the Collector's ptrace.
func toTraces(res otlp.Resource, spans []span.Span) (ptrace.Traces, error) {
	b, err := proto.Marshal(otlp.Request(res, sink.Scope, spans))
	if err != nil {
		return ptrace.Traces{}, fmt.Errorf("encoding %d spans: %w", len(spans), err)
	}
	// ExportTraceServiceRequest and TracesData are the same message on the
	// wire (field 1: the ResourceSpans).
	var u ptrace.ProtoUnmarshaler
	return u.UnmarshalTraces(b)
}
