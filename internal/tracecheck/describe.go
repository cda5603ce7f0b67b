package tracecheck

import (
	"fmt"
	"strings"

	"github.com/kspan-project/kspan/internal/span"
)

// describe names an occurrence for a violation line.
func (m *model) describe(oc *occurrence) string {
	r := oc.ev.reg
	msg := oc.msg
	if msg == "" && oc.ev.last != nil {
		msg = oc.ev.last.Message
	}
	return fmt.Sprintf("%s on %s %s #%d %q", oc.ev.reason, r.Kind, nsName(r.Namespace, r.Name), oc.count, short(msg))
}

func (m *model) describeObj(uid string) string {
	if o := m.objs[uid]; o != nil && o.kind != "" {
		return fmt.Sprintf("%s %s (%s)", o.kind, nsName(o.ns, o.name), shortUID(uid))
	}
	return "object " + shortUID(uid)
}

func (m *model) describeExpect(x *expect) string {
	var parts []string
	for _, oc := range x.occs {
		parts = append(parts, m.describe(oc))
	}
	for _, r := range x.roots {
		parts = append(parts, "the deletion root of "+m.describeObj(r))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "one of [" + strings.Join(parts, "; ") + "]"
}

func (m *model) describeAnchors(as []anchor) string {
	var parts []string
	for _, a := range as {
		s := "an unknown top-level object"
		if a.top != "" {
			s = m.describeObj(a.top)
		}
		if a.gLo != 0 {
			s += " generation " + gens(a)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " or ")
}

func gens(a anchor) string {
	if a.gLo == a.gHi {
		return fmt.Sprint(a.gLo)
	}
	return fmt.Sprintf("%d..%d", a.gLo, a.gHi)
}

// describeSpan names a parent span.
func describeSpan(s *span.Span) string {
	if s == nil {
		return "none"
	}
	name := nsName(s.Attr(span.KeyNamespace), s.Attr(span.KeyObjectName))
	if s.Attr(span.KeyEventUID) != "" {
		return fmt.Sprintf("%s on %s %s #%d %q", s.Attr(span.KeyEventReason), s.Attr(span.KeyObjectKind), name, attrInt(s, span.KeyEventCount), short(s.Attr(span.KeyEventMessage)))
	}
	d := fmt.Sprintf("root %s %s (%s", s.Name, name, shortUID(s.Attr(span.KeyObjectUID)))
	if g, ok := s.Find(span.KeyObjectGeneration); ok {
		d += fmt.Sprintf(" generation %d", g.Int)
	}
	return d + ")"
}

func nsName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func short(s string) string {
	if len(s) > 72 {
		return s[:69] + "..."
	}
	return s
}

func shortUID(uid string) string {
	if len(uid) > 8 {
		return uid[:8]
	}
	return uid
}
