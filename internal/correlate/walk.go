package correlate

import (
	"time"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/rules"
)

// link is one object of an owner chain, with its index entry (nil when the
// object is not known).
type link struct {
	ref objRef
	ent *owners.Entry
}

// chain appends r and its owners to buf: up the controller references of
// known objects, else the owners learnt from controller messages, at most
// MaxDepth objects, stopping at a reference back to r or to the object
// itself. A decision walks it once, for its deleted ancestors and its
// span's attributes. act is r's activity, whose kept entries spare lookups
// (nil: none).
func (e *Engine) chain(r objRef, act *activity, buf []link) []link {
	cur := r
	for depth := 0; depth < e.cfg.MaxDepth; depth++ {
		var ent *owners.Entry
		if cur.uid != "" {
			ent = e.entry(act, depth, cur.uid)
		}
		if ent != nil && depth > 0 {
			cur.name.Namespace = ent.Namespace
		}
		buf = append(buf, link{cur, ent})
		inf, ok := e.ownerOf(cur, ent)
		if !ok || inf.UID == "" || inf.UID == r.key || inf.UID == cur.key {
			break
		}
		cur = objRef{key: inf.UID, uid: inf.UID, name: owners.NameKey{Kind: inf.Kind, Namespace: cur.name.Namespace, Name: inf.Name}}
	}
	return buf
}

// ownerOf is the owner to walk to from cur, whose index entry is ent (nil
// when unknown): as owners.Index.Owner, without looking ent up again.
func (e *Engine) ownerOf(cur objRef, ent *owners.Entry) (owners.Inferred, bool) {
	if ent == nil {
		return e.index.Owner(cur.name, "")
	}
	if c := ent.Controller(); c != nil {
		return owners.Inferred{UID: c.UID, Kind: c.Kind, Name: c.Name}, true
	}
	return owners.Inferred{}, false
}

// nearest is the nearest cause up o's owner chain, else the root. ch is the
// chain decide walked (its links spare index lookups; the walk goes on past
// its end with lookups of its own, to count a cycle or a chain too deep).
func (e *Engine) nearest(o *occ, ch []link) cand {
	cur := o.obj
	var visitedBuf [12]string
	visited := visitedBuf[:0]
	for depth := 0; ; depth++ {
		if depth >= e.cfg.MaxDepth {
			e.stats.DeepChains++
			return cand{root: cur}
		}
		var ent *owners.Entry
		if depth < len(ch) && ch[depth].ref.key == cur.key {
			ent = ch[depth].ent
		} else if cur.uid != "" {
			ent, _ = e.index.Get(cur.uid)
		}
		var act *activity
		if depth == 0 {
			act = o.act
		}
		if depth == 0 {
			if c, ok := e.ownCause(o, ent, act); ok {
				return c
			}
		} else if m := e.latestMention(cur, ent, act, o, classOf(o)); m != nil {
			return cand{occ: m}
		}
		if a := e.acts[cur.key]; a != nil && a.topLevel != nil && a.topLevel != o &&
			e.within(a.topLevel, o) && e.ready(a.topLevel) {
			return cand{occ: a.topLevel}
		}
		if directChange(ent, o.t, o.rv) {
			return cand{root: cur}
		}
		inf, ok := e.ownerOf(cur, ent)
		if !ok || inf.UID == "" {
			return cand{root: cur}
		}
		visited = append(visited, cur.key)
		for _, v := range visited {
			if v == inf.UID {
				e.stats.Cycles++
				return cand{root: cur}
			}
		}
		var owner objRef
		if next := depth + 1; next < len(ch) && ch[next].ref.key == inf.UID {
			owner = ch[next].ref // the chain's owner: the same as below
		} else {
			owner = objRef{key: inf.UID, uid: inf.UID, name: owners.NameKey{Kind: inf.Kind, Namespace: cur.name.Namespace, Name: inf.Name}}
			if ent, ok := e.index.Get(inf.UID); ok {
				owner.name.Namespace = ent.Namespace
			}
		}
		if x := e.latestOwnEvent(owner, o); x != nil {
			return cand{occ: x}
		}
		cur = owner
	}
}

// ownCause is the nearest cause of o among the controller events naming
// o's own object (ent is its index entry, act its activity): the deleter
// for what a deletion causes, else (and for everything else) the creator,
// found among the recent mentions or, past the window, remembered.
func (e *Engine) ownCause(o *occ, ent *owners.Entry, act *activity) (cand, bool) {
	class := classOf(o)
	if o.mention != nil && o.mention.Verb != rules.Observe {
		if m := e.stepCause(o, ent, act, class); m != nil {
			return cand{occ: m, own: true, class: class}, true
		}
	}
	if class == deleting {
		if m := e.latestMention(o.obj, ent, act, o, deleting); m != nil {
			return cand{occ: m, own: true, class: deleting}, true
		}
	}
	if m := e.latestMention(o.obj, ent, act, o, creating); m != nil {
		return cand{occ: m, own: true, class: creating}, true
	}
	if l, ok := e.creatorOf(o); ok {
		return cand{creator: &l}, true
	}
	return cand{}, false
}

// tolerance is the slack when comparing times of different resolution: a
// whole-second timestamp t stands for [t, t+1s).
func tolerance(a, b *occ) time.Duration {
	if a.ev.Coarse || b.ev.Coarse {
		return time.Second
	}
	return 0
}

// within reports whether x is recent enough, and not too late, to cause o.
func (e *Engine) within(x, o *occ) bool {
	return o.t.Sub(x.t) <= e.cfg.Window && !x.t.After(o.t.Add(tolerance(x, o)))
}

// ready decides x if it is still held and reports whether it has a span.
func (e *Engine) ready(x *occ) bool {
	if x.state == pending {
		e.decide(x)
	}
	return x.state == decided
}

// latestOwnEvent is the newest event on owner, within the window of o, that
// is not about another object.
func (e *Engine) latestOwnEvent(owner objRef, o *occ) *occ {
	a := e.acts[owner.key]
	if a == nil {
		return nil
	}
	for i := len(a.occs) - 1; i >= 0; i-- {
		x := a.occs[i]
		if x == o || x.state == deciding || x.state == suppressed || x.mention != nil {
			continue
		}
		if o.t.Sub(x.t) > e.cfg.Window {
			break
		}
		if e.within(x, o) && e.ready(x) {
			return x
		}
	}
	return nil
}

// directChange reports whether the object's spec in force at t was changed
// by someone other than its owner's controller: then it is the root of its
// own trace for that generation. ent is the object's index entry, nil when
// it is not known.
func directChange(ent *owners.Entry, t time.Time, rv uint64) bool {
	if ent == nil {
		return false
	}
	g, ok := ent.GenAt(t, rv)
	return ok && g.Direct
}
