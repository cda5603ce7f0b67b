package correlate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// scenario builds records by hand.
type scenario struct {
	recs   []record.Record
	events []*record.Event
	n      int
}

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func (s *scenario) obj(kind, ns, name, uid string, gen int64, created float64, owner *record.OwnerRef) *record.Object {
	o := &record.Object{APIVersion: "v1", Kind: kind, Namespace: ns, Name: name, UID: uid, Generation: gen,
		Created: at(created), SpecTime: at(created), SpecManager: "kubectl", SpecOperation: "Update"}
	if owner != nil {
		o.Owners = []record.OwnerRef{*owner}
		o.OwnerManager = "kube-controller-manager"
		o.SpecManager = "kube-controller-manager"
	}
	s.recs = append(s.recs, record.Record{Object: o})
	return o
}

func ctl(kind, name, uid string) *record.OwnerRef {
	return &record.OwnerRef{Kind: kind, Name: name, UID: uid, Controller: true}
}

// ev adds an event occurrence on kind/name (uid) at sec seconds after t0.
// Coarse events get whole-second times.
func (s *scenario) ev(kind, name, uid, reason, msg string, sec float64, mods ...func(*record.Event)) *record.Event {
	s.n++
	e := &record.Event{
		UID: fmt.Sprintf("ev-%03d", s.n), Namespace: "default", Name: fmt.Sprintf("%s.%03d", name, s.n), API: "v1",
		Regarding: record.Ref{Kind: kind, Namespace: "default", Name: name, UID: uid},
		Reason:    reason, Message: msg, Type: "Normal", Count: 1, Coarse: true,
		First: at(sec).Truncate(time.Second), Last: at(sec).Truncate(time.Second),
	}
	for _, m := range mods {
		m(e)
	}
	if kind == "Node" || kind == "Namespace" {
		e.Regarding.Namespace = ""
	}
	s.events = append(s.events, e)
	s.recs = append(s.recs, record.Record{Observed: at(sec), Event: e})
	return e
}

func precise(e *record.Event) {
	e.Coarse = false
	e.First = e.First.Add(300 * time.Millisecond)
	e.Last = e.First
}
func warning(e *record.Event) { e.Type = "Warning" }

// run feeds the records in the given order, advancing the clock by their
// observed times, and returns every exported span.
func run(t *testing.T, cfg Config, recs []record.Record) []span.Span {
	t.Helper()
	var out []span.Span
	cfg.Out = ConsumerFunc(func(b []span.Span) error { out = append(out, b...); return nil })
	e := New(cfg)
	now := t0
	for _, r := range recs {
		if r.Observed.After(now) {
			now = r.Observed
		}
		e.Add(r, now)
	}
	e.Flush()
	return out
}

// dump is a canonical text form of spans: sorted, independent of output order.
func dump(spans []span.Span) string {
	lines := make([]string, 0, len(spans))
	for _, s := range spans {
		lines = append(lines, fmt.Sprintf("%s %s<-%s %s %s..%s %q err=%v", s.TraceID, s.SpanID, s.Parent, s.Name,
			s.Start.Format("15:04:05.000"), s.End.Format("15:04:05.000"), s.Attr(span.KeyEventMessage), s.Error))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func mustPass(t *testing.T, spans []span.Span, events []*record.Event) {
	t.Helper()
	if bad := tracecheck.Check(spans, events); len(bad) > 0 {
		t.Errorf("trace check failed:\n  %s\n%s", strings.Join(bad, "\n  "), dump(spans))
	}
}

// find returns the span whose message (or name, for synthetic spans) is m.
func find(t *testing.T, spans []span.Span, m string) span.Span {
	t.Helper()
	for _, s := range spans {
		if s.Attr(span.KeyEventMessage) == m || (s.Attr(span.KeyEventUID) == "" && s.Name == m) {
			return s
		}
	}
	t.Fatalf("no span %q in\n%s", m, dump(spans))
	return span.Span{}
}

func parentOf(t *testing.T, spans []span.Span, s span.Span) span.Span {
	t.Helper()
	for _, p := range spans {
		if p.TraceID == s.TraceID && p.SpanID == s.Parent {
			return p
		}
	}
	t.Fatalf("parent of %s not found", s.Name)
	return span.Span{}
}

func traces(spans []span.Span) int {
	ids := map[span.TraceID]bool{}
	for _, s := range spans {
		ids[s.TraceID] = true
	}
	return len(ids)
}

// permutations checks that shuffled arrival (with the clock at the latest
// observed time, and a hold covering the disorder) gives the same spans.
func permutations(t *testing.T, cfg Config, recs []record.Record, n int) {
	t.Helper()
	want := dump(run(t, cfg, recs))
	cfg.Hold = time.Hour
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		p := slices.Clone(recs)
		rng.Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
		if got := dump(run(t, cfg, p)); got != want {
			t.Fatalf("permutation %d differs:\n--- in order\n%s\n--- shuffled\n%s", i, want, got)
		}
	}
}
