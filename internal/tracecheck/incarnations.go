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
// deleted objects, Events are lost or expired) a message goes to the
// objects it may have created last (see createdBy).
func (m *model) pairCreators(in *incarnations, uids []string, ms []*occurrence) {
	if len(uids) == len(ms) {
		ok := true
		for i := range uids {
			ok = ok && m.fits(uids[i], ms[i])
		}
		if ok {
			for i, uid := range uids {
				in.creators[uid] = []*occurrence{ms[i]}
				in.created[ms[i]] = []string{uid}
			}
			return
		}
	}
	for _, oc := range ms {
		for _, uid := range m.createdBy(in, uids, oc) {
			in.creators[uid] = append(in.creators[uid], oc)
			in.created[oc] = append(in.created[oc], uid)
		}
	}
}

// fits says whether a message's object may own an object of the name.
func (m *model) fits(uid string, oc *occurrence) bool {
	own := m.controller(uid)
	return own == "" || own == oc.ev.reg.UID
}

// createdBy returns the objects of a name a creation message may be about:
// those not created after it, less any the recording shows was replaced
// before it: another was created after it and before the message, or
// after its deletion began and maybe before the message (a controller
// reports a creation as it makes it, never after the object's deletion
// began and its successor was made; whole-second creation times cannot
// order a successor and the message, etcd's revisions can).
func (m *model) createdBy(in *incarnations, uids []string, oc *occurrence) []string {
	var cands []string
	for _, uid := range uids {
		if m.fits(uid, oc) && before(oc.at, m.creationIn(in, uid)) != yes {
			cands = append(cands, uid)
		}
	}
	var out []string
	for _, u := range cands {
		cu, du := m.creationIn(in, u), m.recordedDeletion(u)
		replaced := false
		for _, v := range cands {
			if v == u {
				continue
			}
			cv := m.creationIn(in, v)
			if before(cu, cv) == yes && before(cv, oc.at) == yes ||
				du.known() && before(du, cv) == yes && before(cv, oc.at) != no {
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, u)
		}
	}
	return out
}

func (m *model) creationIn(in *incarnations, uid string) when {
	if o := m.objs[uid]; o != nil && o.recorded {
		return o.created
	}
	return m.evidence(*in, uid)
}

// recordedDeletion is when an object's deletion began, as its recorded
// states show (a deletionTimestamp, a DELETED record); zero when they do
// not.
func (m *model) recordedDeletion(uid string) when {
	if o := m.objs[uid]; o != nil && o.deleting != nil {
		return *o.deleting
	}
	return when{}
}

// pairDeleter gives a deletion message to the object of that name whose
// deletion it reports. By creation alone, that is the latest created
// before it (and any whose creation the recording cannot place before or
// after it). But a name is reused within a second, and whole-second
// creation times cannot order a successor and the message: so when the
// recorded deletion of some object of the name may have begun by the
// message (the latest such), the message is that object's, and is given
// as well only to those the recording cannot show were not being deleted
// at the message (see notDeleting). An object whose deletion began after
// the message is not its subject either.
func (m *model) pairDeleter(in *incarnations, uids []string, oc *occurrence) {
	var cands []string
	for _, uid := range uids {
		if m.fits(uid, oc) {
			cands = append(cands, uid)
		}
	}
	// by creation: the latest created before it, and any that may be
	last := -1
	for i, uid := range cands {
		if before(m.creationIn(in, uid), oc.at) == yes {
			last = i
		}
	}
	var alive []string
	for i, uid := range cands {
		if i == last || (i > last && before(m.creationIn(in, uid), oc.at) == maybe) {
			alive = append(alive, uid)
		}
	}
	// by deletion: objects not created after it whose recorded deletion
	// may have begun by it, less those whose deletion is known to have
	// begun before another such one's
	var deleted []string
	for _, uid := range cands {
		d := m.recordedDeletion(uid)
		if d.known() && before(d, oc.at) != no && before(m.creationIn(in, uid), oc.at) != no {
			deleted = append(deleted, uid)
		}
	}
	var out []string
	for _, u := range deleted {
		du := m.recordedDeletion(u)
		if !slices.ContainsFunc(deleted, func(v string) bool { return v != u && before(du, m.recordedDeletion(v)) == yes }) {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		out = alive
	} else {
		for _, uid := range alive {
			if !slices.Contains(out, uid) && !slices.Contains(deleted, uid) && !m.notDeleting(uid, oc.at) {
				out = append(out, uid)
			}
		}
	}
	for _, uid := range out {
		in.deleters[uid] = append(in.deleters[uid], oc)
		in.deleted[oc] = append(in.deleted[oc], uid)
	}
}

// notDeleting says whether the recording shows an object was not being
// deleted at a moment: its deletion is recorded as beginning after it, or
// its states were recorded, none with its deletion, the latest not known
// to be stored before the moment (a deletion, once begun, shows in every
// later state, and a watch shows every state).
func (m *model) notDeleting(uid string, w when) bool {
	o := m.objs[uid]
	if o == nil || !o.recorded {
		return false
	}
	if o.deleting != nil {
		return before(*o.deleting, w) == no
	}
	return before(when{rvHi: o.lastRV, hi: observedHi(o.last)}, w) != yes
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
