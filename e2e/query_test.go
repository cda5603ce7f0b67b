package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
	"github.com/kspan-project/kspan/internal/tree"
)

// traceSet answers structural questions about exported spans.
type traceSet struct {
	t     *testing.T
	spans []span.Span
	byID  map[[2]string]*span.Span
}

func newTraceSet(t *testing.T, spans []span.Span) *traceSet {
	ts := &traceSet{t: t, spans: spans, byID: map[[2]string]*span.Span{}}
	for i := range spans {
		s := &spans[i]
		ts.byID[[2]string{s.TraceID.String(), s.SpanID.String()}] = s
	}
	return ts
}

// dump draws every trace, for failure messages.
func (ts *traceSet) dump() string {
	var b strings.Builder
	_ = tree.RenderAll(&b, ts.spans, tree.Options{Width: 160})
	return b.String()
}

func (ts *traceSet) fail(format string, a ...any) {
	ts.t.Helper()
	ts.t.Fatalf("%s\n%s", fmt.Sprintf(format, a...), ts.dump())
}

// check applies the structural checks every trace must pass.
func (ts *traceSet) check(evs []*record.Event) {
	ts.t.Helper()
	if bad := tracecheck.Check(ts.spans, evs); len(bad) > 0 {
		ts.fail("trace check:\n  %s", strings.Join(bad, "\n  "))
	}
}

// where returns the event spans matching reason (exact, "" for any) and a
// message containing msg.
func (ts *traceSet) where(reason, msg string) []span.Span {
	var out []span.Span
	for _, s := range ts.spans {
		if s.Attr(span.KeyEventUID) == "" {
			continue
		}
		if (reason == "" || s.Attr(span.KeyEventReason) == reason) && strings.Contains(s.Attr(span.KeyEventMessage), msg) {
			out = append(out, s)
		}
	}
	return out
}

// one returns the single span matching; it fails otherwise.
func (ts *traceSet) one(reason, msg string) span.Span {
	ts.t.Helper()
	got := ts.where(reason, msg)
	if len(got) != 1 {
		ts.fail("want one %s span with message containing %q, got %d", reason, msg, len(got))
	}
	return got[0]
}

func (ts *traceSet) parent(s span.Span) (span.Span, bool) {
	p, ok := ts.byID[[2]string{s.TraceID.String(), s.Parent.String()}]
	if !ok {
		return span.Span{}, false
	}
	return *p, true
}

func (ts *traceSet) root(s span.Span) span.Span {
	for i := 0; i < 100; i++ {
		p, ok := ts.parent(s)
		if !ok {
			return s
		}
		s = p
	}
	return s
}

func (ts *traceSet) descends(s, ancestor span.Span) bool {
	for i := 0; i < 100; i++ {
		p, ok := ts.parent(s)
		if !ok {
			return false
		}
		if p.TraceID == ancestor.TraceID && p.SpanID == ancestor.SpanID {
			return true
		}
		s = p
	}
	return false
}

// mustDescend fails unless every span in ss descends from ancestor.
func (ts *traceSet) mustDescend(ss []span.Span, ancestor span.Span) {
	ts.t.Helper()
	for _, s := range ss {
		if !ts.descends(s, ancestor) {
			ts.fail("%s %q does not descend from %s %q", s.Name, s.Attr(span.KeyEventMessage), ancestor.Name, ancestor.Attr(span.KeyEventMessage))
		}
	}
}

// onObject returns the event spans on the named object.
func (ts *traceSet) onObject(kind, name string) []span.Span {
	var out []span.Span
	for _, s := range ts.spans {
		if s.Attr(span.KeyEventUID) != "" && s.Attr(span.KeyObjectKind) == kind && s.Attr(span.KeyObjectName) == name {
			out = append(out, s)
		}
	}
	return out
}

// reasons lists the reasons of spans, sorted.
func reasons(ss []span.Span) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Attr(span.KeyEventReason))
	}
	slices.Sort(out)
	return out
}

// podLifecycle checks that a running pod's kubelet and scheduler events are
// all there and descend from the controller event that created it.
func (ts *traceSet) podLifecycle(pod string, creator span.Span) {
	ts.t.Helper()
	evs := ts.onObject("Pod", pod)
	have := map[string]bool{}
	for _, s := range evs {
		have[s.Attr(span.KeyEventReason)] = true
	}
	for _, r := range []string{"Scheduled", "Pulling", "Pulled", "Created", "Started"} {
		if !have[r] {
			ts.fail("pod %s has no %s span (has %v)", pod, r, reasons(evs))
		}
	}
	var life []span.Span
	for _, s := range evs {
		if s.Attr(span.KeyEventReason) != "Killing" {
			life = append(life, s)
		}
	}
	ts.mustDescend(life, creator)
}

func traceIDs(ss []span.Span) map[span.TraceID]bool {
	m := map[span.TraceID]bool{}
	for _, s := range ss {
		m[s.TraceID] = true
	}
	return m
}
