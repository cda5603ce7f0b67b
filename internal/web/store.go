package web

import (
	"cmp"
	"container/list"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tree"
)

// Limits bound a Store.
type Limits struct {
	// MaxTraces is the most traces kept; zero means DefaultMaxTraces.
	MaxTraces int
	// MaxBytes bounds the estimated memory of the kept spans; zero means
	// DefaultMaxBytes.
	MaxBytes int64
}

// Default limits.
const (
	DefaultMaxTraces       = 1000
	DefaultMaxBytes  int64 = 64 << 20
)

// Store keeps the most recent traces for the viewer. It is a sink: the
// engine's goroutine writes with Export while any number of HTTP handlers
// read. Late spans of a trace it holds are merged into it. When a bound is
// exceeded, the traces stored first are evicted first (late spans do not
// make a trace younger), and evictions are counted. The trace being written
// is evicted only when it alone exceeds MaxBytes.
type Store struct {
	limits Limits

	mu      sync.RWMutex
	traces  map[span.TraceID]*list.Element // of *Trace
	fifo    *list.List                     // oldest first
	bytes   int64
	spans   int
	seq     uint64
	version uint64
	evicted Evicted
}

// Evicted counts what the bounds dropped.
type Evicted struct{ Traces, Spans int }

var _ sink.Sink = (*Store)(nil)

// NewStore makes an empty store.
func NewStore(l Limits) *Store {
	if l.MaxTraces <= 0 {
		l.MaxTraces = DefaultMaxTraces
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return &Store{limits: l, traces: make(map[span.TraceID]*list.Element), fifo: list.New()}
}

// Trace is one stored trace. It is immutable: merging late spans replaces
// it, so a reader may keep it after the store moved on.
type Trace struct {
	ID span.TraceID
	// Spans in the order they were exported (the engine's causal order).
	Spans []span.Span
	// Root is the span the tree draws first, and Object names its object
	// ("Deployment default/web").
	Root       *span.Span
	Object     string
	Start, End time.Time
	// Errors counts Warning spans.
	Errors    int
	Namespace string
	// Objects are the involved objects of the spans, each once.
	Objects []ObjectRef
	// Reasons are the reasons of the events, each once (case-insensitive).
	Reasons []string

	bytes int64
	seq   uint64 // when it was stored first
}

// ObjectRef identifies an involved object.
type ObjectRef struct{ Kind, Namespace, Name, UID string }

// Export implements sink.Sink. It copies the spans (not their attribute
// slices: an emitted span never changes).
func (s *Store) Export(_ context.Context, spans []span.Span) error {
	byTrace := make(map[span.TraceID][]span.Span, 1)
	var order []span.TraceID
	for _, sp := range spans {
		if _, ok := byTrace[sp.TraceID]; !ok {
			order = append(order, sp.TraceID)
		}
		byTrace[sp.TraceID] = append(byTrace[sp.TraceID], sp)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range order {
		s.put(id, byTrace[id])
	}
	s.version++
	return nil
}

// Close implements sink.Sink. The store stays readable.
func (s *Store) Close(context.Context) error { return nil }

func (s *Store) put(id span.TraceID, spans []span.Span) {
	el, ok := s.traces[id]
	var t *Trace
	if ok {
		old := el.Value.(*Trace)
		t = summarize(id, append(slices.Clone(old.Spans), spans...), old.seq)
		s.bytes -= old.bytes
		s.spans -= len(old.Spans)
		el.Value = t
	} else {
		s.seq++
		t = summarize(id, spans, s.seq)
		el = s.fifo.PushBack(t)
		s.traces[id] = el
	}
	s.bytes += t.bytes
	s.spans += len(t.Spans)
	for len(s.traces) > s.limits.MaxTraces || s.bytes > s.limits.MaxBytes {
		victim := s.fifo.Front()
		if victim == el {
			if victim.Next() == nil {
				s.evict(victim) // it alone is over MaxBytes
				return
			}
			victim = victim.Next()
		}
		s.evict(victim)
	}
}

func (s *Store) evict(el *list.Element) {
	t := el.Value.(*Trace)
	s.fifo.Remove(el)
	delete(s.traces, t.ID)
	s.bytes -= t.bytes
	s.spans -= len(t.Spans)
	s.evicted.Traces++
	s.evicted.Spans += len(t.Spans)
}

// Trace returns the stored trace with this ID.
func (s *Store) Trace(id span.TraceID) (*Trace, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	el, ok := s.traces[id]
	if !ok {
		return nil, false
	}
	return el.Value.(*Trace), true
}

// List returns the traces that match f, newest first: by the start of the
// trace, then the latest stored first.
func (s *Store) List(f Filter) []*Trace {
	s.mu.RLock()
	out := make([]*Trace, 0, len(s.traces))
	for el := s.fifo.Front(); el != nil; el = el.Next() {
		if t := el.Value.(*Trace); f.Match(t) {
			out = append(out, t)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Trace) int {
		return cmp.Or(b.Start.Compare(a.Start), cmp.Compare(b.seq, a.seq))
	})
	return out
}

// Stats describe the store.
type Stats struct {
	Traces, Spans int
	Bytes         int64
	Evicted       Evicted
	// Version changes whenever spans are stored.
	Version uint64
}

// Stats returns the current size and counters.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Traces: len(s.traces), Spans: s.spans, Bytes: s.bytes, Evicted: s.evicted, Version: s.version}
}

// summarize builds a Trace from its spans: what the list shows and filters
// on, computed once when stored rather than on every request.
func summarize(id span.TraceID, spans []span.Span, seq uint64) *Trace {
	t := &Trace{ID: id, Spans: spans, seq: seq}
	roots, start, end := tree.Layout(spans)
	t.Root, t.Start, t.End = roots[0].Span, start, end
	t.Object = tree.Object(t.Root)
	t.Namespace = t.Root.Attr(span.KeyNamespace)
	seen := make(map[ObjectRef]bool)
	reasons := make(map[string]bool)
	for i := range spans {
		sp := &spans[i]
		t.bytes += size(sp)
		if sp.Error {
			t.Errors++
		}
		if t.Namespace == "" {
			t.Namespace = sp.Attr(span.KeyNamespace)
		}
		if r := sp.Attr(span.KeyEventReason); r != "" && !reasons[strings.ToLower(r)] {
			reasons[strings.ToLower(r)] = true
			t.Reasons = append(t.Reasons, r)
		}
		o := objectOf(sp)
		if o != (ObjectRef{}) && !seen[o] {
			seen[o] = true
			t.Objects = append(t.Objects, o)
		}
	}
	return t
}

func objectOf(sp *span.Span) ObjectRef {
	return ObjectRef{
		Kind: sp.Attr(span.KeyObjectKind), Namespace: sp.Attr(span.KeyNamespace),
		Name: sp.Attr(span.KeyObjectName), UID: sp.Attr(span.KeyObjectUID),
	}
}

// size estimates the memory a stored span holds: its struct, its strings
// and attributes (counted as if no string were shared, so it errs high).
func size(sp *span.Span) int64 {
	const spanSize, attrSize, linkSize = 200, 64, 64
	n := spanSize + len(sp.Name) + len(sp.StatusMessage)
	for _, a := range sp.Attrs {
		n += attrSize + len(a.Key) + len(a.Str)
	}
	for _, a := range sp.Shared {
		n += attrSize + len(a.Key) + len(a.Str)
	}
	for _, l := range sp.Links {
		n += linkSize
		for _, a := range l.Attrs {
			n += attrSize + len(a.Key) + len(a.Str)
		}
	}
	return int64(n)
}
