package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kspan-project/kspan/internal/httpserve"
)

// DefaultAddr is where the endpoints listen unless told otherwise: this
// machine only, on the port OpenTelemetry's Prometheus exporters use.
const DefaultAddr = "127.0.0.1:9464"

// Probes says what /healthz and /readyz require, and which requests the
// handler answers.
type Probes struct {
	// StaleAfter is how long the engine loop may go without publishing its
	// counters before /healthz fails; zero means 30s (the loop ticks every
	// 500ms).
	StaleAfter time.Duration
	// FailingFor is how long OTLP uploads may keep failing before /readyz
	// fails; zero means 5m.
	FailingFor time.Duration
	// Pprof serves net/http/pprof under /debug/pprof/.
	Pprof bool
	// Hosts are the names the handler answers to (see httpserve.Hosts);
	// the zero value answers localhost and IP addresses only.
	Hosts httpserve.Hosts
	// AnyHost answers /metrics, /healthz and /readyz whatever their Host
	// (/debug/pprof/ stays behind Hosts: its command line may hold an
	// -otlp-header's key). For an address beyond loopback, where probes
	// and scrapers name the pod as they like; these endpoints hold
	// counters, no Event content.
	AnyHost bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Handler serves /metrics, /healthz, /readyz and, with p.Pprof,
// /debug/pprof/, to GET requests whose Host p allows (421 for others).
func (m *Metrics) Handler(p Probes) http.Handler {
	if p.StaleAfter <= 0 {
		p.StaleAfter = 30 * time.Second
	}
	if p.FailingFor <= 0 {
		p.FailingFor = 5 * time.Minute
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	checked := p.Hosts.Check
	counters := checked
	if p.AnyHost {
		counters = func(h http.Handler) http.Handler { return h }
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", counters(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})))
	mux.Handle("GET /healthz", counters(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		probe(w, m.healthy(p))
	})))
	mux.Handle("GET /readyz", counters(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		probe(w, m.ready(p))
	})))
	if p.Pprof {
		mux.Handle("GET /debug/pprof/", checked(http.HandlerFunc(pprof.Index)))
		mux.Handle("GET /debug/pprof/cmdline", checked(http.HandlerFunc(pprof.Cmdline)))
		mux.Handle("GET /debug/pprof/profile", checked(http.HandlerFunc(pprof.Profile)))
		mux.Handle("GET /debug/pprof/symbol", checked(http.HandlerFunc(pprof.Symbol)))
		mux.Handle("GET /debug/pprof/trace", checked(http.HandlerFunc(pprof.Trace)))
	}
	return mux
}

// healthy: the process answers and the engine loop published recently (a
// standby replica runs no engine: it is healthy while it answers).
func (m *Metrics) healthy(p Probes) error {
	if m.standby() {
		return nil
	}
	sn := m.src.Live.Snapshot()
	if sn == nil {
		return errors.New("the engine loop has not started")
	}
	if d := p.Now().Sub(sn.At); d > p.StaleAfter {
		return fmt.Errorf("the engine loop has not ticked for %v", d.Round(time.Second))
	}
	return nil
}

func (m *Metrics) standby() bool { return m.src.Standby != nil && m.src.Standby() }

// ready: healthy, the caches synced, and the exporter not failing for long;
// or standing by, ready to take over.
func (m *Metrics) ready(p Probes) error {
	if err := m.healthy(p); err != nil {
		return err
	}
	if m.standby() {
		return nil
	}
	if !m.src.Live.Synced() {
		return errors.New("the informer caches have not synced")
	}
	if m.src.Exporter != nil {
		if since := m.src.Exporter().FailingSince; !since.IsZero() {
			if d := p.Now().Sub(since); d > p.FailingFor {
				return fmt.Errorf("otlp export has been failing for %v", d.Round(time.Second))
			}
		}
	}
	return nil
}

func probe(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, "ok")
}

// Server serves a handler on a listener bound by Listen until Run's
// context ends.
type Server struct {
	*httpserve.Server
}

// Listen binds addr (host:port; port 0 picks a free one). Binding first
// lets the caller report a busy port before anything else starts.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	srv, err := httpserve.Listen(addr, &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Long enough for /debug/pprof/profile's default 30s.
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}, "metrics")
	if err != nil {
		return nil, err
	}
	return &Server{Server: srv}, nil
}
