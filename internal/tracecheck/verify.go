package tracecheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// Report is what Verify found.
type Report struct {
	// Violations has one line per span that disagrees with the model.
	Violations []string
	// Occurrences is the number of Event spans found in the recording.
	Occurrences int
	// Checked spans had their parent decided: one cause.
	Checked int
	// Ambiguous spans had several candidate causes the recording cannot
	// tell apart (whole-second times, objects missing); any was accepted.
	Ambiguous int
	// Uncaused spans have no cause in the model (or none the recording
	// shows): only their trace and the no-chaining rule were checked.
	Uncaused int
	// Unanchored spans are those whose trace anchor (top-level object and
	// generation) the recording cannot give: their trace was not checked
	// against the change they belong to.
	Unanchored int
	// Unrecorded spans are of occurrences the recording lacks.
	Unrecorded int
}

// Causes returns one line per span whose parent or trace disagrees with
// the causal model computed from recs alone (the whole recorded stream in
// observation order: every Event state and object state).
func Causes(spans []span.Span, recs []record.Record) []string {
	return Verify(spans, recs).Violations
}

type spanKey struct {
	tr span.TraceID
	id span.ID
}

// Verify is Causes with counts of what could be checked.
func Verify(spans []span.Span, recs []record.Record) Report {
	m := build(recs)
	v := &verifier{m: m, byID: map[spanKey]*span.Span{}, root: map[span.TraceID]*span.Span{}}
	for i := range spans {
		s := &spans[i]
		v.byID[spanKey{s.TraceID, s.SpanID}] = s
		if s.Parent.IsZero() && v.root[s.TraceID] == nil {
			v.root[s.TraceID] = s
		}
	}
	traces := map[span.TraceID][]*occurrence{}
	for i := range spans {
		s := &spans[i]
		uid := s.Attr(span.KeyEventUID)
		if uid == "" {
			continue
		}
		oc := m.occurrence(uid, attrInt(s, span.KeyEventCount))
		if oc == nil {
			v.rep.Unrecorded++
			continue
		}
		v.rep.Occurrences++
		v.parent(s, oc)
		v.trace(s, oc)
		traces[s.TraceID] = append(traces[s.TraceID], oc)
	}
	for tr, ocs := range traces {
		v.mixing(tr, ocs)
	}
	slices.Sort(v.rep.Violations)
	return v.rep
}

type verifier struct {
	m    *model
	byID map[spanKey]*span.Span
	root map[span.TraceID]*span.Span
	rep  Report
}

func (v *verifier) badf(f string, a ...any) {
	v.rep.Violations = append(v.rep.Violations, fmt.Sprintf(f, a...))
}

// parent checks a span's parent against the occurrence's cause.
func (v *verifier) parent(s *span.Span, oc *occurrence) {
	var p *span.Span
	if !s.Parent.IsZero() {
		p = v.byID[spanKey{s.TraceID, s.Parent}]
	}
	if p != nil && p.Attr(span.KeyEventUID) != "" {
		if po := v.m.occurrence(p.Attr(span.KeyEventUID), attrInt(p, span.KeyEventCount)); po != nil && po.ev.reg.UID == oc.ev.reg.UID && oc.ev.reg.UID != "" {
			v.badf("chained: %s has parent %s, an Event on the same object (an object's Events are never parents of each other)", v.m.describe(oc), describeSpan(p))
			return
		}
	}
	x := v.m.cause(oc)
	switch {
	case len(x.occs)+len(x.roots) == 0:
		v.rep.Uncaused++
		return
	case x.ambiguous():
		v.rep.Ambiguous++
	default:
		v.rep.Checked++
	}
	if p != nil && matches(p, x) {
		return
	}
	v.badf("parent: %s has parent %s; the model expects %s (%s)", v.m.describe(oc), describeSpan(p), v.m.describeExpect(x), x.rule)
}

func matches(p *span.Span, x *expect) bool {
	if uid := p.Attr(span.KeyEventUID); uid != "" {
		c := int32(attrInt(p, span.KeyEventCount))
		return slices.ContainsFunc(x.occs, func(o *occurrence) bool { return o.ev.uid == uid && o.count == c })
	}
	return isDeleteRoot(p) && slices.Contains(x.roots, p.Attr(span.KeyObjectUID))
}

func isSynthetic(s *span.Span) bool {
	a, ok := s.Find(span.KeySynthetic)
	return ok && (a.Bool || a.Str == "true")
}

func isDeleteRoot(s *span.Span) bool { return isSynthetic(s) && strings.HasSuffix(s.Name, ".Delete") }

// trace checks the trace a span is in against the occurrence's anchors.
func (v *verifier) trace(s *span.Span, oc *occurrence) {
	r := v.root[s.TraceID]
	if r == nil || !isSynthetic(r) {
		return
	}
	uid := oc.ev.reg.UID
	if isDeleteRoot(r) {
		d := r.Attr(span.KeyObjectUID)
		anc := v.m.ancestors(uid)
		if d != "" && d != uid && !slices.Contains(anc, d) && v.m.ownersKnown(uid) {
			v.badf("deletion trace: %s is in trace %s of %s, which is neither its object nor an owner of it", v.m.describe(oc), s.TraceID, describeSpan(r))
		}
		cands := append([]string{uid, d}, anc...)
		known, after := 0, false
		for _, c := range cands {
			if w := v.m.deletionStart(c); w.known() {
				known++
				after = after || before(w, oc.at) != no
			}
		}
		if known > 0 && !after {
			v.badf("deletion trace: %s is in trace %s of %s, but happened before the deletion of its object, of its owners and of %s began", v.m.describe(oc), s.TraceID, describeSpan(r), v.m.describeObj(d))
		}
		return
	}
	var as []anchor
	for _, a := range v.m.anchors(oc) {
		if a.del == "" {
			as = append(as, a)
		}
	}
	if len(as) == 0 || slices.ContainsFunc(as, func(a anchor) bool { return a.top == "" || a.gLo == 0 }) {
		v.rep.Unanchored++
	}
	if len(as) == 0 {
		return
	}
	ru := r.Attr(span.KeyObjectUID)
	g, hasGen := r.Find(span.KeyObjectGeneration)
	ok := slices.ContainsFunc(as, func(a anchor) bool {
		return (a.top == "" || ru == "" || a.top == ru) && (!hasGen || a.hasGen(g.Int))
	})
	if !ok {
		v.badf("trace: %s is in trace %s of %s; the model anchors it to %s", v.m.describe(oc), s.TraceID, describeSpan(r), v.m.describeAnchors(as))
		return
	}
	if hasGen && ru != "" {
		if first := v.m.firstSeen(ru, g.Int); first != 0 && oc.at.rvHi != 0 && oc.at.rvHi < first {
			v.badf("trace: %s was stored at resourceVersion %d, before generation %d of %s was first seen (%d), but is in its trace %s", v.m.describe(oc), oc.at.rvHi, g.Int, v.m.describeObj(ru), first, s.TraceID)
		}
	}
}

// mixing checks that one trace does not hold two anchors: two top-level
// objects or two generations of one.
func (v *verifier) mixing(tr span.TraceID, ocs []*occurrence) {
	if r := v.root[tr]; r != nil && isDeleteRoot(r) {
		return
	}
	type witness struct {
		oc *occurrence
		a  anchor
	}
	var first *witness
	var maxLo, minHi *witness
	for _, oc := range ocs {
		as := v.m.anchors(oc)
		if len(as) != 1 || as[0].del != "" || as[0].top == "" {
			continue
		}
		w := &witness{oc, as[0]}
		if first == nil {
			first = w
		} else if w.a.top != first.a.top {
			v.badf("mixed: trace %s holds changes of two top-level objects: %s (anchored to %s) and %s (anchored to %s)", tr, v.m.describe(first.oc), v.m.describeAnchors([]anchor{first.a}), v.m.describe(oc), v.m.describeAnchors(as))
			return
		}
		if w.a.gLo == 0 {
			continue
		}
		if maxLo == nil || w.a.gLo > maxLo.a.gLo {
			maxLo = w
		}
		if minHi == nil || w.a.gHi < minHi.a.gHi {
			minHi = w
		}
	}
	if maxLo != nil && maxLo.a.gLo > minHi.a.gHi {
		v.badf("mixed: trace %s holds two generations of %s: %s (generation %s) and %s (generation %s)", tr, v.m.describeObj(maxLo.a.top), v.m.describe(minHi.oc), gens(minHi.a), v.m.describe(maxLo.oc), gens(maxLo.a))
	}
}
