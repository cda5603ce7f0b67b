package output

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/export"
	"github.com/kspan-project/kspan/internal/span"
)

type writer struct {
	got  int
	fail error
}

func (w *writer) Export(_ context.Context, s []span.Span) error {
	w.got += len(s)
	return w.fail
}
func (w *writer) Close(context.Context) error { return nil }

type recorder struct {
	mu  sync.Mutex
	got int
}

func (r *recorder) Delivered(s []span.Span, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got += len(s)
}

func (r *recorder) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

func spans(n int) []span.Span {
	out := make([]span.Span, n)
	for i := range out {
		out[i] = span.Span{TraceID: span.TraceID{1}, SpanID: span.ID{byte(i + 1)}, Name: "s", Start: time.Unix(1, 0), End: time.Unix(2, 0)}
	}
	return out
}

// Without an exporter a batch is delivered when the -o writer took it; the
// recorder hears of it from when it is set, and the observer of every
// batch.
func TestDeliveredByTheWriter(t *testing.T) {
	w, view := &writer{}, &writer{}
	p, err := New(context.Background(), Parts{Writer: w, Viewer: view})
	if err != nil {
		t.Fatal(err)
	}
	observed := 0
	p.Observe(func(s []span.Span, _ time.Time) { observed += len(s) })
	ctx := context.Background()
	if err := p.Export(ctx, spans(2)); err != nil { // before a recorder: not recorded
		t.Fatal(err)
	}
	var r recorder
	p.Record(&r)
	if err := p.Export(ctx, spans(3)); err != nil {
		t.Fatal(err)
	}
	w.fail = errors.New("disk full")
	if err := p.Export(ctx, spans(4)); err == nil {
		t.Error("the writer's error was not returned")
	}
	if r.n() != 3 || observed != 9 || view.got != 9 || w.got != 9 {
		t.Errorf("recorded %d (want 3), observed %d, viewer %d, writer %d (want 9)", r.n(), observed, view.got, w.got)
	}
	if p.Exporter() != nil || p.Undelivered() != nil {
		t.Error("a pipeline without an endpoint has an exporter")
	}
}

// With an exporter, a batch is delivered when the backend accepted it, not
// when the writer took it; spans the backend rejects are undelivered, with
// the counts.
func TestDeliveredByTheExporter(t *testing.T) {
	for _, c := range []struct {
		status      int
		recorded    int
		undelivered string
	}{
		{http.StatusOK, 5, ""},
		{http.StatusBadRequest, 0, "5 of 5 spans not delivered (5 rejected by the backend"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(c.status)
		}))
		w := &writer{}
		p, err := New(context.Background(), Parts{Writer: w, OTLP: &export.Config{Endpoint: srv.URL, Protocol: export.ProtocolHTTPProtobuf, WaitWhenFull: true}})
		if err != nil {
			t.Fatal(err)
		}
		var r recorder
		p.Record(&r)
		if err := p.Export(context.Background(), spans(5)); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if r.n() != c.recorded || w.got != 5 {
			t.Errorf("status %d: recorded %d, want %d (writer %d)", c.status, r.n(), c.recorded, w.got)
		}
		err = p.Undelivered()
		if c.undelivered == "" && err != nil || c.undelivered != "" && (err == nil || !strings.Contains(err.Error(), c.undelivered)) {
			t.Errorf("status %d: undelivered %v, want %q", c.status, err, c.undelivered)
		}
	}
}
