package tree

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// Options control the drawing.
type Options struct {
	// Width is the terminal width in columns; no line is longer. Zero means
	// 100; anything below 40 is treated as 40.
	Width int
	// Color adds ANSI colours: bars by reporting component, warnings in red.
	// When false the output holds no escape codes at all.
	Color bool
}

const (
	defaultWidth = 100
	minWidth     = 40
)

func (o Options) width() int {
	switch {
	case o.Width == 0:
		return defaultWidth
	case o.Width < minWidth:
		return minWidth
	}
	return o.Width
}

// node is a span placed in its trace's tree.
type node struct {
	s        *span.Span
	seq      int // position in the input: the engine emits causal order
	children []*node
	// orphan marks a span whose parent is not among the spans.
	orphan bool
	done   bool
}

// trace is one trace's spans arranged for drawing.
type trace struct {
	// roots are spans without a parent first, then orphans.
	roots      []*node
	nodes      []*node
	start, end time.Time
}

// Render draws the spans of one trace. The spans may come in any order.
// Spans whose parent is missing are drawn as extra roots, marked as
// orphans. Rendering spans of several traces is an error: use RenderAll.
func Render(w io.Writer, spans []span.Span, opt Options) error {
	if len(spans) == 0 {
		return nil
	}
	for i := range spans {
		if spans[i].TraceID != spans[0].TraceID {
			return fmt.Errorf("render trace %s: span %s belongs to trace %s", spans[0].TraceID, spans[i].SpanID, spans[i].TraceID)
		}
	}
	var buf bytes.Buffer
	draw(&buf, build(spans), opt)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("render trace %s: %w", spans[0].TraceID, err)
	}
	return nil
}

// RenderAll draws every trace among spans, each followed by a blank line,
// ordered by the start of its root span and then by trace ID.
func RenderAll(w io.Writer, spans []span.Span, opt Options) error {
	// Each trace's spans side by side, in the order given (one copy, not
	// one slice grown per trace).
	sorted := slices.Clone(spans)
	slices.SortStableFunc(sorted, func(a, b span.Span) int { return bytes.Compare(a.TraceID[:], b.TraceID[:]) })
	type entry struct {
		id span.TraceID
		t  *trace
	}
	var traces []entry
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j].TraceID == sorted[i].TraceID {
			j++
		}
		traces = append(traces, entry{sorted[i].TraceID, build(sorted[i:j:j])})
		i = j
	}
	slices.SortFunc(traces, func(a, b entry) int {
		return cmp.Or(a.t.roots[0].s.Start.Compare(b.t.roots[0].s.Start), bytes.Compare(a.id[:], b.id[:]))
	})
	// Written in pieces of about writeChunk bytes: the text of thousands
	// of traces is not held.
	var buf bytes.Buffer
	for i, e := range traces {
		draw(&buf, e.t, opt)
		buf.WriteByte('\n')
		traces[i].t = nil // drawn: its nodes can go
		if buf.Len() >= writeChunk || i == len(traces)-1 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return fmt.Errorf("render traces: %w", err)
			}
			buf.Reset()
		}
	}
	return nil
}

// writeChunk is about how much text RenderAll writes at a time.
const writeChunk = 64 << 10

// build links spans of one trace (at least one) into a tree. Every span
// ends up reachable from exactly one root, even with duplicate IDs or
// parent cycles, so each is drawn once.
func build(spans []span.Span) *trace {
	t := &trace{nodes: make([]*node, len(spans))}
	ids := make(map[span.ID]*node, len(spans))
	for i := range spans {
		n := &node{s: &spans[i], seq: i}
		t.nodes[i] = n
		if _, dup := ids[n.s.SpanID]; !dup {
			ids[n.s.SpanID] = n
		}
		if t.start.IsZero() || n.s.Start.Before(t.start) {
			t.start = n.s.Start
		}
		if n.s.End.After(t.end) {
			t.end = n.s.End
		}
	}
	if t.end.Before(t.start) {
		t.end = t.start
	}
	var orphans []*node
	for _, n := range t.nodes {
		p, ok := ids[n.s.Parent]
		switch {
		case n.s.Parent.IsZero():
			t.roots = append(t.roots, n)
		case !ok:
			n.orphan = true
			orphans = append(orphans, n)
		default:
			p.children = append(p.children, n)
		}
	}
	for _, n := range t.nodes {
		slices.SortFunc(n.children, byStart)
	}
	slices.SortFunc(t.roots, byStart)
	slices.SortFunc(orphans, byStart)
	t.roots = append(t.roots, orphans...)

	// Spans in a parent cycle hang off no root. Mark what the roots reach,
	// then make the earliest unreached span an orphan root, until none is
	// left.
	for _, r := range t.roots {
		reach(r)
	}
	rest := slices.Clone(t.nodes)
	slices.SortFunc(rest, byStart)
	for _, n := range rest {
		if !n.done {
			n.orphan = true
			t.roots = append(t.roots, n)
			reach(n)
		}
	}
	for _, n := range t.nodes {
		n.done = false
	}
	return t
}

func reach(n *node) {
	if n.done {
		return
	}
	n.done = true
	for _, c := range n.children {
		reach(c)
	}
}

// byStart orders siblings by start, then by input order: spans with equal
// starts (events stamped in the same whole second) keep the order the
// engine emitted them in, which is etcd's write order.
func byStart(a, b *node) int {
	return cmp.Or(a.s.Start.Compare(b.s.Start), cmp.Compare(a.seq, b.seq))
}
