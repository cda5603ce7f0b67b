package export

import (
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// collector is what a test backend received.
type collector struct {
	mu          sync.Mutex
	fail        int // answer the first fail requests with a retryable error
	requests    int
	spans       []*tracepb.Span
	headers     []map[string]string // per accepted request
	compression []string            // per request: "gzip" or ""
	contentType []string
}

func (c *collector) record(req *coltracepb.ExportTraceServiceRequest, headers map[string]string) {
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	c.headers = append(c.headers, headers)
}

func (c *collector) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return spanNames(c.spans)
}

// grpcCollector is a real gRPC OTLP trace service on loopback.
type grpcCollector struct {
	coltracepb.UnimplementedTraceServiceServer
	collector
	addr string
}

func (g *grpcCollector) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if g.requests <= g.fail {
		return nil, status.Error(codes.Unavailable, "try later")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	h := map[string]string{}
	for k, v := range md {
		h[k] = v[0]
	}
	g.record(req, h)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// The stats handler sees each request's compression.
func (g *grpcCollector) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (g *grpcCollector) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (g *grpcCollector) HandleConn(context.Context, stats.ConnStats) {}
func (g *grpcCollector) HandleRPC(_ context.Context, s stats.RPCStats) {
	if in, ok := s.(*stats.InHeader); ok {
		g.mu.Lock()
		g.compression = append(g.compression, in.Compression)
		g.mu.Unlock()
	}
}

// startGRPC serves on addr ("" picks a port), with TLS when cert is set.
func startGRPC(t *testing.T, addr string, cert *tls.Certificate, fail int) *grpcCollector {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	g := &grpcCollector{addr: lis.Addr().String()}
	g.fail = fail
	opts := []grpc.ServerOption{grpc.StatsHandler(g)}
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	srv := grpc.NewServer(opts...)
	coltracepb.RegisterTraceServiceServer(srv, g)
	go func() {
		if err := srv.Serve(lis); err != nil {
			t.Errorf("grpc serve: %v", err)
		}
	}()
	t.Cleanup(srv.Stop)
	return g
}

// httpCollector is a real OTLP/HTTP receiver (httptest) on loopback.
type httpCollector struct {
	collector
	srv *httptest.Server
	// retryAfter, when set, goes with each retryable answer.
	retryAfter string
}

func (h *httpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	h.compression = append(h.compression, r.Header.Get("Content-Encoding"))
	h.contentType = append(h.contentType, r.Header.Get("Content-Type"))
	if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
		return
	}
	if h.requests <= h.fail {
		if h.retryAfter != "" {
			w.Header().Set("Retry-After", h.retryAfter)
		}
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if r.Header.Get("Content-Type") == "application/json" {
		err = protojson.Unmarshal(b, &req)
	} else {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	hs := map[string]string{}
	for k := range r.Header {
		hs[k] = r.Header.Get(k)
	}
	h.record(&req, hs)
	out, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	if _, err := w.Write(out); err != nil {
		panic(err) // the test fails on what the exporter then counts
	}
}

// startHTTP serves on addr ("" picks a port), with TLS when cert is set.
func startHTTP(t *testing.T, addr string, cert *tls.Certificate, fail int) *httpCollector {
	t.Helper()
	h := &httpCollector{}
	h.fail = fail
	h.srv = httptest.NewUnstartedServer(h)
	if addr != "" {
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		h.srv.Listener.Close()
		h.srv.Listener = lis
	}
	if cert != nil {
		h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
		h.srv.StartTLS()
	} else {
		h.srv.Start()
	}
	t.Cleanup(h.srv.Close)
	return h
}

// testCA writes a fresh CA's certificate to a file and returns it with a
// server certificate it signed for 127.0.0.1.
func testCA(t *testing.T) (caFile string, server *tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kspan test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// newReal starts an exporter with quick retries for the servers above.
func newReal(t *testing.T, cfg Config, logs *logBuffer) *Exporter {
	t.Helper()
	cfg.RetryInitial, cfg.RetryMax = 20*time.Millisecond, 100*time.Millisecond
	cfg.BatchTimeout = 10 * time.Millisecond
	if logs != nil {
		cfg.Log = testLogger(logs)
	}
	e, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Log(err)
		}
	})
	return e
}

// hang answers nothing until release is closed.
func hang(release chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
}
