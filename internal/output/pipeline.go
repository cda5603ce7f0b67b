package output

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/kspan-project/kspan/internal/export"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// Recorder records delivered spans: the restart checkpoint. It must be
// safe for concurrent use (the exporter delivers from its own goroutine)
// and must not keep the slice.
type Recorder interface {
	Delivered(spans []span.Span, at time.Time)
}

// Parts are what a Pipeline is built from.
type Parts struct {
	// Writer is the -o output (the tree or OTLP/JSON); required.
	Writer sink.Sink
	// OTLP, when set, configures the OTLP exporter; its Delivered hook is
	// the Pipeline's.
	OTLP *export.Config
	// Viewer, when set, keeps the spans for the web viewer.
	Viewer sink.Sink
}

// Pipeline hands each batch of spans to its parts. Export is called from
// one goroutine at a time (sink.Sink's contract).
type Pipeline struct {
	writer   sink.Sink
	exporter *export.Exporter
	viewer   sink.Sink
	// observe, when set, is told of every batch handed on (metrics).
	observe  func(spans []span.Span, at time.Time)
	recorder atomic.Pointer[recorderRef]
}

type recorderRef struct{ r Recorder }

var _ sink.Sink = (*Pipeline)(nil)

// New builds a Pipeline, starting the OTLP exporter when parts.OTLP is
// set. On an error the writer is closed.
func New(ctx context.Context, parts Parts) (*Pipeline, error) {
	p := &Pipeline{writer: parts.Writer, viewer: parts.Viewer}
	if parts.OTLP != nil {
		x := *parts.OTLP
		x.Delivered = p.exporterDelivered
		e, err := export.New(ctx, x)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("starting the otlp exporter: %w", err), parts.Writer.Close(ctx))
		}
		p.exporter = e
	}
	return p, nil
}

// Observe sets the function told of every batch handed on, with the time
// (the metrics); it must not block or keep the slice. Call it before the
// first Export.
func (p *Pipeline) Observe(f func(spans []span.Span, at time.Time)) { p.observe = f }

// Record sets the recorder of delivered spans (nil: none). It may be
// called while spans flow: a replica records from when it leads.
func (p *Pipeline) Record(r Recorder) {
	if r == nil {
		p.recorder.Store(nil)
		return
	}
	p.recorder.Store(&recorderRef{r})
}

// Exporter is the OTLP exporter, or nil.
func (p *Pipeline) Exporter() *export.Exporter { return p.exporter }

// Export implements sink.Sink: every part gets the batch. Without an
// exporter the batch is delivered once the writer took it.
func (p *Pipeline) Export(ctx context.Context, spans []span.Span) error {
	if p.observe != nil {
		p.observe(spans, time.Now())
	}
	werr := p.writer.Export(ctx, spans)
	var errs []error
	errs = append(errs, werr)
	if p.viewer != nil {
		errs = append(errs, p.viewer.Export(ctx, spans))
	}
	if p.exporter != nil {
		errs = append(errs, p.exporter.Export(ctx, spans))
	} else if werr == nil {
		p.deliver(spans)
	}
	return errors.Join(errs...)
}

func (p *Pipeline) exporterDelivered(spans []span.Span) { p.deliver(spans) }

func (p *Pipeline) deliver(spans []span.Span) {
	if ref := p.recorder.Load(); ref != nil {
		ref.r.Delivered(spans, time.Now())
	}
}

// Close implements sink.Sink: it flushes and closes every part, the
// exporter last but for the viewer (whose store outlives a replay served
// afterwards).
func (p *Pipeline) Close(ctx context.Context) error {
	errs := []error{p.writer.Close(ctx)}
	if p.exporter != nil {
		errs = append(errs, p.exporter.Close(ctx))
	}
	if p.viewer != nil {
		errs = append(errs, p.viewer.Close(ctx))
	}
	return errors.Join(errs...)
}

// Undelivered is the error of an OTLP exporter that did not deliver every
// span it was given (rejected by the backend, dropped with the queue full,
// unsent at the shutdown deadline), with the counts: a replay that lost
// spans must not report success. Call it after Close.
func (p *Pipeline) Undelivered() error {
	if p.exporter == nil {
		return nil
	}
	st := p.exporter.Stats()
	if st.Dropped == 0 {
		return nil
	}
	return fmt.Errorf("otlp export: %d of %d spans not delivered (%d rejected by the backend, %d dropped with the queue full, %d unsent at the shutdown deadline)",
		st.Dropped, st.Sent+st.Dropped, st.DroppedRejected, st.DroppedFull, st.DroppedShutdown)
}
