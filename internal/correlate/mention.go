package correlate

import (
	"time"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/rules"
)

// causeClass is which controller events naming an object may cause an
// occurrence on it: what created it, or what deleted it.
type causeClass uint8

const (
	creating causeClass = iota // Create, ScaleUp
	deleting                   // Delete, ScaleDown
)

// classOf is the cause class o looks for first: events a deletion causes
// (rules.DeletionReasons: Killing, "Deleted pod: P" ...) look for the
// deleter, every other event for the creator.
func classOf(o *occ) causeClass {
	if o.reason.deletion {
		return deleting
	}
	return creating
}

// causes reports whether mention m is of class c.
func (c causeClass) causes(m *rules.Mention) bool {
	if c == deleting {
		return m.Verb.Deletes()
	}
	return m.Verb.Creates()
}

// latestMention is the newest controller event of class c naming cur that
// may have caused o: the latest one stamped in o's second or before, else
// the closest one in the second after. Controllers write events
// asynchronously, so within one second a cause is often stored, and
// observed, after its effect ("Created pod" before the "Scaled up" that
// asked for it): whole seconds, not observation order, decide.
// ent is cur's index entry (nil when unknown), act its activity (nil when
// not at hand).
func (e *Engine) latestMention(cur objRef, ent *owners.Entry, act *activity, o *occ, c causeClass) *occ {
	var list []*occ
	if l := e.mentionsOf(cur, act); l != nil {
		list = l.occs
	}
	var lateBuf [4]*occ
	late := lateBuf[:0]
	for i := len(list) - 1; i >= 0; i-- {
		m := list[i]
		if m == o || m.state == deciding || m.state == suppressed || !c.causes(m.mention) {
			continue
		}
		if o.t.Sub(m.t) > e.cfg.Window {
			break
		}
		if m.sec > o.sec+1 || !e.mentionFits(m, ent) {
			continue
		}
		if m.sec > o.sec || (!m.ev.Coarse && !o.ev.Coarse && m.t.After(o.t)) {
			late = append(late, m) // only microsecond stamps order within a second
			continue
		}
		if e.ready(m) {
			return m
		}
	}
	// None before o: the closest one after it, within the tolerance
	// (controllers write their events asynchronously, so a cause can be
	// stored a little after its effect).
	for i := len(late) - 1; i >= 0; i-- {
		if e.ready(late[i]) {
			return late[i]
		}
	}
	return nil
}

// mentionsOf is the mention list naming cur, kept in its activity act (nil:
// not at hand) once found.
func (e *Engine) mentionsOf(cur objRef, act *activity) *mentionList {
	if act == nil {
		return e.mentions[cur.name]
	}
	// (Objects with one UID and different names are hostile input.)
	if l := act.mentions; l != nil && !l.dropped && l.name == cur.name {
		return l
	}
	l := e.mentions[cur.name]
	act.mentions = l
	return l
}

// mentionFits checks a mention against what is known of the object it
// names, whose index entry is ent (nil when unknown): it must come from one
// of its owners and be about this incarnation of the name. A name resolves
// to the object alive when the mention was made: a mention before the
// object's creation is about an earlier one of the same name; a creation
// mention once the next one of the name exists (a StatefulSet's pod
// recreated) is about that one; a deletion mention before the object's
// deletion began is not about it.
func (e *Engine) mentionFits(m *occ, ent *owners.Entry) bool {
	if ent == nil {
		return true
	}
	if !ent.Created.IsZero() && m.t.Before(ent.Created.Truncate(time.Second)) {
		return false
	}
	if m.mention.Verb == rules.Delete && !ent.Deleting.IsZero() &&
		m.t.Add(time.Second).Before(ent.Deleting.Truncate(time.Second)) {
		return false
	}
	if m.mention.Verb == rules.Create && ent.Successor != "" {
		if next, ok := e.index.Get(ent.Successor); ok && laterIncarnation(m, next) {
			return false
		}
	}
	if len(ent.Owners) == 0 || m.ev.Regarding.UID == "" {
		return true
	}
	for _, ow := range ent.Owners {
		if ow.UID == m.ev.Regarding.UID {
			return true
		}
	}
	return false
}

// laterIncarnation reports whether creation mention m is about next, an
// object of the same name created after the one m is checked against: m
// came once next existed. In next's second of creation, etcd's order
// decides when both revisions are known (the Event is stored after the
// object it reports); otherwise the mention goes to next, the newer.
func laterIncarnation(m *occ, next *owners.Entry) bool {
	c := next.Created.Truncate(time.Second)
	switch {
	case next.Created.IsZero() || m.t.Before(c):
		return false
	case m.sec > c.Unix() || m.rv == 0 || next.FirstRV == 0:
		return true
	}
	return m.rv > next.FirstRV
}

// mentionList is the mention events naming one object, in less order.
type mentionList struct {
	name owners.NameKey
	occs []*occ
	// dropped says it left Engine.mentions (emptied by prune): whoever
	// kept it looks it up again.
	dropped bool
	occs0   [1]*occ // occs' first backing array (one "Created pod" each)
}
