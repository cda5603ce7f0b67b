package main

import (
	"context"
	"net"
	"sync"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the OTLP exporter's default compression

	"github.com/kspan-project/kspan/internal/span"
)

// sink is an OTLP gRPC endpoint the Collectors under measurement export
// to: it keeps, per Event UID, the highest count a log record or span
// carried (k8s.event.uid and k8s.event.count are the same keys in the
// contrib k8s_events receiver's logs and in kspan's spans), so that the
// harness can wait until a Collector has delivered every Event.
type sink struct {
	coltrace.UnimplementedTraceServiceServer

	addr  string
	srv   *grpc.Server
	mu    sync.Mutex
	have  map[string]int64
	items int64 // log records and spans received
}

func startSink() (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: l.Addr().String(), srv: grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20)), have: map[string]int64{}}
	coltrace.RegisterTraceServiceServer(s.srv, s)
	collogs.RegisterLogsServiceServer(s.srv, logsServer{s: s})
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *sink) stop() { s.srv.Stop() }

func (s *sink) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s.note(sp.Attributes)
			}
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// logsServer is the sink's logs service: Export is taken by traces.
type logsServer struct {
	collogs.UnimplementedLogsServiceServer
	s *sink
}

func (l logsServer) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				l.s.note(r.Attributes)
			}
		}
	}
	return &collogs.ExportLogsServiceResponse{}, nil
}

func (s *sink) note(attrs []*common.KeyValue) {
	s.items++
	var uid string
	count := int64(1)
	for _, a := range attrs {
		switch a.Key {
		case span.KeyEventUID:
			uid = a.Value.GetStringValue()
		case span.KeyEventCount:
			count = max(count, a.Value.GetIntValue())
		}
	}
	if uid != "" {
		s.have[uid] = max(s.have[uid], count)
	}
}

// covered is a copy of the highest count delivered per Event UID.
func (s *sink) covered() (map[string]int64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.have))
	for k, v := range s.have {
		out[k] = v
	}
	return out, s.items
}
