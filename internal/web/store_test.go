package web

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

var t0 = time.Date(2026, 11, 23, 17, 38, 8, 0, time.UTC)

// trace makes a trace of n spans: a root and n-1 children, starting at
// t0+start seconds.
func trace(name string, start, n int) []span.Span {
	tid := span.TraceIDFor(name, 1)
	root := span.Span{TraceID: tid, SpanID: span.IDFor(name), Name: "Deployment.Update",
		Start: t0.Add(time.Duration(start) * time.Second), End: t0.Add(time.Duration(start+n) * time.Second),
		Attrs: []span.Attr{span.Str(span.KeyObjectKind, "Deployment"), span.Str(span.KeyObjectName, name), span.Str(span.KeyNamespace, "default")}}
	out := []span.Span{root}
	for i := 1; i < n; i++ {
		out = append(out, child(root, fmt.Sprint(i), start+i))
	}
	return out
}

func child(parent span.Span, id string, at int) span.Span {
	return span.Span{TraceID: parent.TraceID, SpanID: span.IDFor(parent.SpanID.String(), id), Parent: parent.SpanID,
		Name: "Pod.Started", Start: t0.Add(time.Duration(at) * time.Second), End: t0.Add(time.Duration(at) * time.Second),
		Attrs: []span.Attr{span.Str(span.KeyEventReason, "Started"), span.Str(span.KeyObjectKind, "Pod"), span.Str(span.KeyObjectName, "p-"+id)}}
}

func export(t *testing.T, s sink.Sink, spans []span.Span) {
	t.Helper()
	if err := s.Export(t.Context(), spans); err != nil {
		t.Fatal(err)
	}
}

func names(ts []*Trace) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Root.Attr(span.KeyObjectName))
	}
	return out
}

func TestStoreEvictsOldestByCount(t *testing.T) {
	st := NewStore(Limits{MaxTraces: 3})
	for i, n := range []string{"a", "b", "c", "d", "e"} {
		export(t, st, trace(n, i, 2))
	}
	if got, want := names(st.List(Filter{})), []string{"e", "d", "c"}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v (newest first)", got, want)
	}
	if _, ok := st.Trace(span.TraceIDFor("a", 1)); ok {
		t.Error("the oldest trace is still there")
	}
	stats := st.Stats()
	if stats.Evicted != (Evicted{Traces: 2, Spans: 4}) || stats.Traces != 3 || stats.Spans != 6 {
		t.Errorf("stats %+v", stats)
	}
}

func TestStoreEvictsByBytes(t *testing.T) {
	one := trace("a", 0, 10)
	var per int64
	for i := range one {
		per += size(&one[i])
	}
	st := NewStore(Limits{MaxBytes: 2*per + per/2})
	for i, n := range []string{"a", "b", "c"} {
		export(t, st, trace(n, i, 10))
	}
	if got, want := names(st.List(Filter{})), []string{"c", "b"}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if s := st.Stats(); s.Bytes > 2*per+per/2 || s.Evicted.Traces != 1 {
		t.Errorf("stats %+v, bound %d", s, 2*per+per/2)
	}
	// A trace larger than the whole budget is not kept, and is counted.
	export(t, st, trace("huge", 9, 40))
	if s := st.Stats(); s.Traces != 0 || s.Bytes != 0 || s.Evicted.Traces != 4 {
		t.Errorf("after a trace over the budget: %+v", s)
	}
}

func TestStoreMergesLateSpans(t *testing.T) {
	a := trace("a", 0, 2)
	st := NewStore(Limits{MaxTraces: 2})
	export(t, st, a)
	export(t, st, trace("b", 1, 2))
	export(t, st, []span.Span{child(a[0], "late", 5)})
	got, ok := st.Trace(a[0].TraceID)
	if !ok || len(got.Spans) != 3 || st.Stats().Spans != 5 {
		t.Fatalf("late span not merged: %+v", got)
	}
	// Late spans do not make a trace younger: a is still evicted first.
	export(t, st, trace("c", 2, 2))
	if got, want := names(st.List(Filter{})), []string{"c", "b"}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
}

func TestStoreNeverEvictsTheTraceBeingMerged(t *testing.T) {
	a, b := trace("a", 0, 4), trace("b", 1, 4)
	var bytes int64
	for _, ss := range [][]span.Span{a, b} {
		for i := range ss {
			bytes += size(&ss[i])
		}
	}
	st := NewStore(Limits{MaxBytes: bytes})
	export(t, st, a)
	export(t, st, b)
	export(t, st, []span.Span{child(a[0], "late", 9)}) // over budget: b goes, not a
	if got, want := names(st.List(Filter{})), []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if tr, _ := st.Trace(a[0].TraceID); len(tr.Spans) != 5 {
		t.Errorf("a has %d spans, want 5", len(tr.Spans))
	}
}

// Readers (the HTTP handlers) and the engine's writer run at once; run
// with -race to make this meaningful.
func TestStoreConcurrentReadsAndWrites(t *testing.T) {
	st := NewStore(Limits{MaxTraces: 50})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				for _, tr := range st.List(Filter{Kind: "pod"}) {
					if got, ok := st.Trace(tr.ID); ok {
						_ = newTraceView(st, got)
					}
				}
				_ = newListView(st, Filter{}, true)
			}
		})
	}
	for i := range 500 {
		tr := trace(fmt.Sprint("t", i), i, 3)
		export(t, st, tr)
		export(t, st, []span.Span{child(tr[0], "late", i+4)})
	}
	cancel()
	wg.Wait()
	if s := st.Stats(); s.Traces != 50 || s.Evicted.Traces != 450 || s.Spans != 200 {
		t.Errorf("stats %+v", s)
	}
}

func TestFilterMatch(t *testing.T) {
	tr := trace("web", 0, 3)
	tr[1].Error = true
	tr[2].Attrs = append(slices.Clone(tr[2].Attrs[1:]), span.Str(span.KeyObjectUID, "uid-2"), span.Str(span.KeyEventReason, "BackOff"))
	sum := summarize(tr[0].TraceID, tr, 1)
	for _, tc := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Namespace: "default"}, true},
		{Filter{Namespace: "Default"}, false},
		{Filter{Kind: "pod"}, true},
		{Filter{Kind: "Deployment", Name: "WE"}, true},
		{Filter{Kind: "Deployment", Name: "p-1"}, false}, // kind and name of one object
		{Filter{Kind: "Pod", Name: "p-1"}, true},
		{Filter{UID: "uid-2"}, true},
		{Filter{UID: "uid-2", Name: "p-1"}, false},
		{Filter{Reason: "backoff"}, true},
		{Filter{Reason: "Killing"}, false},
		{Filter{Errors: true}, true},
	} {
		if got := tc.f.Match(sum); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
	}
	if sum2 := summarize(tr[0].TraceID, tr[:1], 1); (Filter{Errors: true}).Match(sum2) {
		t.Error("a trace without warnings passed errors=1")
	}
}
