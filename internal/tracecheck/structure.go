package tracecheck

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// Check returns one line per violated structural property; none means the
// traces pass. events are the Events the spans were made from (any states;
// only UIDs, kinds, reasons and messages are read). Whether each span has the
// right parent is Causes' question.
func Check(spans []span.Span, events []*record.Event) []string {
	var bad []string
	badf := func(f string, a ...any) { bad = append(bad, fmt.Sprintf(f, a...)) }

	type key struct {
		tr span.TraceID
		id span.ID
	}
	byID := map[key]*span.Span{}
	for i := range spans {
		s := &spans[i]
		k := key{s.TraceID, s.SpanID}
		if _, dup := byID[k]; dup {
			badf("span %s/%s (%s) exported twice", s.TraceID, s.SpanID, s.Name)
		}
		byID[k] = s
		// OpenTelemetry: attribute keys are unique within a span.
		all := s.AllAttrs()
		for j, a := range all {
			if slices.ContainsFunc(all[:j], func(b span.Attr) bool { return b.Key == a.Key }) {
				badf("span %s (%s) has attribute %s twice", s.SpanID, s.Name, a.Key)
				break
			}
		}
	}

	// Every event has a span; no (uid, count) twice; Warning is ERROR.
	occ := map[string]int{}
	has := map[string]bool{}
	for i := range spans {
		s := &spans[i]
		uid := s.Attr(span.KeyEventUID)
		if uid == "" {
			continue
		}
		has[uid] = true
		c := attrInt(s, span.KeyEventCount)
		occ[uid+"/"+strconv.FormatInt(c, 10)]++
		if s.Attr(span.KeyEventType) == "Warning" && !s.Error {
			badf("Warning event %s (%s) is not ERROR", uid, s.Name)
		}
	}
	for k, n := range occ {
		if n > 1 {
			badf("occurrence %s has %d spans", k, n)
		}
	}
	for _, ev := range events {
		if !has[ev.UID] {
			badf("event %s %s.%s %q has no span", ev.UID, ev.Regarding.Kind, ev.Reason, ev.Message)
		}
	}

	// Parents exist, start no later than children; one root per trace.
	roots := map[span.TraceID]int{}
	for i := range spans {
		s := &spans[i]
		if s.Parent.IsZero() {
			roots[s.TraceID]++
			continue
		}
		p, ok := byID[key{s.TraceID, s.Parent}]
		if !ok {
			badf("span %s (%s) has parent %s missing from trace %s", s.SpanID, s.Name, s.Parent, s.TraceID)
			roots[s.TraceID] += 0
			continue
		}
		if p.Start.After(s.Start) {
			badf("parent %s (%s) starts after child %s (%s)", p.SpanID, p.Name, s.SpanID, s.Name)
		}
	}
	for i := range spans {
		if n := roots[spans[i].TraceID]; n != 1 {
			badf("trace %s has %d roots", spans[i].TraceID, n)
			roots[spans[i].TraceID] = 1 // report once
		}
	}

	slices.Sort(bad)
	return bad
}

func attrInt(s *span.Span, k string) int64 {
	a, _ := s.Find(k)
	return a.Int
}
