package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/httpserve"
	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/sink"
)

//go:embed assets
var assets embed.FS

// ViewerOptions configure the viewer's pages.
type ViewerOptions struct {
	// Resource is the resource of the OTLP/JSON the API serves (the same
	// as the other outputs').
	Resource otlp.Resource
	// Live makes the trace list refresh itself when new traces are stored.
	// Off for a replay, whose store does not change while served.
	Live bool
	// Hosts are the names the viewer answers to (see httpserve.Hosts); the
	// zero value answers localhost and IP addresses only. The pages hold
	// the cluster's Events: a web page must not read them by rebinding its
	// name to this machine.
	Hosts httpserve.Hosts
	// Rollouts returns the rollouts waiting for their outcome, the longest
	// waiting first (live mode; nil: no page of rollouts). StuckAfter is
	// when one counts as stuck.
	Rollouts   func() []correlate.OpenRollout
	StuckAfter time.Duration
}

// Viewer serves the store's traces:
//
//	GET /                     the trace list, newest first; query: namespace, kind, name, uid, reason, errors
//	GET /trace/{id}           one trace as a waterfall (a stable link while the trace is stored)
//	GET /rollouts             the rollouts in progress (live mode); query: stuck
//	GET /api/traces/{id}      the trace in OTLP/JSON (one ExportTraceServiceRequest)
//	GET /api/version          a number that changes whenever spans are stored
//	GET /static/...           the embedded CSS and JavaScript
//
// It answers only requests for the names in ViewerOptions.Hosts (421
// otherwise), and GET and HEAD only (405); anything else from a page of
// another origin is refused first (403). Every error under /api/ is JSON:
// {"error": "..."}.
type Viewer struct {
	store *Store
	opt   ViewerOptions
	mux   *http.ServeMux
}

// NewViewer returns the viewer's handler for store.
func NewViewer(store *Store, opt ViewerOptions) *Viewer {
	v := &Viewer{store: store, opt: opt, mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	v.mux.HandleFunc("GET /{$}", v.list)
	v.mux.HandleFunc("GET /trace/{id}", v.trace)
	if opt.Rollouts != nil {
		v.mux.HandleFunc("GET /rollouts", v.rollouts)
	}
	v.mux.HandleFunc("GET /api/traces/{id}", v.traceJSON)
	v.mux.HandleFunc("GET /api/version", v.version)
	v.mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		msg := "There is nothing at " + r.URL.Path + ": the API is /api/traces/{trace ID} and /api/version."
		if r.URL.Path == "/api/traces/" {
			msg = "A trace ID is missing: /api/traces/{32 hexadecimal digits}."
		}
		writeError(w, r, http.StatusNotFound, msg)
	})
	v.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	v.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		nf := notFound{Stats: store.Stats(), What: "There is no page at " + r.URL.Path + "."}
		v.page(w, http.StatusNotFound, func(p *page) { renderNotFound(p, nf) })
	})
	return v
}

// ServeHTTP implements http.Handler.
func (v *Viewer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything is served from here: no other origin, no inline script.
	// Inline style attributes place the bars.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if status, msg := v.opt.Hosts.Refusal(r); status != 0 {
		writeError(w, r, status, msg)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, r, http.StatusMethodNotAllowed, "The viewer only reads: "+r.Method+" is not allowed, GET and HEAD are.")
		return
	}
	v.mux.ServeHTTP(w, r)
}

// writeError answers with status and msg: as JSON under /api/, as plain
// text elsewhere (for what has no page: a refused request).
func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.URL.Path != "/api" && !strings.HasPrefix(r.URL.Path, "/api/") {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
		return
	}
	b, err := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	if err != nil {
		panic(err) // a struct of one string always marshals
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // a failed write is the client's to notice
}

type notFound struct {
	Stats Stats
	What  string
}

func (v *Viewer) rollouts(w http.ResponseWriter, r *http.Request) {
	s := r.URL.Query().Get("stuck")
	rv := newRolloutsView(v.store, v.opt.Rollouts(), v.opt.StuckAfter, s != "" && s != "0" && s != "false", time.Now())
	v.page(w, http.StatusOK, func(p *page) { renderRollouts(p, rv) })
}

func (v *Viewer) list(w http.ResponseWriter, r *http.Request) {
	lv := newListView(v.store, ParseFilter(r.URL.Query()), v.opt.Live)
	if v.opt.Rollouts != nil {
		rv := newRolloutsView(v.store, v.opt.Rollouts(), v.opt.StuckAfter, true, time.Now())
		lv.Rollouts, lv.Open, lv.Stuck = true, rv.Open, rv.Stuck
	}
	v.page(w, http.StatusOK, func(p *page) { renderList(p, lv) })
}

func (v *Viewer) lookup(w http.ResponseWriter, r *http.Request, asJSON bool) (*Trace, bool) {
	raw := r.PathValue("id")
	id, valid := parseTraceID(raw)
	if t, ok := v.store.Trace(id); valid && ok {
		return t, true
	}
	msg := fmt.Sprintf("Trace %s is not in memory: it was evicted to keep the viewer within its bounds, or kspan has not exported it.", raw)
	if !valid {
		msg = fmt.Sprintf("%q is not a trace ID (32 hexadecimal digits).", raw)
	}
	if asJSON {
		writeError(w, r, http.StatusNotFound, msg)
	} else {
		nf := notFound{Stats: v.store.Stats(), What: msg}
		v.page(w, http.StatusNotFound, func(p *page) { renderNotFound(p, nf) })
	}
	return nil, false
}

func (v *Viewer) trace(w http.ResponseWriter, r *http.Request) {
	if t, ok := v.lookup(w, r, false); ok {
		tv := newTraceView(v.store, t)
		v.page(w, http.StatusOK, func(p *page) { renderTrace(p, tv) })
	}
}

func (v *Viewer) traceJSON(w http.ResponseWriter, r *http.Request) {
	t, ok := v.lookup(w, r, true)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(otlp.AppendJSON(nil, v.opt.Resource, sink.Scope, t.Spans)) // a failed write is the client's to notice
}

func (v *Viewer) version(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, v.store.Stats().Version)
}

// page writes the page render makes (render.go).
func (v *Viewer) page(w http.ResponseWriter, status int, render func(*page)) {
	var p page
	render(&p)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(p.Bytes()) // a failed write is the client's to notice
}

// Server is the viewer's HTTP server: a listener bound by Listen, served by
// Run until its context ends.
type Server struct {
	*httpserve.Server
	log *slog.Logger
}

// Listen binds addr (host:port; port 0 picks a free one) for h. Binding
// first lets the caller report a busy port before anything else starts.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	srv, err := httpserve.Listen(addr, &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}, "the viewer")
	if err != nil {
		return nil, err
	}
	return &Server{Server: srv, log: log}, nil
}

// Loopback reports whether only this machine can connect.
func (s *Server) Loopback() bool {
	a, ok := s.Addr().(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// URL is where a browser on this machine finds the viewer.
func (s *Server) URL() string {
	a, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		return "http://" + s.Addr().String() + "/"
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port)) + "/"
}
