package tracecheck

import (
	"strconv"
	"time"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// stream builds a recording: records in observation order, each stored at
// the next resourceVersion.
type stream struct {
	t0   time.Time
	rv   uint64
	recs []record.Record
	evs  map[string]*record.Event
}

func newStream() *stream {
	return &stream{t0: time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC), rv: 100, evs: map[string]*record.Event{}}
}

func (s *stream) at(sec float64) time.Time {
	return s.t0.Add(time.Duration(sec * float64(time.Second)))
}

func (s *stream) next() string { s.rv++; return strconv.FormatUint(s.rv, 10) }

// obj records a state of an object seen at sec; owner is "Kind/name/uid".
func (s *stream) obj(sec float64, kind, name, uid string, gen int64, owner *record.OwnerRef, created float64) *record.Object {
	o := &record.Object{Kind: kind, Namespace: "ns", Name: name, UID: uid, ResourceVersion: s.next(),
		Generation: gen, Created: s.at(created).Truncate(time.Second)}
	if owner != nil {
		o.Owners = []record.OwnerRef{*owner}
	}
	s.recs = append(s.recs, record.Record{Observed: s.at(sec), Object: o})
	return o
}

// deleting records the state in which the object's deletion began.
func (s *stream) deleting(sec float64, o *record.Object) {
	c := *o
	c.ResourceVersion, c.Deleting = s.next(), s.at(sec).Truncate(time.Second)
	s.recs = append(s.recs, record.Record{Observed: s.at(sec), Object: &c})
}

// gone records the object's deletion.
func (s *stream) gone(sec float64, o *record.Object) {
	c := *o
	c.ResourceVersion = s.next()
	s.recs = append(s.recs, record.Record{Observed: s.at(sec), Op: record.Delete, Object: &c})
}

// ev records an Event state at sec; the same uid again is a repeat.
func (s *stream) ev(sec float64, uid string, on *record.Object, reason, msg string) *record.Event {
	e := &record.Event{UID: uid, Namespace: "ns", Name: uid, ResourceVersion: s.next(),
		Regarding: record.Ref{Kind: on.Kind, Namespace: "ns", Name: on.Name, UID: on.UID},
		Reason:    reason, Message: msg, Type: "Normal", Count: 1, First: s.at(sec), Last: s.at(sec)}
	if prev := s.evs[uid]; prev != nil {
		e.Count, e.First = prev.Count+1, prev.First
	}
	s.evs[uid] = e
	s.recs = append(s.recs, record.Record{Observed: s.at(sec + 0.001), Event: e})
	return e
}

func ownerRef(o *record.Object) *record.OwnerRef {
	return &record.OwnerRef{Kind: o.Kind, Name: o.Name, UID: o.UID, Controller: true}
}

// traces builds spans as an engine would export them.
type traces struct {
	spans []span.Span
	t0    time.Time
}

// root adds a synthetic root span for a change (or deletion, name
// "Kind.Delete") of an object and returns its trace and ID.
func (ts *traces) root(name string, o *record.Object, gen int64, episode int64) (span.TraceID, span.ID) {
	tr := span.TraceIDFor(o.UID, gen, episode)
	id := span.IDFor("root", name, o.UID, strconv.FormatInt(gen, 10))
	attrs := []span.Attr{span.Boolean(span.KeySynthetic, true), span.Str(span.KeyNamespace, o.Namespace),
		span.Str(span.KeyObjectKind, o.Kind), span.Str(span.KeyObjectName, o.Name), span.Str(span.KeyObjectUID, o.UID)}
	if gen > 0 {
		attrs = append(attrs, span.Int64(span.KeyObjectGeneration, gen))
	}
	ts.spans = append(ts.spans, span.Span{TraceID: tr, SpanID: id, Name: name, Start: ts.t0, End: ts.t0, Attrs: attrs})
	return tr, id
}

// event adds the span of an Event state's occurrence under parent.
func (ts *traces) event(tr span.TraceID, parent span.ID, e *record.Event) span.ID {
	id := occID(e)
	ts.spans = append(ts.spans, span.Span{TraceID: tr, SpanID: id, Parent: parent, Name: e.Regarding.Kind + "." + e.Reason,
		Start: e.Last, End: e.Last, Attrs: []span.Attr{
			span.Str(span.KeyEventUID, e.UID), span.Str(span.KeyEventReason, e.Reason),
			span.Int64(span.KeyEventCount, int64(e.Count)), span.Str(span.KeyEventMessage, e.Message),
			span.Str(span.KeyNamespace, e.Regarding.Namespace), span.Str(span.KeyObjectKind, e.Regarding.Kind),
			span.Str(span.KeyObjectName, e.Regarding.Name), span.Str(span.KeyObjectUID, e.Regarding.UID)}})
	return id
}

func occID(e *record.Event) span.ID { return span.IDFor(e.UID, strconv.Itoa(int(e.Count))) }
