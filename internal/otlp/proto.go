package otlp

import (
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/kspan-project/kspan/internal/span"
)

// ScopeVersion is the instrumentation scope version written with every
// request. It versions the shape of the spans kspan builds (names,
// attributes, parenting), so bump it when that changes.
const ScopeVersion = "0.1.0"

// Request converts spans to one OTLP export request: a ResourceSpans per
// resource res gives (one unless ByComponent), each holding one ScopeSpans
// named scope. Every span is of kind INTERNAL; span.Error becomes status
// ERROR.
func Request(res Resource, scope string, spans []span.Span) *coltracepb.ExportTraceServiceRequest {
	gs := res.groups(spans)
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: make([]*tracepb.ResourceSpans, len(gs))}
	for gi, g := range gs {
		out := make([]*tracepb.Span, 0, g.len(len(spans)))
		g.each(len(spans), func(i int) { out = append(out, protoSpan(&spans[i])) })
		req.ResourceSpans[gi] = &tracepb.ResourceSpans{
			Resource: &resourcepb.Resource{Attributes: protoAttrs(g.attrs, nil)},
			ScopeSpans: []*tracepb.ScopeSpans{{
				Scope: &commonpb.InstrumentationScope{Name: scope, Version: ScopeVersion},
				Spans: out,
			}},
		}
	}
	return req
}

func protoSpan(s *span.Span) *tracepb.Span {
	p := &tracepb.Span{
		TraceId:           idBytes(s.TraceID[:]),
		SpanId:            idBytes(s.SpanID[:]),
		ParentSpanId:      idBytes(s.Parent[:]),
		Name:              s.Name,
		Kind:              tracepb.Span_SPAN_KIND_INTERNAL,
		StartTimeUnixNano: unixNano(s.Start),
		EndTimeUnixNano:   unixNano(s.End),
		Attributes:        protoAttrs(s.Attrs, s.Shared),
	}
	if s.Error || s.StatusMessage != "" {
		p.Status = &tracepb.Status{Message: s.StatusMessage}
		if s.Error {
			p.Status.Code = tracepb.Status_STATUS_CODE_ERROR
		}
	}
	for i := range s.Links {
		l := &s.Links[i]
		p.Links = append(p.Links, &tracepb.Span_Link{
			TraceId:    idBytes(l.TraceID[:]),
			SpanId:     idBytes(l.SpanID[:]),
			Attributes: protoAttrs(l.Attrs, nil),
		})
	}
	return p
}

// protoAttrs converts attrs followed by shared (span.Span.Shared).
func protoAttrs(attrs, shared []span.Attr) []*commonpb.KeyValue {
	if len(attrs)+len(shared) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, 0, len(attrs)+len(shared))
	for _, a := range attrs {
		out = append(out, protoAttr(a))
	}
	for _, a := range shared {
		out = append(out, protoAttr(a))
	}
	return out
}

func protoAttr(a span.Attr) *commonpb.KeyValue {
	v := &commonpb.AnyValue{}
	switch a.Kind {
	case span.Int:
		v.Value = &commonpb.AnyValue_IntValue{IntValue: a.Int}
	case span.Bool:
		v.Value = &commonpb.AnyValue_BoolValue{BoolValue: a.Bool}
	default:
		v.Value = &commonpb.AnyValue_StringValue{StringValue: a.Str}
	}
	return &commonpb.KeyValue{Key: a.Key, Value: v}
}

// idBytes returns nil for an all-zero ID: OTLP treats an empty field as
// unset, and JSON omits it.
func idBytes(id []byte) []byte {
	for _, b := range id {
		if b != 0 {
			return append([]byte(nil), id...)
		}
	}
	return nil
}

// unixNano is 0 (unset) for the zero time. Other times are clamped to
// what the field holds (span.MinTime to span.MaxTime): the pipeline clamps
// spans before any output (span.Clamp), so this only keeps a caller that
// did not from writing an overflowed UnixNano (1677 as 2261).
func unixNano(t time.Time) uint64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(span.MinTime):
		t = span.MinTime
	case t.After(span.MaxTime):
		t = span.MaxTime
	}
	return uint64(t.UnixNano())
}
