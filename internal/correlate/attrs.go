package correlate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/rules"
	"github.com/kspan-project/kspan/internal/span"
)

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

// appendObjectAttrs adds k8s.<kind>.name and .uid for r and its known owners.
func (e *Engine) appendObjectAttrs(attrs []span.Attr, r objRef) []span.Attr {
	var buf [12]link
	return e.appendChainAttrs(attrs, e.chain(r, nil, buf[:0]))
}

// appendChainAttrs adds k8s.<kind>.name and .uid for each object of ch.
func (e *Engine) appendChainAttrs(attrs []span.Attr, ch []link) []span.Attr {
	// Attribute keys must be unique in a span: when an owner has the kind
	// of an object below it (custom resources, a cycle), the nearest wins.
	var kindsBuf [8]string
	kinds := kindsBuf[:0]
	for _, l := range ch {
		cur := l.ref
		if cur.name.Kind != "" && !slices.Contains(kinds, cur.name.Kind) {
			kinds = append(kinds, cur.name.Kind)
			keys := e.kindKeys(cur.name.Kind)
			attrs = append(attrs, span.Str(keys[0], cur.name.Name))
			if cur.uid != "" {
				attrs = append(attrs, span.Str(keys[1], cur.uid))
			}
		}
	}
	return attrs
}

// kindInfo is what the engine builds once per kind: the attribute keys
// k8s.<kind>.name and k8s.<kind>.uid (every span carries them for each
// owner) and what it knows of each reason of its Events.
type kindInfo struct {
	kind    string
	keys    [2]string
	reasons map[string]*reasonInfo
}

// reasonInfo is what the engine knows of one kind and reason: the span name
// <Kind>.<Reason> and the message rules.
type reasonInfo struct {
	name  string
	rules rules.Rules
	// deletion says a deletion causes events of this reason
	// (rules.DeletionReasons).
	deletion bool
}

// Bounds of the per-kind caches: kinds and reasons are few, a flood of
// made-up ones is not cached.
const (
	maxKinds       = 1024
	maxKindReasons = 64
)

// kindKeys returns the attribute keys of kind.
func (e *Engine) kindKeys(kind string) *[2]string { return &e.kindInfo(kind).keys }

func (e *Engine) kindInfo(kind string) *kindInfo {
	if k, ok := e.keys[kind]; ok {
		return k
	}
	p := "k8s." + strings.ToLower(kind)
	k := &kindInfo{kind: kind, keys: [2]string{p + ".name", p + ".uid"}}
	if len(e.keys) < maxKinds {
		e.keys[kind] = k
	}
	return k
}

// reason returns the reasonInfo of reason, built once.
func (k *kindInfo) reason(t *rules.Table, reason string) *reasonInfo {
	if r, ok := k.reasons[reason]; ok {
		return r
	}
	r := &reasonInfo{name: k.kind + "." + reason, rules: t.For(k.kind, reason), deletion: rules.DeletionReasons[reason]}
	if len(k.reasons) < maxKindReasons {
		if k.reasons == nil {
			k.reasons = map[string]*reasonInfo{}
		}
		k.reasons[reason] = r
	}
	return r
}
