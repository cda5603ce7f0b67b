package tracecheck

import (
	"slices"
)

// nameKey names objects of a kind in a namespace; several objects (UIDs,
// incarnations) may have held one name in turn.
type nameKey struct{ kind, ns, name string }

// incarnations ties controller messages to the objects they are about.
type incarnations struct {
	byName map[nameKey][]string // UIDs in order of creation
	about  map[string][]*occurrence
	ments  map[*occurrence]mention
	// creators and deleters of an object: one occurrence when the
	// recording decides, several when it cannot.
	creators, deleters map[string][]*occurrence
	// created and deleted are the objects a mention may be about.
	created, deleted map[*occurrence][]string
	// scales are a Deployment's scale steps by the ReplicaSet they name.
	scales map[nameKey][]*occurrence
}

func (m *model) findIncarnations() incarnations {
	in := incarnations{
		byName:   map[nameKey][]string{},
		about:    map[string][]*occurrence{},
		ments:    map[*occurrence]mention{},
		creators: map[string][]*occurrence{},
		deleters: map[string][]*occurrence{},
		created:  map[*occurrence][]string{},
		deleted:  map[*occurrence][]string{},
		scales:   map[nameKey][]*occurrence{},
	}
	for _, oc := range m.occs {
		in.about[oc.ev.reg.UID] = append(in.about[oc.ev.reg.UID], oc)
	}
	for uid, o := range m.objs {
		if o.kind == "" || o.name == "" {
			continue
		}
		k := nameKey{o.kind, o.ns, o.name}
		in.byName[k] = append(in.byName[k], uid)
	}
	for k, uids := range in.byName {
		slices.SortFunc(uids, func(a, b string) int {
			if c := cmpWhen(m.evidence(in, a), m.evidence(in, b)); c != 0 {
				return c
			}
			return cmpStr(a, b)
		})
		in.byName[k] = uids
	}

	creates := map[nameKey][]*occurrence{}
	removes := map[nameKey][]*occurrence{}
	for _, oc := range m.occs {
		mt, ok := parseMention(oc.ev.reg.Kind, oc.msg)
		if !ok {
			continue
		}
		in.ments[oc] = mt
		k := nameKey{mt.kind, oc.ev.reg.Namespace, mt.name}
		switch mt.verb {
		case create:
			creates[k] = append(creates[k], oc)
		case remove:
			removes[k] = append(removes[k], oc)
		default:
			in.scales[k] = append(in.scales[k], oc)
		}
	}
	for k, ms := range creates {
		slices.SortStableFunc(ms, func(a, b *occurrence) int { return cmpWhen(a.at, b.at) })
		m.pairCreators(&in, in.byName[k], ms)
	}
	for k, ms := range removes {
		for _, oc := range ms {
			m.pairDeleter(&in, in.byName[k], oc)
		}
	}
	for _, ms := range in.scales {
		slices.SortStableFunc(ms, func(a, b *occurrence) int { return cmpWhen(a.at, b.at) })
	}
	return in
}

// evidence is the earliest sign of an object: its creation if recorded,
// else its first Event (it was created before).
func (m *model) evidence(in incarnations, uid string) when {
	if o := m.objs[uid]; o != nil && o.recorded {
		return o.created
	}
	var w when
	for _, oc := range in.about[uid] {
		if !w.known() || cmpWhen(oc.at, w) < 0 {
			w = oc.at
		}
	}
	return w.upper()
}

// creation is when an object was created, as far as the recording knows.
func (m *model) creation(uid string) when {
	if o := m.objs[uid]; o != nil && o.recorded {
		return o.created
	}
	return m.evidence(m.inc, uid)
}

// pairCreators matches the n-th creation message of a name with the n-th
// object of that name. When their numbers differ (a kubectl snapshot lacks
// deleted objects, Events are lost or expired) each object may have been
// created by any message from its owner.
func (m *model) pairCreators(in *incarnations, uids []string, ms []*occurrence) {
	fits := func(uid string, oc *occurrence) bool {
		own := m.controller(uid)
		return own == "" || own == oc.ev.reg.UID
	}
	if len(uids) == len(ms) {
		ok := true
		for i := range uids {
			ok = ok && fits(uids[i], ms[i])
		}
		if ok {
			for i, uid := range uids {
				in.creators[uid] = []*occurrence{ms[i]}
				in.created[ms[i]] = []string{uid}
			}
			return
		}
	}
	for _, uid := range uids {
		for _, oc := range ms {
			if fits(uid, oc) && before(oc.at, m.creationIn(in, uid)) != yes {
				in.creators[uid] = append(in.creators[uid], oc)
				in.created[oc] = append(in.created[oc], uid)
			}
		}
	}
}

func (m *model) creationIn(in *incarnations, uid string) when {
	if o := m.objs[uid]; o != nil && o.recorded {
		return o.created
	}
	return m.evidence(*in, uid)
}

// pairDeleter gives a deletion message to the object of that name alive at
// the time: the latest created before it (and any whose creation the
// recording cannot place before or after it).
func (m *model) pairDeleter(in *incarnations, uids []string, oc *occurrence) {
	last := -1
	for i, uid := range uids {
		if own := m.controller(uid); own != "" && own != oc.ev.reg.UID {
			continue
		}
		if before(m.creationIn(in, uid), oc.at) == yes {
			last = i
		}
	}
	for i, uid := range uids {
		if own := m.controller(uid); own != "" && own != oc.ev.reg.UID {
			continue
		}
		if i == last || (i > last && before(m.creationIn(in, uid), oc.at) == maybe) {
			in.deleters[uid] = append(in.deleters[uid], oc)
			in.deleted[oc] = append(in.deleted[oc], uid)
		}
	}
}

// controller is the UID of an object's controlling owner from its first
// recorded state, or "".
func (m *model) controller(uid string) string {
	o := m.objs[uid]
	if o == nil {
		return ""
	}
	for _, r := range o.owners {
		if r.Controller {
			return r.UID
		}
	}
	if len(o.owners) > 0 {
		return o.owners[0].UID
	}
	return ""
}

// owner is an object's owner: recorded, else the object whose Events
// created it (a creation message, or a scale step naming a ReplicaSet).
func (m *model) owner(uid string) string {
	if own := m.controller(uid); own != "" {
		return own
	}
	var found string
	for _, oc := range m.inc.creators[uid] {
		if found != "" && found != oc.ev.reg.UID {
			return ""
		}
		found = oc.ev.reg.UID
	}
	if found != "" {
		return found
	}
	if o := m.objs[uid]; o != nil && o.kind == "ReplicaSet" {
		for _, oc := range m.inc.scales[nameKey{"ReplicaSet", o.ns, o.name}] {
			if found != "" && found != oc.ev.reg.UID {
				return ""
			}
			found = oc.ev.reg.UID
		}
	}
	return found
}

// ownersKnown says whether the recording shows an object's owners (its
// own state, or the message that created it).
func (m *model) ownersKnown(uid string) bool {
	o := m.objs[uid]
	return (o != nil && o.recorded) || m.owner(uid) != ""
}

// ancestors are an object's owners up to the top-level one, nearest first.
func (m *model) ancestors(uid string) []string {
	var out []string
	for cur := m.owner(uid); cur != "" && len(out) < 16 && !slices.Contains(out, cur) && cur != uid; cur = m.owner(cur) {
		out = append(out, cur)
	}
	return out
}

// top is an object's top-level owner (itself when it has none).
func (m *model) top(uid string) string {
	if a := m.ancestors(uid); len(a) > 0 {
		return a[len(a)-1]
	}
	return uid
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
