package correlate

import (
	"bytes"
	"slices"
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// openTrace collects the spans of a trace until it has been quiet for the
// linger time.
type openTrace struct {
	id span.TraceID
	// chunks hold its spans in order, chunkSpans each (the last may hold
	// fewer): from the engine's free chunks, so that a trace neither
	// grows a buffer from nothing nor copies it as it grows.
	chunks [][]span.Span
	chunk0 [4][]span.Span // chunks' first backing array
	n      int            // spans
	last   time.Time
	// opened is when its first span joined (for Config.MaxTraceAge).
	opened time.Time
	late   bool
	// root is the trace's synthetic root when it joined: a rollout's
	// trace waits for its outcome (see rolloutOpen).
	root *rootState
}

// flushIdxMax is the largest trace flushTrace indexes in its reused map.
const flushIdxMax = 4096

// StreamEvery is how far apart the batches of Config.Stream are at most.
const StreamEvery = 250 * time.Millisecond

// streamBatch is how many streamed spans are sent without waiting for
// StreamEvery.
const streamBatch = 1024

// emit adds a span to its open trace, or with Config.Stream to the next
// batch.
func (e *Engine) emit(tr span.TraceID, s span.Span) {
	if e.cfg.Stream {
		e.streamed = append(e.streamed, s)
		e.stats.Spans++
		if len(e.streamed) >= streamBatch {
			e.sendStreamed()
		}
		return
	}
	ot := e.open[tr]
	if ot == nil {
		ot = &openTrace{id: tr, opened: e.now}
		ot.chunks = ot.chunk0[:0]
		_, ot.late = e.flushed[tr]
		e.open[tr] = ot
	}
	if ot.late {
		e.stats.LateSpans++
	}
	if k := len(ot.chunks); k == 0 || len(ot.chunks[k-1]) == chunkSpans {
		ot.chunks = append(ot.chunks, e.chunk())
	}
	c := &ot.chunks[len(ot.chunks)-1]
	*c = append(*c, s)
	ot.n++
	ot.last = e.now
	e.openSpans++
	if e.openSpans > e.cfg.MaxOpenSpans {
		var oldest *openTrace
		for _, t := range e.open {
			if t != ot && (oldest == nil || t.last.Before(oldest.last)) {
				oldest = t
			}
		}
		if oldest != nil {
			e.stats.ForcedFlushes++
			e.flushTrace(oldest)
		}
	}
}

// consume hands a batch to Config.Out, counting what it refuses.
func (e *Engine) consume(spans []span.Span) {
	if e.cfg.Out == nil {
		return
	}
	if err := e.cfg.Out.Consume(spans); err != nil {
		e.stats.Refused += uint64(len(spans))
		if e.err == nil {
			e.err = err
		}
	}
}

// Err is the first error Config.Out returned, or nil.
func (e *Engine) Err() error { return e.err }

// sendStreamed sends the streamed spans, one batch per trace, in the order
// they were decided.
func (e *Engine) sendStreamed() {
	b := e.streamed
	e.streamed = b[:0]
	e.nextStream = addNanos(e.nowNS, StreamEvery)
	if len(b) == 0 || e.cfg.Out == nil {
		return
	}
	// Grouped by trace in trace ID order, each trace's spans in the order
	// decided: a stable sort of their indices, then one copy of each span
	// (sorting the spans themselves moves each many times).
	idx := e.streamIdx[:0]
	for i := range b {
		idx = append(idx, int32(i))
	}
	slices.SortStableFunc(idx, func(x, y int32) int { return bytes.Compare(b[x].TraceID[:], b[y].TraceID[:]) })
	out := e.streamOut[:0]
	for _, i := range idx {
		out = append(out, b[i])
	}
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].TraceID == out[i].TraceID {
			j++
		}
		e.consume(out[i:j])
		i = j
	}
	clear(b)
	clear(out)
	e.streamIdx, e.streamOut = idx, out[:0]
}

// flushDue exports traces quiet for the linger time (all when forced), in
// order of their first span's start, then trace ID.
func (e *Engine) flushDue(all bool) {
	if !all && e.nowNS < e.nextFlush {
		return
	}
	every := e.cfg.Linger
	if a := e.cfg.MaxTraceAge; a > 0 && a < every {
		every = a
	}
	e.nextFlush = addNanos(e.nowNS, every/4)
	var due []*openTrace
	for _, t := range e.open {
		quiet := !e.now.Before(t.last.Add(e.cfg.Linger))
		if quiet && e.rolloutOpen(t.root) && e.now.Before(t.opened.Add(e.cfg.MaxRolloutWait)) {
			quiet = false // waits for the rollout's outcome
		}
		if all || quiet || e.cfg.MaxTraceAge > 0 && !e.now.Before(t.opened.Add(e.cfg.MaxTraceAge)) {
			due = append(due, t)
		}
	}
	slices.SortFunc(due, func(a, b *openTrace) int {
		if c := a.chunks[0][0].Start.Compare(b.chunks[0][0].Start); c != 0 {
			return c
		}
		return slices.Compare(a.id[:], b.id[:])
	})
	for _, t := range due {
		e.flushTrace(t)
	}
}

// flushTrace stretches every parent to cover its children and exports the
// trace. Parents always precede their children.
func (e *Engine) flushTrace(t *openTrace) {
	spans := t.chunks[0]
	if len(t.chunks) > 1 {
		spans = e.flushBuf[:0]
		for _, c := range t.chunks {
			spans = append(spans, c...)
		}
	}
	// The span index is built here, in one map the engine reuses, rather
	// than grown with each trace; a very large trace gets its own, so that
	// clearing the shared one stays cheap.
	idx := e.flushIdx
	if len(spans) > flushIdxMax {
		idx = make(map[span.ID]int, len(spans))
	}
	clear(idx)
	for i := range spans {
		idx[spans[i].SpanID] = i
	}
	for i := len(spans) - 1; i >= 0; i-- {
		s := &spans[i]
		if pi, ok := idx[s.Parent]; ok && pi < i {
			p := &spans[pi]
			if s.End.After(p.End) {
				p.End = s.End
			}
			if s.Start.Before(p.Start) {
				p.Start = s.Start
			}
		}
	}
	if st := t.root; st != nil && st.rollout {
		if i, ok := idx[st.id]; ok {
			e.markOutcome(st, &spans[i])
			// It lasts to the outcome, and covers what the change
			// caused after it (a superseded rollout's last pods).
			if st.settled && spans[i].End.Before(st.end) {
				spans[i].End = st.end
			}
		}
	}
	delete(e.open, t.id)
	e.openSpans -= t.n
	e.flushed[t.id] = e.now
	e.stats.Spans += uint64(t.n)
	e.consume(spans) // Out does not retain the slice
	for _, c := range t.chunks {
		e.freeChunk(c)
	}
	if len(t.chunks) > 1 {
		clear(spans) // the spans' strings and attributes may go
		if cap(spans) <= flushBufMax {
			e.flushBuf = spans[:0]
		} else {
			e.flushBuf = nil
		}
	}
	clear(t.chunks)
}

// chunkSpans is the capacity of an open trace's chunk of spans.
const chunkSpans = 16

// freeChunksMax bounds the chunks kept for reuse (8192 spans' worth), and
// flushBufMax the buffer a trace of several chunks is exported from.
const (
	freeChunksMax = 512
	flushBufMax   = 8192
)

// chunk returns an empty chunk, one an exported trace left if any.
func (e *Engine) chunk() []span.Span {
	n := len(e.freeChunks)
	if n == 0 {
		return make([]span.Span, 0, chunkSpans)
	}
	c := e.freeChunks[n-1]
	e.freeChunks[n-1] = nil
	e.freeChunks = e.freeChunks[:n-1]
	return c
}

func (e *Engine) freeChunk(c []span.Span) {
	if len(e.freeChunks) >= freeChunksMax {
		return
	}
	clear(c) // the spans' strings and attributes may go
	e.freeChunks = append(e.freeChunks, c[:0])
}
