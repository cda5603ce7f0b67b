package export

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kspan-project/kspan/internal/span"
)

// testSpans makes n spans with distinct IDs, numbered from first.
func testSpans(first, n int) []span.Span {
	out := make([]span.Span, n)
	t0 := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	for i := range out {
		s := &out[i]
		binary.BigEndian.PutUint64(s.TraceID[8:], 1)
		binary.BigEndian.PutUint64(s.SpanID[:], uint64(first+i+1))
		s.Name = fmt.Sprintf("Pod.Event%d", first+i)
		s.Start, s.End = t0, t0.Add(time.Second)
		s.Attrs = []span.Attr{span.Str(span.KeyEventReason, "Event"), span.Int64(span.KeyEventCount, 1)}
	}
	return out
}

// spanNames lists the names of received spans.
func spanNames(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.GetName())
	}
	return out
}

// logBuffer is a goroutine-safe log destination.
type logBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed by the next write (waitFor)
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	if l.wrote != nil {
		close(l.wrote)
		l.wrote = nil
	}
	return n, err
}

// waitFor waits until the log holds s, or ctx ends; it reports whether the
// log holds s.
func (l *logBuffer) waitFor(ctx context.Context, s string) bool {
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return true
		}
		if l.wrote == nil {
			l.wrote = make(chan struct{})
		}
		ch := l.wrote
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeClient is an otlptrace.Client that records each request and answers
// with the gRPC code respond gives for the call's index. A non-nil gate
// holds every call until it is closed (or the call's ctx ends).
type fakeClient struct {
	mu       sync.Mutex
	calls    int
	requests [][]*tracepb.Span
	respond  func(call int) codes.Code
	gate     chan struct{}
	stopped  bool
}

func (f *fakeClient) Start(context.Context) error { return nil }

func (f *fakeClient) Stop(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	return nil
}

func (f *fakeClient) UploadTraces(ctx context.Context, rs []*tracepb.ResourceSpans) error {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			if o := outcomeOf(ctx); o != nil {
				o.mu.Lock()
				o.grpc, o.code = true, codes.DeadlineExceeded
				o.mu.Unlock()
			}
			return status.Error(codes.DeadlineExceeded, ctx.Err().Error())
		}
	}
	f.mu.Lock()
	call := f.calls
	f.calls++
	code := codes.OK
	if f.respond != nil {
		code = f.respond(call)
	}
	if code == codes.OK {
		var spans []*tracepb.Span
		for _, r := range rs {
			for _, ss := range r.GetScopeSpans() {
				spans = append(spans, ss.GetSpans()...)
			}
		}
		f.requests = append(f.requests, spans)
	}
	f.mu.Unlock()
	if o := outcomeOf(ctx); o != nil {
		o.mu.Lock()
		o.grpc, o.code = true, code
		o.mu.Unlock()
	}
	if code == codes.OK {
		return nil
	}
	return status.Error(code, "fake "+code.String())
}

// sizes lists the span counts of the requests received so far.
func (f *fakeClient) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, r := range f.requests {
		out = append(out, len(r))
	}
	return out
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
