package export

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func wantNames(first, n int) []string {
	var out []string
	for _, s := range testSpans(first, n) {
		out = append(out, s.Name)
	}
	return out
}

// Both protocols: retryable answers are retried with backoff until the
// backend takes the batch; headers and gzip reach it.
func TestRetryAfterRetryableAnswer(t *testing.T) {
	for _, proto := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(proto, func(t *testing.T) {
			var endpoint string
			var got *collector
			if proto == ProtocolGRPC {
				g := startGRPC(t, "", nil, 2) // UNAVAILABLE twice
				endpoint, got = "http://"+g.addr, &g.collector
			} else {
				h := startHTTP(t, "", nil, 2) // 503 twice
				endpoint, got = h.srv.URL, &h.collector
			}
			var logs logBuffer
			e := newReal(t, Config{Endpoint: endpoint, Protocol: proto, Compression: CompressionGzip,
				Headers: map[string]string{"x-honeycomb-team": "KEY"}}, &logs)
			mustExport(t, e, testSpans(0, 5))
			if err := e.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			st := e.Stats()
			if st.Sent != 5 || st.Retried != 2 || st.Requests != 1 || st.Dropped != 0 {
				t.Errorf("stats %+v", st)
			}
			got.mu.Lock()
			defer got.mu.Unlock()
			if names := spanNames(got.spans); !slices.Equal(names, wantNames(0, 5)) {
				t.Errorf("received %v", names)
			}
			if got.requests != 3 || len(got.headers) != 1 {
				t.Fatalf("%d requests, %d accepted; want 3, 1", got.requests, len(got.headers))
			}
			h := got.headers[0]
			if h["x-honeycomb-team"] != "KEY" && h["X-Honeycomb-Team"] != "KEY" {
				t.Errorf("header not sent: %v", h)
			}
			for _, c := range got.compression {
				if c != "gzip" {
					t.Errorf("request compression %q, want gzip (all: %q)", c, got.compression)
				}
			}
			if !strings.Contains(logs.String(), "otlp export failed") {
				t.Errorf("the failures were not logged:\n%s", logs.String())
			}
		})
	}
}

// Compression none sends plain requests even when the environment would
// set gzip for the clients, and http/json sends JSON.
func TestNoCompressionAndJSON(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	g := startGRPC(t, "", nil, 0)
	h := startHTTP(t, "", nil, 0)
	for _, c := range []struct {
		proto, endpoint string
		got             *collector
	}{
		{ProtocolGRPC, g.addr, &g.collector},
		{ProtocolHTTPProtobuf, h.srv.URL, &h.collector},
		{ProtocolHTTPJSON, h.srv.URL, &h.collector},
	} {
		e := newReal(t, Config{Endpoint: c.endpoint, Protocol: c.proto, Insecure: true, Compression: CompressionNone}, nil)
		mustExport(t, e, testSpans(0, 1))
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := e.Stats(); st.Sent != 1 {
			t.Errorf("%s: stats %+v", c.proto, st)
		}
	}
	for _, comp := range append(g.compression, h.compression...) {
		if comp != "" && comp != "identity" {
			t.Errorf("compression %q, want none", comp)
		}
	}
	if !slices.Equal(h.contentType, []string{"application/x-protobuf", "application/json"}) {
		t.Errorf("content types %q", h.contentType)
	}
}

// A backend that is down (connection refused) is retried until it comes
// up on the same address; nothing queued is lost.
func TestBackendDownThenUp(t *testing.T) {
	for _, proto := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(proto, func(t *testing.T) {
			addr := freeAddr(t)
			e := newReal(t, Config{Endpoint: "http://" + addr, Protocol: proto}, nil)
			mustExport(t, e, testSpans(0, 7))
			eventually(t, 10*time.Second, "retries", func() bool { return e.Stats().Retried >= 3 })
			var got *collector
			if proto == ProtocolGRPC {
				got = &startGRPC(t, addr, nil, 0).collector
			} else {
				got = &startHTTP(t, addr, nil, 0).collector
			}
			eventually(t, 10*time.Second, "the spans to arrive", func() bool { return e.Stats().Sent == 7 })
			if names := got.received(); !slices.Equal(names, wantNames(0, 7)) {
				t.Errorf("received %v", names)
			}
			if st := e.Stats(); st.Dropped != 0 || st.Queued != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TLS with a CA of the test's own: trusted with CAFile, refused without.
func TestTLSWithCustomCA(t *testing.T) {
	caFile, cert := testCA(t)
	for _, proto := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(proto, func(t *testing.T) {
			var addr string
			var got *collector
			if proto == ProtocolGRPC {
				g := startGRPC(t, "", cert, 0)
				addr, got = g.addr, &g.collector
			} else {
				h := startHTTP(t, "", cert, 0)
				addr, got = strings.TrimPrefix(h.srv.URL, "https://"), &h.collector
			}
			e := newReal(t, Config{Endpoint: "https://" + addr, Protocol: proto, CAFile: caFile}, nil)
			mustExport(t, e, testSpans(0, 3))
			if err := e.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if st := e.Stats(); st.Sent != 3 {
				t.Errorf("with the CA: stats %+v", st)
			}
			// host:port without a scheme is TLS too.
			var logs logBuffer
			untrusting := newReal(t, Config{Endpoint: addr, Protocol: proto}, &logs)
			mustExport(t, untrusting, testSpans(3, 3))
			// The failed handshake is logged when the first attempt fails;
			// on a loaded machine that can take longer than Close's timeout.
			wait, cancelWait := context.WithTimeout(t.Context(), 30*time.Second)
			logs.waitFor(wait, "certificate")
			cancelWait()
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			if err := untrusting.Close(ctx); proto == ProtocolGRPC && err == nil {
				t.Error("gRPC without the CA: Close succeeded")
			}
			if st := untrusting.Stats(); st.Sent != 0 || st.Dropped != 3 {
				t.Errorf("without the CA: stats %+v", st)
			}
			if !strings.Contains(logs.String(), "certificate") {
				t.Errorf("the certificate error was not logged:\n%s", logs.String())
			}
			if names := got.received(); !slices.Equal(names, wantNames(0, 3)) {
				t.Errorf("received %v", names)
			}
		})
	}
}

// Retry-After is honoured.
func TestRetryAfterHeader(t *testing.T) {
	h := startHTTP(t, "", nil, 1)
	h.retryAfter = "1"
	e := newReal(t, Config{Endpoint: h.srv.URL}, nil)
	start := time.Now()
	mustExport(t, e, testSpans(0, 1))
	eventually(t, 10*time.Second, "the span to arrive", func() bool { return e.Stats().Sent == 1 })
	if d := time.Since(start); d < time.Second {
		t.Errorf("sent again after %v, before the 1s Retry-After", d)
	}
}

// Close against a backend that never answers returns at its deadline and
// counts what it could not send.
func TestCloseDeadlineWithAHangingBackend(t *testing.T) {
	release := make(chan struct{})
	h := startHTTP(t, "", nil, 0)
	h.srv.Config.Handler = hang(release)
	t.Cleanup(func() { close(release) })
	e := newReal(t, Config{Endpoint: h.srv.URL, Timeout: time.Minute}, nil)
	mustExport(t, e, testSpans(0, 4))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.Close(ctx)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v with a 300ms deadline", d)
	}
	if err == nil || !strings.Contains(err.Error(), "4 spans not sent") {
		t.Errorf("Close: %v", err)
	}
	if st := e.Stats(); st.DroppedShutdown != 4 {
		t.Errorf("stats %+v", st)
	}
}
