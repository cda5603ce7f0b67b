package correlate

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/rules"
	"github.com/kspan-project/kspan/internal/span"
)

// rootState is the current episode of a root object: the synthetic span
// that the root's activity hangs from.
type rootState struct {
	ref        objRef
	gen        int64
	key        int64 // 0 for the episode a spec change started
	trace      span.TraceID
	id         span.ID
	start      time.Time
	last       time.Time
	hasStarter bool
	// span is the synthetic root span, exported with the first exported
	// span of its trace (a change whose events are all filtered out
	// exports nothing).
	span    span.Span
	emitted bool
}

// episode returns the root's episode that o belongs to, starting a new one
// when the generation changed, the root was quiet for the window, the root
// is being deleted, or an episode rule starts a run.
func (e *Engine) episode(r objRef, o *occ) *rootState {
	var ent *owners.Entry
	var g owners.Gen
	known := false
	if r.uid != "" {
		ent, known = e.index.Get(r.uid)
		if known {
			g, _ = ent.GenAt(o.t, o.rv)
		}
	}
	starter := ""
	if o.obj.key == r.key && o.mention != nil {
		starter = o.mention.Episode
	}
	// An event a deletion causes may be stamped in the second before the
	// deletion was seen; any other joins the deletion only once it began.
	var slack time.Duration
	if rules.DeletionReasons[o.ev.Reason] {
		slack = time.Second
	}
	deleting := known && !ent.Deleting.IsZero() && !o.t.Add(slack).Before(ent.Deleting) &&
		o.t.Sub(ent.Deleting) < e.cfg.Window
	st := e.roots[r.key]
	if st != nil && st.gen == g.Generation && o.t.Sub(st.last) < e.cfg.Window &&
		!(starter != "" && st.hasStarter) && (!deleting || st.key == ent.Deleting.Unix()) {
		if starter != "" {
			st.hasStarter = true
		}
		return st
	}

	verb := "Activity"
	start := o.t
	key := o.t.Truncate(time.Second).Unix()
	change := g.Time
	if change.IsZero() && known && g.Generation <= 1 {
		change = ent.Created
	}
	switch {
	case deleting:
		verb, key = "Delete", ent.Deleting.Unix()
		if ent.Deleting.Before(start) {
			start = ent.Deleting
		}
	case starter != "":
		verb = starter
	case known && !change.IsZero() && o.t.Sub(change) < e.cfg.Window && !change.After(o.t.Add(time.Second)):
		key = 0
		verb = "Update"
		if g.Generation <= 1 {
			verb = "Create"
		}
		if change.Before(start) {
			start = change
		}
	}
	st = &rootState{ref: r, gen: g.Generation, key: key, start: start, last: o.t, hasStarter: starter != ""}
	if key == 0 {
		st.trace = span.TraceIDFor(r.key, g.Generation)
	} else {
		st.trace = span.TraceIDFor(r.key, g.Generation, key)
	}
	st.id = span.IDFor("root", r.key, strconv.FormatInt(g.Generation, 10), strconv.FormatInt(key, 10))
	e.roots[r.key] = st

	s := span.Span{
		TraceID: st.trace,
		SpanID:  st.id,
		Name:    r.name.Kind + "." + verb,
		Start:   start,
		End:     start,
	}
	s.Attrs = append(s.Attrs, span.Boolean(span.KeySynthetic, true))
	if r.name.Namespace != "" {
		s.Attrs = append(s.Attrs, span.Str(span.KeyNamespace, r.name.Namespace))
	}
	s.Attrs = append(s.Attrs,
		span.Str(span.KeyObjectKind, r.name.Kind),
		span.Str(span.KeyObjectName, r.name.Name),
		span.Str(span.KeyObjectUID, r.uid))
	if known {
		if ent.APIVersion != "" {
			s.Attrs = append(s.Attrs, span.Str(span.KeyObjectAPIVersion, ent.APIVersion))
		}
		if g.Generation != 0 {
			s.Attrs = append(s.Attrs, span.Int64(span.KeyObjectGeneration, g.Generation))
		}
		if key == 0 && g.Manager != "" {
			s.Attrs = append(s.Attrs, span.Str(span.KeyChangeManager, g.Manager))
			if g.Operation != "" {
				s.Attrs = append(s.Attrs, span.Str(span.KeyChangeOperation, g.Operation))
			}
		}
		if l, ok := parseTraceparent(ent.Traceparent); ok {
			l.Attrs = []span.Attr{span.Str(span.KeyLinkSource, "tracing.k8s.io/traceparent")}
			s.Links = append(s.Links, l)
		}
	}
	s.Attrs = e.appendObjectAttrs(s.Attrs, r)
	st.span = s
	return st
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

// parseTraceparent reads a W3C traceparent "00-<trace>-<span>-<flags>".
func parseTraceparent(s string) (span.Link, bool) {
	var l span.Link
	if s == "" { // nearly always: no allocation for the split
		return l, false
	}
	p := strings.Split(strings.TrimSpace(s), "-")
	if len(p) < 4 || len(p[0]) != 2 || len(p[1]) != 32 || len(p[2]) != 16 || p[0] == "ff" {
		return l, false
	}
	if !hexInto(l.TraceID[:], p[1]) || !hexInto(l.SpanID[:], p[2]) || l.TraceID.IsZero() || l.SpanID.IsZero() {
		return span.Link{}, false
	}
	return l, true
}

func hexInto(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
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
	r := &reasonInfo{name: k.kind + "." + reason, rules: t.For(k.kind, reason)}
	if len(k.reasons) < maxKindReasons {
		if k.reasons == nil {
			k.reasons = map[string]*reasonInfo{}
		}
		k.reasons[reason] = r
	}
	return r
}
