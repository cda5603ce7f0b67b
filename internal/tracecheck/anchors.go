package tracecheck

// anchor is what a trace stands for: a change of a top-level object (its
// UID and the generations the recording allows), or the deletion of an
// object (del).
type anchor struct {
	top      string
	gLo, gHi int64 // 0: unknown
	del      string
}

func (a anchor) hasGen(g int64) bool { return a.gLo == 0 || (a.gLo <= g && g <= a.gHi) }

// anchors follows an occurrence's causes up to occurrences without one and
// returns the anchors they allow (several when causes are ambiguous).
func (m *model) anchors(oc *occurrence) []anchor {
	if a, ok := m.anchorMemo[oc]; ok {
		return a
	}
	m.anchorMemo[oc] = nil // a cycle ends here
	x := m.cause(oc)
	var out []anchor
	add := func(a anchor) {
		for _, b := range out {
			if a == b {
				return
			}
		}
		out = append(out, a)
	}
	for _, c := range x.occs {
		for _, a := range m.anchors(c) {
			add(a)
		}
	}
	for _, r := range x.roots {
		add(anchor{del: r})
	}
	if len(x.occs)+len(x.roots) == 0 {
		top := m.top(oc.ev.reg.UID)
		lo, hi := m.gensAt(top, oc.at)
		add(anchor{top: top, gLo: lo, gHi: hi})
	}
	m.anchorMemo[oc] = out
	return out
}

// gensAt returns the generations an object may have had at a moment,
// ignoring the bump a deletion makes: 0, 0 when unknown.
func (m *model) gensAt(uid string, w when) (lo, hi int64) {
	o := m.objs[uid]
	if o == nil || len(o.gens) == 0 {
		return 0, 0
	}
	for i, g := range o.gens {
		if before(g.at, w) == no || storedBefore(w, g) {
			break
		}
		next := no
		if i+1 < len(o.gens) && !storedBefore(w, o.gens[i+1]) {
			next = before(o.gens[i+1].at, w)
		}
		if next != yes {
			if lo == 0 {
				lo = g.gen
			}
			hi = g.gen
		}
	}
	if g0 := o.gens[0]; g0.gen > 1 && (before(g0.at, w) != yes || storedBefore(w, g0)) {
		// generations before the first recorded one
		lo = 1
		if hi == 0 {
			hi = g0.gen - 1
		}
	}
	if hi == 0 {
		return 0, 0
	}
	return lo, hi
}

// storedBefore says whether an Event was stored at a revision lower than
// the one at which a watch first saw the generation: then it cannot belong
// to it (etcd's revisions are one order). Only a generation seen changing
// (not an object's first recorded state, such as kubectl's final one) has
// such a revision.
func storedBefore(w when, g genStep) bool {
	return g.at.rvLo != 0 && w.rvHi != 0 && w.rvHi < g.at.rvHi
}

// firstSeen is the revision at which a watch first saw an object's
// generation, or 0.
func (m *model) firstSeen(uid string, gen int64) uint64 {
	if o := m.objs[uid]; o != nil {
		for _, g := range o.gens {
			if g.gen == gen && g.at.rvLo != 0 {
				return g.at.rvHi
			}
		}
	}
	return 0
}
