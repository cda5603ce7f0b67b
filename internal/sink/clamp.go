package sink

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// Clamp is a Sink in front of every output: it clamps span times into what
// OTLP carries (span.Clamp: 1970 to 2262), so that the tree, the viewer, the
// OTLP/JSON file and the OTLP export all show the same times, counts the
// spans it changed, and warns about the first one.
type Clamp struct {
	Next Sink
	Log  *slog.Logger
	n    atomic.Uint64
}

var _ Sink = (*Clamp)(nil)

// Export implements Sink.
func (c *Clamp) Export(ctx context.Context, spans []span.Span) error {
	spans, n := span.Clamp(spans)
	if n > 0 && c.n.Add(uint64(n)) == uint64(n) && c.Log != nil {
		for i := range spans {
			if real := clampedFrom(&spans[i]); real != "" {
				c.Log.Warn("span times outside what OTLP can carry are clamped to that range (the times they had are in the kspan.clamped.* attributes; all counted as clamped_times)",
					"span", spans[i].Name, "time", real,
					"range", span.MinTime.Format(time.RFC3339)+" to "+span.MaxTime.Format(time.RFC3339))
				break
			}
		}
	}
	return c.Next.Export(ctx, spans)
}

func clampedFrom(s *span.Span) string {
	if v := s.Attr(span.KeyClampedStart); v != "" {
		return v
	}
	return s.Attr(span.KeyClampedEnd)
}

// Close implements Sink.
func (c *Clamp) Close(ctx context.Context) error { return c.Next.Close(ctx) }

// Clamped is the number of spans whose times were clamped; it may be
// called at any time.
func (c *Clamp) Clamped() uint64 { return c.n.Load() }
