package correlate

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/kspan-project/kspan/internal/record"
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
}

// flushIdxMax is the largest trace flushTrace indexes in its reused map.
const flushIdxMax = 4096

// StreamEvery is how far apart the batches of Config.Stream are at most.
const StreamEvery = 250 * time.Millisecond

// streamBatch is how many streamed spans are sent without waiting for
// StreamEvery.
const streamBatch = 1024

func (e *Engine) eventSpan(o *occ, act *activity, parent span.ID, start, end time.Time, ch []link) span.Span {
	ev := o.ev
	s := span.Span{
		TraceID: o.trace,
		SpanID:  o.id,
		Parent:  parent,
		Name:    o.reason.name,
		Start:   start,
		End:     end,
	}
	msg := ev.Message
	if len(msg) > MaxMessage {
		msg = truncate(msg, MaxMessage)
		e.stats.Truncated++
	}
	if ev.Type == "Warning" {
		s.Error = true
		s.StatusMessage = msg
	}
	// Exactly as many attributes as the span gets (they are most of what
	// the engine allocates): 7 of the Event and up to 4 optional ones (the
	// field path is the Event's: a pod's container events name one, its
	// others none); the object's are shared.
	n := 7
	for _, v := range [...]string{ev.Action, ev.ReportingComponent, ev.ReportingInstance, ev.Regarding.FieldPath} {
		if v != "" {
			n++
		}
	}
	a := e.attrs(n)
	a = append(a,
		span.Str(span.KeyEventUID, ev.UID),
		span.Str(span.KeyEventName, ev.Name),
		span.Str(span.KeyEventReason, ev.Reason),
		span.Str(span.KeyEventType, ev.Type),
		span.Int64(span.KeyEventCount, int64(ev.Count)),
		span.Str(span.KeyEventMessage, msg),
		span.Str(span.KeyEventStartTime, e.formatTime(ev.First)))
	if ev.Action != "" {
		a = append(a, span.Str(span.KeyEventAction, ev.Action))
	}
	if ev.ReportingComponent != "" {
		a = append(a, span.Str(span.KeyEventComponent, ev.ReportingComponent))
	}
	if ev.ReportingInstance != "" {
		a = append(a, span.Str(span.KeyEventInstance, ev.ReportingInstance))
	}
	if ev.Regarding.FieldPath != "" {
		a = append(a, span.Str(span.KeyObjectFieldPath, ev.Regarding.FieldPath))
	}
	s.Attrs = a
	s.Shared = e.sharedAttrs(ev, act, ch)
	if l, ok := parseTraceparent(ev.Traceparent); ok {
		l.Attrs = []span.Attr{span.Str(span.KeyLinkSource, "traceparent")}
		s.Links = append(s.Links, l)
	}
	return s
}

// attrRun is how many attributes one allocation holds for attrs.
const attrRun = 256

// attrs is an empty attribute slice of capacity n, cut from a run shared
// with the spans made just before and after (an append past n copies).
// A run is let go when all its spans are: those of traces decided
// together, which the exporters and the viewer's store (oldest first) let
// go together too.
func (e *Engine) attrs(n int) []span.Attr {
	if n > attrRun/4 {
		return make([]span.Attr, 0, n)
	}
	if len(e.attrSlab) < n {
		e.attrSlab = make([]span.Attr, attrRun)
	}
	a := e.attrSlab[:0:n]
	e.attrSlab = e.attrSlab[n:]
	return a
}

// actKind is the kindInfo of kind, the kind of act's object (remembered
// there; duplicate UIDs may give one object several).
func (e *Engine) actKind(act *activity, kind string) *kindInfo {
	if act.kind == nil || act.kind.kind != kind {
		act.kind = e.kindInfo(kind)
	}
	return act.kind
}

// formatTime is t in RFC 3339 (UTC), remembering the last few: Events
// stamped in whole seconds share their second with their neighbours (a
// pod's Pulled, Created and Started; the pods decided in between), so most
// calls format nothing.
func (e *Engine) formatTime(t time.Time) string {
	ns := unixNanos(t)
	if ns == math.MinInt64 || ns == math.MaxInt64 { // saturated: not a key
		return t.UTC().Format(time.RFC3339Nano)
	}
	c := &e.times
	for i := range c.ns {
		if c.ns[i] == ns && c.str[i] != "" {
			return c.str[i]
		}
	}
	i := c.next
	c.next = (i + 1) % len(c.ns)
	c.ns[i], c.str[i] = ns, t.UTC().Format(time.RFC3339Nano)
	return c.str[i]
}

// timeCache is formatTime's last few times, by Unix nanoseconds.
type timeCache struct {
	ns   [4]int64
	str  [4]string
	next int
}

// objectAttrs are the attributes the spans of one object share
// (span.Span.Shared): its namespace, kind, name, UID and API version, then
// the owner chain's names and UIDs. An activity keeps the last few (its
// chain may change: an adopted pod, a Deployment's new ReplicaSet) and
// makes them anew when any of what they are made of differs.
type objectAttrs struct {
	ns, kind, name, uid, apiVersion string
	// The chain's links: the first few inline, any further in more.
	nchain int
	chain  [entCache]chainKey
	more   []chainKey
	attrs  []span.Attr
}

// chainKey is what appendChainAttrs reads of one link.
type chainKey struct{ kind, name, uid string }

func keyOf(l link) chainKey { return chainKey{l.ref.name.Kind, l.ref.name.Name, l.ref.uid} }

// maxObjectAttrs is how many objectAttrs an activity keeps.
const maxObjectAttrs = 4

func (e *Engine) sharedAttrs(ev *record.Event, act *activity, ch []link) []span.Attr {
	ns := ev.Regarding.Namespace
	if ns == "" {
		ns = ev.Namespace
	}
	r := &ev.Regarding
	for i := range act.objAttrs {
		c := &act.objAttrs[i]
		if c.ns == ns && c.kind == r.Kind && c.name == r.Name && c.uid == r.UID &&
			c.apiVersion == r.APIVersion && c.sameChain(ch) {
			return c.attrs
		}
	}
	a := make([]span.Attr, 0, 5+2*len(ch))
	if ns != "" {
		a = append(a, span.Str(span.KeyNamespace, ns))
	}
	a = append(a,
		span.Str(span.KeyObjectKind, r.Kind),
		span.Str(span.KeyObjectName, r.Name),
		span.Str(span.KeyObjectUID, r.UID),
		span.Str(span.KeyObjectAPIVersion, r.APIVersion))
	a = slices.Clip(e.appendChainAttrs(a, ch))
	if len(act.objAttrs) == maxObjectAttrs {
		copy(act.objAttrs, act.objAttrs[1:])
		act.objAttrs = act.objAttrs[:maxObjectAttrs-1]
	}
	act.objAttrs = append(act.objAttrs, objectAttrs{ns: ns, kind: r.Kind, name: r.Name, uid: r.UID,
		apiVersion: r.APIVersion, nchain: len(ch), attrs: a})
	c := &act.objAttrs[len(act.objAttrs)-1]
	for i, l := range ch {
		if i < len(c.chain) {
			c.chain[i] = keyOf(l)
		} else {
			c.more = append(c.more, keyOf(l))
		}
	}
	return a
}

func (c *objectAttrs) sameChain(ch []link) bool {
	if c.nchain != len(ch) {
		return false
	}
	for i, l := range ch {
		var k chainKey
		if i < len(c.chain) {
			k = c.chain[i]
		} else {
			k = c.more[i-len(c.chain)]
		}
		if k != keyOf(l) {
			return false
		}
	}
	return true
}

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
		e.cfg.Out(out[i:j])
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
		if all || !e.now.Before(t.last.Add(e.cfg.Linger)) ||
			e.cfg.MaxTraceAge > 0 && !e.now.Before(t.opened.Add(e.cfg.MaxTraceAge)) {
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
	delete(e.open, t.id)
	e.openSpans -= t.n
	e.flushed[t.id] = e.now
	e.stats.Spans += uint64(t.n)
	if e.cfg.Out != nil {
		e.cfg.Out(spans) // Out does not retain the slice
	}
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

// prune forgets activity too old to matter: older than the window plus the
// hold and linger times before now. Held occurrences are always kept.
func (e *Engine) prune() {
	cut := e.now.Add(-(e.cfg.Window + 2*e.cfg.Hold + e.cfg.Linger))
	keep := func(o *occ) bool { return o.state == pending || !o.t.Before(cut) }
	for k, a := range e.acts {
		a.occs = slices.DeleteFunc(a.occs, func(o *occ) bool { return !keep(o) })
		a.atts = slices.DeleteFunc(a.atts, func(at attachment) bool { return at.last.Before(cut) })
		if a.topLevel != nil && !keep(a.topLevel) {
			a.topLevel = nil
		}
		if len(a.occs) == 0 && len(a.atts) == 0 && a.topLevel == nil {
			delete(e.acts, k)
		}
	}
	for k, l := range e.mentions {
		l.occs = slices.DeleteFunc(l.occs, func(o *occ) bool { return !keep(o) })
		if len(l.occs) == 0 {
			l.dropped = true
			delete(e.mentions, k)
		}
	}
	for k, st := range e.roots {
		if st.last.Before(cut) {
			delete(e.roots, k)
		}
	}
	for k, at := range e.flushed {
		if at.Before(cut) {
			delete(e.flushed, k)
		}
	}
	for k, h := range e.hidden {
		if h.t.Before(cut) {
			delete(e.hidden, k)
		}
	}
	seenCut := e.now.Add(-max(eventTTL, e.cfg.Window))
	for k, st := range e.seen {
		if st.lastSeen.Before(seenCut) {
			st.forgotten = true
			delete(e.seen, k)
		}
	}
	e.forgetOverflow()
	e.index.Expire(e.now)
	e.pruneCreators(cut)
}

// eventTTL is how long duplicates of an Event are recognised: a little more
// than the apiserver's default event TTL, so a relist is not exported twice.
const eventTTL = 75 * time.Minute

// forgetOverflow enforces MaxTracked on the activity and event maps,
// dropping the oldest first.
func (e *Engine) forgetOverflow() {
	if n := len(e.acts) - e.cfg.MaxTracked; n > 0 {
		type kv struct {
			k string
			t time.Time
		}
		all := make([]kv, 0, len(e.acts))
		for k, a := range e.acts {
			if !slices.ContainsFunc(a.occs, func(o *occ) bool { return o.state == pending }) {
				all = append(all, kv{k, a.last})
			}
		}
		slices.SortFunc(all, func(a, b kv) int { return a.t.Compare(b.t) })
		for _, x := range all[:min(n, len(all))] {
			delete(e.acts, x.k)
			e.stats.Forgotten++
		}
	}
	if n := len(e.seen) - e.cfg.MaxTracked; n > 0 {
		type kv struct {
			k string
			t time.Time
		}
		all := make([]kv, 0, len(e.seen))
		for k, s := range e.seen {
			all = append(all, kv{k, s.lastSeen})
		}
		slices.SortFunc(all, func(a, b kv) int { return a.t.Compare(b.t) })
		for _, x := range all[:n] {
			e.seen[x.k].forgotten = true
			delete(e.seen, x.k)
			e.stats.Forgotten++
		}
	}
}

// MaxMessage bounds an Event's message in its span, in bytes: the API
// allows messages far longer than tracing backends accept in an attribute
// (events.k8s.io caps new Events at 1 kB; old recorders and other writers
// do not).
const MaxMessage = 4096

// truncate cuts s to at most n bytes on a UTF-8 boundary and says so.
func truncate(s string, n int) string {
	suffix := fmt.Sprintf(" … (%d bytes, truncated)", len(s))
	cut := max(n-len(suffix), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + suffix
}
