package main

import (
	"context"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
	trace "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func eventAttrs(uid string, count int64) []*common.KeyValue {
	kv := []*common.KeyValue{{Key: "k8s.event.uid", Value: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: uid}}}}
	if count > 0 {
		kv = append(kv, &common.KeyValue{Key: "k8s.event.count", Value: &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: count}}})
	}
	return kv
}

// The sink counts what a Collector's OTLP exporter sends (gzip, as by
// default), logs and traces alike, and says which Events are not covered
// up to their count.
func TestSinkCoverage(t *testing.T) {
	s, err := startSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	_, err = collogs.NewLogsServiceClient(conn).Export(ctx, &collogs.ExportLogsServiceRequest{ResourceLogs: []*logs.ResourceLogs{{
		ScopeLogs: []*logs.ScopeLogs{{LogRecords: []*logs.LogRecord{{Attributes: eventAttrs("a", 0)}, {Attributes: eventAttrs("b", 2)}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = coltrace.NewTraceServiceClient(conn).Export(ctx, &coltrace.ExportTraceServiceRequest{ResourceSpans: []*trace.ResourceSpans{{
		ScopeSpans: []*trace.ScopeSpans{{Spans: []*trace.Span{{Attributes: eventAttrs("b", 3)}, {Attributes: nil}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	have, items := s.covered()
	if items != 4 || have["a"] != 1 || have["b"] != 3 {
		t.Fatalf("covered %v, %d items; want a:1 b:3, 4 items", have, items)
	}
	ev := func(uid string, count int32) corev1.Event {
		return corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Count: count}
	}
	got := uncovered([]corev1.Event{ev("a", 1), ev("b", 4), ev("c", 0), ev("b", 3)}, have, true)
	if len(got) != 2 || got[0] != "b" || got[1] != "c" {
		t.Fatalf("uncovered %v, want [b c]", got)
	}
	// A series' count counts for kspan, not for k8s_events (which reports
	// core/v1's count field).
	series := ev("a", 1)
	series.Series = &corev1.EventSeries{Count: 2}
	if got := uncovered([]corev1.Event{series}, have, true); len(got) != 1 {
		t.Errorf("uncovered with series %v, want [a]", got)
	}
	if got := uncovered([]corev1.Event{series}, have, false); len(got) != 0 {
		t.Errorf("uncovered without series %v, want none", got)
	}
}
