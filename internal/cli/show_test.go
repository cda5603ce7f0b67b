package cli

import (
	"context"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/live"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		args []string
		want target
		ok   bool
	}{
		{[]string{"deploy/web"}, target{"deploy", "web"}, true},
		{[]string{"deployments.apps/web"}, target{"deployments.apps", "web"}, true},
		{[]string{"sts", "db"}, target{"sts", "db"}, true},
		{[]string{"web"}, target{}, false},
		{[]string{"deploy/"}, target{}, false},
		{[]string{"deploy/a/b"}, target{}, false},
		{nil, target{}, false},
		{[]string{"a/b", "c"}, target{}, false},
	} {
		got, err := parseTarget(c.args)
		if (err == nil) != c.ok || c.ok && got != c.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v, ok %v", c.args, got, err, c.want, c.ok)
		}
	}
}

func TestRecentRecords(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ev := func(first, last time.Duration) record.Record {
		return record.Record{Event: &record.Event{First: now.Add(first), Last: now.Add(last)}}
	}
	recs := []record.Record{ev(-3*time.Hour, -2*time.Hour), ev(-3*time.Hour, -time.Minute), ev(-time.Minute, -time.Minute), {Object: &record.Object{Name: "web"}}}
	kept, dropped := recentRecords(recs, now.Add(-time.Hour))
	if dropped != 1 || len(kept) != 3 || kept[2].Object == nil {
		t.Errorf("kept %d, dropped %d; want 3 (a repeat still recent, a recent Event, the object) and 1", len(kept), dropped)
	}
}

// A trace is passed on whole, late spans too, once one span involves the
// object: by the owner UID its spans carry, or by name when it is gone.
func TestObjectTraces(t *testing.T) {
	var got []span.Span
	next := exportFunc(func(s []span.Span) { got = append(got, s...) })
	mk := func(tr byte, attrs ...span.Attr) span.Span {
		return span.Span{TraceID: span.TraceID{tr}, Attrs: attrs}
	}
	o := &objectTraces{next: next, obj: live.ObjectRef{Kind: "Deployment", Namespace: "ns", Name: "web", UID: "d1"}, keep: map[span.TraceID]bool{}}
	_ = o.Export(context.Background(), []span.Span{
		mk(1, span.Str("k8s.deployment.uid", "d1")), mk(1), // web's trace, whole
		mk(2, span.Str("k8s.deployment.uid", "d2"), span.Str("k8s.deployment.name", "web")), // another web (recreated)
		mk(3),
	})
	_ = o.Export(context.Background(), []span.Span{mk(1), mk(3)}) // a late span of web's trace
	if len(got) != 3 || o.spans != 3 {
		t.Errorf("passed %d spans, want 3 (trace 1's)", len(got))
	}
	gone := &objectTraces{next: next, obj: live.ObjectRef{Kind: "Deployment", Namespace: "ns", Name: "web"}, keep: map[span.TraceID]bool{}}
	got = nil
	_ = gone.Export(context.Background(), []span.Span{
		mk(2, span.Str("k8s.deployment.name", "web"), span.Str(span.KeyNamespace, "ns")),
		mk(4, span.Str("k8s.deployment.name", "web"), span.Str(span.KeyNamespace, "other")),
	})
	if len(got) != 1 || got[0].TraceID[0] != 2 {
		t.Errorf("gone object: passed %v, want trace 2 alone", got)
	}
}

type exportFunc func([]span.Span)

func (f exportFunc) Export(_ context.Context, s []span.Span) error { f(s); return nil }
func (f exportFunc) Close(context.Context) error                   { return nil }
