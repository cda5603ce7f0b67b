package export

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

var partial = &coltracepb.ExportTraceServiceResponse{
	PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 3, ErrorMessage: "too old"}}

type partialGRPC struct {
	coltracepb.UnimplementedTraceServiceServer
}

func (partialGRPC) Export(context.Context, *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	return partial, nil
}

// A backend that accepts a request but rejects some of its spans (an OTLP
// partial success): those are counted as rejected, not as sent.
func TestPartialSuccessCountsRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		b, err := proto.Marshal(partial)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(g, partialGRPC{})
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)

	for _, cfg := range []Config{
		{Endpoint: srv.URL, Protocol: ProtocolHTTPProtobuf},
		{Endpoint: "http://" + lis.Addr().String(), Protocol: ProtocolGRPC},
	} {
		cfg.BatchSize = 10
		e := newReal(t, cfg, nil)
		mustExport(t, e, testSpans(0, 10))
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := e.Stats(); st.Sent != 7 || st.DroppedRejected != 3 || st.Dropped != 3 {
			t.Errorf("%s: stats %+v; want 7 sent, 3 rejected", cfg.Protocol, st)
		}
	}
}
