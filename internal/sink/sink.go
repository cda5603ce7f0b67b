package sink

import (
	"cmp"
	"context"
	"errors"
	"io"
	"sync"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tree"
)

// Scope is the instrumentation scope name of kspan's spans.
const Scope = "kspan"

// Sink receives exported spans.
//
// Export is called from one goroutine at a time with the spans of one trace
// (or late spans of a trace exported before); it must not keep the slice
// after returning. It may block (a full queue), honouring ctx. Close flushes
// what the sink buffered, within ctx's deadline, and releases it; no Export
// follows Close.
type Sink interface {
	Export(ctx context.Context, spans []span.Span) error
	Close(ctx context.Context) error
}

// Fanout sends every batch to each sink, in order, and joins their errors.
type Fanout []Sink

var _ Sink = Fanout(nil)

// Export implements Sink.
func (f Fanout) Export(ctx context.Context, spans []span.Span) error {
	var errs []error
	for _, s := range f {
		errs = append(errs, s.Export(ctx, spans))
	}
	return errors.Join(errs...)
}

// Close implements Sink.
func (f Fanout) Close(ctx context.Context) error {
	var errs []error
	for _, s := range f {
		errs = append(errs, s.Close(ctx))
	}
	return errors.Join(errs...)
}

// JSON writes OTLP/JSON, one ExportTraceServiceRequest per batch and line:
// the OpenTelemetry Collector file exporter's format.
type JSON struct {
	mu     sync.Mutex
	w      *otlp.JSONWriter
	closer io.Closer
}

var _ Sink = (*JSON)(nil)

// NewJSON writes to w with the given resource attributes; closer (may be
// nil) is closed by Close.
func NewJSON(w io.Writer, closer io.Closer, resource otlp.Resource) *JSON {
	return &JSON{w: otlp.NewJSONWriter(w, resource, Scope), closer: closer}
}

// Export implements Sink.
func (j *JSON) Export(_ context.Context, spans []span.Span) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.w.WriteSpans(spans)
}

// Close implements Sink.
func (j *JSON) Close(context.Context) error {
	if j.closer != nil {
		return j.closer.Close()
	}
	return nil
}

// TreeHeld is how many spans a Tree holds, by default, to draw traces in
// order of their start.
const TreeHeld = 2000

// Tree renders traces as text waterfalls. Batches are collected and drawn
// together, in order of their start, on Close or once more than MaxHeld
// spans are held (then those held are drawn, and the next ones after
// them), so a trace whose late spans came in a second batch is drawn
// whole (replay); live tree output uses Stream instead.
type Tree struct {
	mu    sync.Mutex
	w     io.Writer
	opt   tree.Options
	spans []span.Span
	// Stream draws each batch as it comes instead of at Close.
	Stream bool
	// MaxHeld bounds the spans held (TreeHeld when zero).
	MaxHeld int
}

var _ Sink = (*Tree)(nil)

// NewTree draws to w.
func NewTree(w io.Writer, opt tree.Options) *Tree { return &Tree{w: w, opt: opt} }

// Export implements Sink.
func (t *Tree) Export(_ context.Context, spans []span.Span) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.Stream {
		return tree.RenderAll(t.w, spans, t.opt)
	}
	t.spans = append(t.spans, spans...)
	if len(t.spans) > cmp.Or(t.MaxHeld, TreeHeld) {
		err := tree.RenderAll(t.w, t.spans, t.opt)
		clear(t.spans) // drawn: kept as room for the next ones
		t.spans = t.spans[:0]
		return err
	}
	return nil
}

// Close implements Sink.
func (t *Tree) Close(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.Stream || len(t.spans) == 0 {
		return nil
	}
	return tree.RenderAll(t.w, t.spans, t.opt)
}
