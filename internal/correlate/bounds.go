package correlate

import (
	"slices"
	"time"
)

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
