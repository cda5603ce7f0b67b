package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/export"
	"github.com/kspan-project/kspan/internal/httpserve"
	"github.com/kspan-project/kspan/internal/live"
	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/web"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// has fails unless the exposition holds every line.
func has(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("no line %q in /metrics", l)
		}
	}
}

func TestMetricsReadThePublishedSnapshot(t *testing.T) {
	var st live.Status
	xs := export.Stats{Sent: 7, Requests: 2, DroppedFull: 3}
	m := New(Sources{
		Live:     &st,
		Exporter: func() export.Stats { return xs },
		Viewer:   func() web.Stats { return web.Stats{Spans: 4, Evicted: web.Evicted{Spans: 5}} },
	})
	srv := httptest.NewServer(m.Handler(Probes{}))
	defer srv.Close()

	_, body := get(t, srv, "/metrics")
	has(t, body,
		"kspan_spans_emitted_total 0",
		`kspan_dropped_total{component="engine",reason="suppressed_repeat"} 0`,
		`kspan_dropped_total{component="otlp",reason="queue_full"} 3`,
		`kspan_dropped_total{component="viewer",reason="evicted_span"} 5`,
		"kspan_otlp_spans_sent_total 7",
		"kspan_leader 1",
		"kspan_caches_synced 0",
		"kspan_span_export_delay_seconds_count 0",
	)
	if strings.Contains(body, "kspan_events_received_total") {
		t.Error("events by API and type before any were received")
	}

	now := time.Now()
	st.Publish(live.Snapshot{At: now, Engine: correlate.Stats{
		Objects: 11, Spans: 12, Suppressed: 2, ForcedFlushes: 1, Held: 3, OpenTraces: 4, OpenSpans: 5,
		Index: owners.Stats{Objects: 6, Tombstones: 1, Evicted: 9},
	}, Events: map[live.EventKind]uint64{{API: "events.k8s.io/v1", Type: "Warning"}: 8}})
	m.ObserveExport([]span.Span{{End: now.Add(-3 * time.Second)}, {}}, now)
	xs.Sent = 10

	_, body = get(t, srv, "/metrics")
	has(t, body,
		`kspan_events_received_total{api="events.k8s.io/v1",type="Warning"} 8`,
		"kspan_objects_received_total 11",
		"kspan_spans_emitted_total 12",
		`kspan_dropped_total{component="engine",reason="suppressed_repeat"} 2`,
		`kspan_dropped_total{component="engine",reason="evicted_object"} 9`,
		`kspan_forced_total{reason="flush"} 1`,
		"kspan_held_events 3",
		"kspan_open_traces 4",
		"kspan_open_spans 5",
		`kspan_owner_index_entries{state="object"} 6`,
		`kspan_owner_index_entries{state="tombstone"} 1`,
		"kspan_otlp_spans_sent_total 10",
		`kspan_span_export_delay_seconds_bucket{le="5"} 1`,
		"kspan_span_export_delay_seconds_count 1",
	)
}

func TestProbes(t *testing.T) {
	var st live.Status
	var failing time.Time
	now := time.Now()
	m := New(Sources{Live: &st, Exporter: func() export.Stats { return export.Stats{FailingSince: failing} }})
	srv := httptest.NewServer(m.Handler(Probes{StaleAfter: 30 * time.Second, FailingFor: time.Minute, Now: func() time.Time { return now }}))
	defer srv.Close()

	want := func(path string, code int) {
		t.Helper()
		if got, body := get(t, srv, path); got != code {
			t.Errorf("%s = %d (%q), want %d", path, got, strings.TrimSpace(body), code)
		}
	}
	want("/healthz", 503) // the engine loop has not published
	want("/readyz", 503)

	st.Publish(live.Snapshot{At: now})
	want("/healthz", 200)
	want("/readyz", 503) // not synced

	st.SetSynced()
	want("/readyz", 200)

	failing = now.Add(-30 * time.Second)
	want("/readyz", 200) // failing, not for long
	failing = now.Add(-2 * time.Minute)
	want("/readyz", 503)
	failing = time.Time{}

	now = now.Add(time.Minute) // the loop stopped ticking
	want("/healthz", 503)
	want("/readyz", 503)
}

func TestPprofOnlyWithTheFlag(t *testing.T) {
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(New(Sources{}).Handler(Probes{Pprof: on}))
		code, _ := get(t, srv, "/debug/pprof/")
		srv.Close()
		if want := map[bool]int{false: 404, true: 200}[on]; code != want {
			t.Errorf("pprof %v: /debug/pprof/ = %d, want %d", on, code, want)
		}
	}
}

func TestServerRunStopsWithTheContext(t *testing.T) {
	s, err := Listen("127.0.0.1:0", New(Sources{}).Handler(Probes{}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	resp, err := http.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("/healthz with no engine = %d, want 503", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A standby replica runs no engine: it is alive and ready to take over,
// and says it does not lead.
func TestStandbyProbesAndLeaderGauge(t *testing.T) {
	standby := true
	m := New(Sources{Live: &live.Status{}, Standby: func() bool { return standby }})
	srv := httptest.NewServer(m.Handler(Probes{}))
	defer srv.Close()
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, srv, p); code != 200 {
			t.Errorf("standby %s = %d %q, want 200", p, code, body)
		}
	}
	_, body := get(t, srv, "/metrics")
	has(t, body, "kspan_leader 0")
	standby = false // leading now, the engine not yet ticking
	if code, _ := get(t, srv, "/healthz"); code != 503 {
		t.Errorf("leader without an engine loop: /healthz %d, want 503", code)
	}
	_, body = get(t, srv, "/metrics")
	has(t, body, "kspan_leader 1")
}

func hostGet(h http.Handler, host, path string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// On loopback every endpoint answers only localhost, IP addresses and the
// names listed; beyond it (AnyHost) the counters and probes answer any
// Host, pprof still only those.
func TestHandlerChecksHost(t *testing.T) {
	var st live.Status
	st.Publish(live.Snapshot{At: time.Now()})
	m := New(Sources{Live: &st})
	listed, err := httpserve.ParseHosts("kspan.example.com", "-metrics-allowed-hosts")
	if err != nil {
		t.Fatal(err)
	}
	strict := m.Handler(Probes{Pprof: true, Hosts: listed})
	open := m.Handler(Probes{Pprof: true, Hosts: listed, AnyHost: true})
	counters := []string{"/metrics", "/healthz"}
	pprof := []string{"/debug/pprof/", "/debug/pprof/cmdline"}
	for _, tc := range []struct {
		host                    string
		strict, open, openPprof int
	}{
		{"127.0.0.1:9464", 200, 200, 200},
		{"localhost:9464", 200, 200, 200},
		{"10.244.1.7:9464", 200, 200, 200}, // the kubelet's probe: the pod's IP
		{"kspan.example.com:9464", 200, 200, 200},
		{"kspan.monitoring.svc:9464", 421, 200, 421},
		{"evil.example.com:9464", 421, 200, 421},
	} {
		for _, path := range counters {
			if got := hostGet(strict, tc.host, path); got != tc.strict {
				t.Errorf("strict: GET %s Host %s: %d, want %d", path, tc.host, got, tc.strict)
			}
			if got := hostGet(open, tc.host, path); got != tc.open {
				t.Errorf("any host: GET %s Host %s: %d, want %d", path, tc.host, got, tc.open)
			}
		}
		for _, path := range pprof {
			if got := hostGet(strict, tc.host, path); got != tc.strict {
				t.Errorf("strict: GET %s Host %s: %d, want %d", path, tc.host, got, tc.strict)
			}
			if got := hostGet(open, tc.host, path); got != tc.openPprof {
				t.Errorf("any host: GET %s Host %s: %d, want %d", path, tc.host, got, tc.openPprof)
			}
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/metrics", nil)
	req.Host = "127.0.0.1:9464"
	rec := httptest.NewRecorder()
	strict.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d", rec.Code)
	}
}

func TestRolloutMetrics(t *testing.T) {
	var st live.Status
	m := New(Sources{Live: &st})
	srv := httptest.NewServer(m.Handler(Probes{}))
	defer srv.Close()
	var r correlate.RolloutStats
	r.Done[0][0] = correlate.Histogram{Count: 2, Sum: 50, Buckets: [len(correlate.RolloutBuckets)]uint64{0, 0, 1, 2, 2, 2, 2, 2, 2}}  // Deployment complete
	r.Done[3][1] = correlate.Histogram{Count: 1, Sum: 700, Buckets: [len(correlate.RolloutBuckets)]uint64{0, 0, 0, 0, 0, 0, 0, 1, 1}} // Job failed
	r.Open[1], r.Stuck[1] = 3, 1
	st.Publish(live.Snapshot{At: time.Now(), Engine: correlate.Stats{Rollouts: r}})
	_, body := get(t, srv, "/metrics")
	has(t, body,
		`kspan_rollouts_total{kind="Deployment",outcome="complete"} 2`,
		`kspan_rollouts_total{kind="Job",outcome="failed"} 1`,
		`kspan_rollouts_total{kind="DaemonSet",outcome="unknown"} 0`,
		`kspan_rollout_duration_seconds_bucket{kind="Deployment",outcome="complete",le="30"} 1`,
		`kspan_rollout_duration_seconds_sum{kind="Job",outcome="failed"} 700`,
		`kspan_rollouts_in_progress{kind="StatefulSet"} 3`,
		`kspan_rollouts_stuck{kind="StatefulSet"} 1`,
	)
	if strings.Contains(body, `outcome="in_progress"`) {
		t.Error("in_progress counted as an outcome; it is the in_progress gauge")
	}
}
