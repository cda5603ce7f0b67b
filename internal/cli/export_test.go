package cli

import (
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/kspan-project/kspan/internal/otlp"
)

// otlpReceiver is a minimal OTLP/HTTP backend that records span IDs and
// request headers.
type otlpReceiver struct {
	mu       sync.Mutex
	spanIDs  []string
	services []string
	headers  []http.Header
}

func startReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	r := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var msg coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &msg)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.headers = append(r.headers, req.Header.Clone())
		for _, rs := range msg.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					r.services = append(r.services, a.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					r.spanIDs = append(r.spanIDs, string(s.GetTraceId())+string(s.GetSpanId()))
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// jsonSpanIDs are the trace+span IDs of the -o otlp-json output.
func jsonSpanIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		_, spans, err := otlp.ParseJSON([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			ids = append(ids, string(s.TraceID[:])+string(s.SpanID[:]))
		}
	}
	slices.Sort(ids)
	return ids
}

func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// The environment configures the exporter; the -o output is written as
// well (both sinks get every span).
func TestReplayExportsWithEnvironment(t *testing.T) {
	r, url := startReceiver(t)
	out, errs, code := run(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_SERVICE_NAME": "events"},
		"replay", "-o", "otlp-json", v0, real)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	want := jsonSpanIDs(t, out)
	r.mu.Lock()
	defer r.mu.Unlock()
	got := slices.Sorted(slices.Values(r.spanIDs))
	if len(want) != 35 || !slices.Equal(got, want) {
		t.Errorf("exported %d spans, the file has %d; want the same 35", len(got), len(want))
	}
	if len(r.services) == 0 || r.services[0] != "events" {
		t.Errorf("service.name %v", r.services)
	}
	if !strings.Contains(errs, "otlp export stopped") || !strings.Contains(errs, "sent=35") {
		t.Errorf("no export counters in the log:\n%s", errs)
	}
}

// Flags override the environment.
func TestExportFlagsOverrideEnvironment(t *testing.T) {
	r, url := startReceiver(t)
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":    "http://" + deadAddr(t),
		"OTEL_EXPORTER_OTLP_HEADERS":     "x-honeycomb-team=FROMENV,x-other=1",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "none",
	}
	_, errs, code := run(t, env, "replay", "-o", "otlp-json", "-output-file", t.TempDir()+"/out.jsonl",
		"-otlp-endpoint", url, "-otlp-header", "x-honeycomb-team=KEY", "-otlp-compression", "gzip",
		"-otlp-batch-size", "7", v0)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spanIDs) != 20 || len(r.headers) != 3 {
		t.Fatalf("%d spans in %d requests, want 20 in 3", len(r.spanIDs), len(r.headers))
	}
	h := r.headers[0]
	if h.Get("X-Honeycomb-Team") != "KEY" || h.Get("X-Other") != "1" || h.Get("Content-Encoding") != "gzip" {
		t.Errorf("headers %v", h)
	}
}

func TestExportFlagErrors(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		msg  string
	}{
		{nil, []string{"-otlp-protocol", "thrift"}, "-otlp-protocol"},
		{nil, []string{"-otlp-header", "novalue"}, "novalue"},
		{nil, []string{"-otlp-endpoint", "ftp://x"}, "scheme"},
		{nil, []string{"-otlp-queue-size", "10", "-otlp-batch-size", "20"}, "larger than"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5s", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, nil, "OTEL_EXPORTER_OTLP_TIMEOUT"},
		// Configuration that can never work: refused at start, not retried
		// as an outage until the shutdown deadline.
		{nil, []string{"-otlp-endpoint", "http://127.0.0.1:99999"}, `"http://127.0.0.1:99999": port 99999 is outside 1-65535`},
		{nil, []string{"-otlp-endpoint", "http://127.0.0.1:4318", "-otlp-header", "x-key=a%0D%0AX-Injected: 1"}, `otlp header "x-key": its value has the control character U+000D`},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-key=a%0Ab", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, nil, `otlp header "x-key": its value has the control character U+000A`},
		{nil, []string{"-otlp-queue-size", "0"}, "-otlp-queue-size 0: want at least 1"},
		{nil, []string{"-otlp-batch-size", "0"}, "-otlp-batch-size 0: want at least 1"},
	} {
		var stderr strings.Builder
		err := Run(t.Context(), append(append([]string{"replay"}, c.args...), v0), Env{
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
			Getenv: func(k string) string { return c.env[k] },
		})
		if code := ExitCode(err); code != ExitUsage || !strings.Contains(fmt.Sprint(err)+stderr.String(), c.msg) {
			t.Errorf("%v %v: exit %d (%v), want %d with %q", c.env, c.args, code, err, ExitUsage, c.msg)
		}
	}
	// Unusable variables do not matter while nothing is exported.
	if _, errs, code := run(t, map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5s"}, "replay", v0); code != 0 {
		t.Errorf("exit %d:\n%s", code, errs)
	}
}

// A backend that rejects every request: the replay logs the rejections
// and exits 1 with the counts, not 0.
func TestReplayRejectedExitStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		http.Error(w, "no", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	var stderr strings.Builder
	err := Run(t.Context(), []string{"replay", "-o", "otlp-json", "-output-file", t.TempDir() + "/out.jsonl", "-otlp-endpoint", srv.URL, v0}, Env{
		Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
		Getenv: func(string) string { return "" },
	})
	if code := ExitCode(err); code != ExitFailed {
		t.Fatalf("exit %d (%v), want %d:\n%s", code, err, ExitFailed, stderr.String())
	}
	if want := "20 of 20 spans not delivered (20 rejected by the backend, 0 dropped with the queue full, 0 unsent at the shutdown deadline)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
}
