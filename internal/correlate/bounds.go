package correlate

import (
	"cmp"
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
		if st.last.Before(cut) && !e.rolloutOpen(st) {
			delete(e.roots, k)
		}
	}
	for k, st := range e.runs {
		if st.settled || st.last.Before(cut) && !e.rolloutOpen(st) {
			delete(e.runs, k)
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
	seenCut := e.secs(addNanos(e.nowNS, -max(eventTTL, e.cfg.Window)))
	for k, st := range e.seen {
		if st.lastSeen < seenCut {
			e.forgetEvent(k)
		}
	}
	e.forgetOverflow()
	e.index.Expire(e.now)
	e.pruneCreators(cut)
}

// forgetEvent forgets the Event object of uidHash k.
func (e *Engine) forgetEvent(k uint64) {
	delete(e.seen, k)
	if len(e.repeats) > 0 {
		delete(e.repeats, k)
	}
}

// eventTTL is how long duplicates of an Event are recognised: a little more
// than the apiserver's default event TTL, so a relist is not exported twice.
const eventTTL = 75 * time.Minute

// forgetOverflow enforces MaxTracked on the activity and event maps,
// dropping the oldest first.
func (e *Engine) forgetOverflow() {
	if n := len(e.acts) - e.cfg.MaxTracked; n > 0 {
		held := func(a *activity) bool {
			return slices.ContainsFunc(a.occs, func(o *occ) bool { return o.state == pending })
		}
		for _, k := range oldest(e.acts, n, func(a *activity) time.Time { return a.last }, held) {
			delete(e.acts, k)
			e.stats.Forgotten++
		}
	}
	if n := len(e.seen) - e.cfg.MaxTracked; n > 0 {
		for _, k := range oldest(e.seen, n, func(s eventState) time.Time { return time.Unix(int64(s.lastSeen), 0) }, nil) {
			e.forgetEvent(k)
			e.stats.Forgotten++
		}
	}
}

// oldest returns up to n keys of m whose values' times are earliest (ties
// by key, so that what a bound forgets does not depend on map order),
// passing over the values keep says must stay (nil: none).
func oldest[K cmp.Ordered, V any](m map[K]V, n int, at func(V) time.Time, keep func(V) bool) []K {
	type kv struct {
		k K
		t time.Time
	}
	all := make([]kv, 0, len(m))
	for k, v := range m {
		if keep == nil || !keep(v) {
			all = append(all, kv{k, at(v)})
		}
	}
	slices.SortFunc(all, func(a, b kv) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	keys := make([]K, 0, min(n, len(all)))
	for _, x := range all[:min(n, len(all))] {
		keys = append(keys, x.k)
	}
	return keys
}
