package correlate

import (
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/rules"
	"github.com/kspan-project/kspan/internal/span"
)

// activity is what the engine remembers about one involved object.
type activity struct {
	ref  objRef
	occs []*occ // recent occurrences on the object, in less order
	// atts are the parents the object's events hang from, one per trace:
	// events on one object in one trace are siblings.
	atts     []attachment
	topLevel *occ
	last     time.Time
	objAttrs []objectAttrs // the attributes its spans share
	kind     *kindInfo     // of ref's kind, once looked up
	// ents are the index entries of the object's owner chain last walked
	// (see entry).
	ents [entCache]*owners.Entry
	// mentions is Engine.mentions of the object's name, once looked up
	// (nil: not yet, or none then).
	mentions *mentionList
	// The first backing arrays of occs (a pod has five Events), atts and
	// objAttrs.
	occs0     [4]*occ
	atts0     [1]attachment
	objAttrs0 [1]objectAttrs
}

// entCache is how many entries of its owner chain an activity keeps: a
// pod's, its ReplicaSet's and its Deployment's.
const entCache = 3

// entry returns the index entry of uid, the object at depth of act's owner
// chain (act may be nil). An entry kept from an earlier walk is used while
// it is the same object's and still in the index: owners change rarely, and
// the map lookups were a tenth of the engine's time.
func (e *Engine) entry(act *activity, depth int, uid string) *owners.Entry {
	if act == nil || depth >= entCache {
		ent, _ := e.index.Get(uid)
		return ent
	}
	if c := act.ents[depth]; c != nil && c.UID == uid && c.Live() {
		return c
	}
	ent, _ := e.index.Get(uid)
	act.ents[depth] = ent
	return ent
}

type attachment struct {
	trace  span.TraceID
	parent span.ID
	pstart time.Time
	root   *rootState
	last   time.Time
}

const maxAttachments = 4

func (e *Engine) activity(r objRef) *activity {
	a := e.acts[r.key]
	if a == nil {
		a = &activity{ref: r}
		a.occs, a.atts, a.objAttrs = a.occs0[:0], a.atts0[:0], a.objAttrs0[:0]
		e.acts[r.key] = a
	}
	return a
}

// attach returns the object's attachment in trace tr, making one with the
// given parent when there is none.
func (a *activity) attach(tr span.TraceID, parent span.ID, pstart time.Time, root *rootState, t time.Time) *attachment {
	for i := range a.atts {
		if at := &a.atts[i]; at.trace == tr {
			if at.last.Before(t) {
				at.last = t
			}
			return at
		}
	}
	if len(a.atts) == maxAttachments {
		copy(a.atts, a.atts[1:])
		a.atts = a.atts[:maxAttachments-1]
	}
	a.atts = append(a.atts, attachment{trace: tr, parent: parent, pstart: pstart, root: root, last: t})
	return &a.atts[len(a.atts)-1]
}

// latest is the most recently used attachment.
func (a *activity) latest() *attachment {
	var best *attachment
	for i := range a.atts {
		if best == nil || a.atts[i].last.After(best.last) {
			best = &a.atts[i]
		}
	}
	return best
}

// decide chooses o's parent and emits its span. Occurrences it depends on
// (its parent, earlier occurrences on the same object) are decided first.
func (e *Engine) decide(o *occ) {
	if o.state != pending {
		return
	}
	o.state = deciding
	if o.late {
		e.lateHeld--
	} else {
		e.queued--
	}
	act := o.act
	for _, p := range act.occs {
		if p == o {
			break
		}
		if p.state == pending {
			e.decide(p)
		}
	}
	st := o.st
	if st.forgotten { // forgotten while held (a bound was hit): start again
		if st = e.seen[o.ev.UID]; st == nil {
			st = e.newState()
			e.seen[o.ev.UID] = st
		}
		o.st = st
	}
	if o.ev.Count <= st.maxCount {
		o.state = suppressed
		e.stats.Duplicates++
		return
	}
	prev := st.maxCount
	st.maxCount = o.ev.Count
	if int(st.spans) >= e.cfg.MaxRepeats {
		o.state = suppressed
		e.stats.Suppressed++
		return
	}
	st.spans++

	var chainBuf [12]link
	ch := e.chain(o.obj, act, chainBuf[:0])
	tr, parent, pstart, root := e.parentOf(o, act, ch)
	// One span per occurrence, at its time; the first span seen for an
	// Event that already counts several occurrences spans all of them.
	start := o.t
	if prev == 0 && !o.ev.First.IsZero() && o.ev.First.Before(o.ev.Last) && !o.ev.First.After(o.t) {
		start = o.ev.First
	}
	if start.Before(pstart) {
		start = pstart
	}
	end := o.t
	if end.Before(start) {
		end = start
	}
	o.trace, o.start, o.root = tr, start, root
	o.state = decided
	if root != nil && root.trace == tr && root.last.Before(o.t) {
		root.last = o.t
	}
	if h, ok := e.hidden[spanKey{tr, parent}]; ok {
		parent = h.parent // the nearest exported ancestor
	}
	if e.cfg.Checkpoint != nil {
		if t, ok := e.cfg.Checkpoint.Exported(o.ev.UID, o.ev.Count); ok {
			e.stats.Checkpointed++
			if !t.IsZero() && t != tr {
				// Its children join it where it was exported.
				o.trace = t
				if root != nil && root.trace != t {
					o.root = nil
				}
			}
			return
		}
	}
	if e.cfg.Export != nil && !e.cfg.Export(o.ev) || e.cfg.Selector != nil && !e.selected(o) {
		e.stats.Filtered++
		e.hidden[spanKey{tr, o.id}] = hiddenSpan{parent: parent, t: o.t}
		return
	}
	if root != nil && root.trace == tr && !root.emitted {
		root.emitted = true
		if e.cfg.Checkpoint == nil || !e.cfg.Checkpoint.ExportedRoot(root.span.SpanID) {
			e.emit(tr, root.span)
		}
	}
	e.emit(tr, e.eventSpan(o, act, parent, start, end, ch))
}

// spanKey identifies a span across traces.
type spanKey struct {
	trace span.TraceID
	id    span.ID
}

// hiddenSpan is a filtered-out occurrence: its children hang from parent.
type hiddenSpan struct {
	parent span.ID
	t      time.Time
}

func (e *Engine) parentOf(o *occ, act *activity, ch []link) (span.TraceID, span.ID, time.Time, *rootState) {
	if o.ev.TopLevel {
		act.topLevel = o
		return span.TraceIDFor(o.ev.UID, int64(o.ev.Count)), span.ID{}, time.Time{}, nil
	}
	c := e.candidate(o, ch)
	switch {
	case c.creator != nil:
		// The object's creator, remembered past the window.
		l := c.creator
		act.attach(l.trace, l.id, l.start, l.root, o.t)
		return l.trace, l.id, l.start, l.root
	case c.occ != nil && c.occ.mention != nil && c.own:
		// A controller event naming the object: the cause of this
		// occurrence, not necessarily of the object's others (each pod
		// under its own scale step, Killing under the deletion).
		m := c.occ
		act.attach(m.trace, m.id, m.start, m.root, o.t)
		if c.class == creating && m.mention.Verb == rules.Create {
			e.rememberCreator(o.obj.uid, m, o.t)
		}
		return m.trace, m.id, m.start, m.root
	case c.occ != nil:
		a := act.attach(c.occ.trace, c.occ.id, c.occ.start, c.occ.root, o.t)
		return a.trace, a.parent, a.pstart, a.root
	}
	if c.root.key != o.obj.key && !c.deleted {
		// No cause found for an owned object: while its own activity goes
		// on, it stays where it was.
		if a := act.latest(); a != nil && o.t.Sub(a.last) < e.cfg.Window {
			a.last = maxTime(a.last, o.t)
			return a.trace, a.parent, a.pstart, a.root
		}
	}
	st := e.episode(c.root, o)
	a := act.attach(st.trace, st.id, st.start, st, o.t)
	return a.trace, a.parent, a.pstart, a.root
}

type cand struct {
	occ *occ
	// own says occ names o's own object (not an owner's); class is the
	// cause class it was found for.
	own   bool
	class causeClass
	// creator is o's object's remembered creator, when no mention of it
	// is recent enough.
	creator *creatorLink
	root    objRef
	// deleted says root was chosen because its deletion is the newest cause.
	deleted bool
}

// candidate walks from o's object up its owners, looking for the nearest
// cause; it returns the root object when there is none. For the events a
// deletion causes (rules.DeletionReasons), a deletion that began on an
// ancestor after the creator found is a newer cause, unless a deleter
// names the object: the event then joins the deleted object's Delete
// episode (the garbage collector kills a deleted Deployment's pods without
// any event of its own). Any other cause found is kept: a pod's start is
// part of the change that created it, even when the pod is deleted a
// moment later.
func (e *Engine) candidate(o *occ, ch []link) cand {
	c := e.nearest(o, ch)
	if c.occ != nil && c.own && c.class == deleting {
		return c // the deleter
	}
	del, at, ok := e.deletedAncestor(o, ch)
	if !ok {
		return c
	}
	var causeAt time.Time
	switch {
	case c.creator != nil:
		causeAt = c.creator.t
	case c.occ != nil:
		causeAt = c.occ.t
	default:
		return cand{root: del, deleted: true}
	}
	if rules.DeletionReasons[o.ev.Reason] && causeAt.Add(time.Second).Before(at) {
		return cand{root: del, deleted: true}
	}
	return c
}

// deletedAncestor is the highest object on o's owner chain ch whose
// deletion began within the window before o. o's own object counts only
// when it is the chain's root: an owned object deleted on its own (a
// StatefulSet's pod deleted by hand) is not a change of its root, and its
// events keep their creator.
func (e *Engine) deletedAncestor(o *occ, ch []link) (objRef, time.Time, bool) {
	var found objRef
	var at time.Time
	ok := false
	for i, l := range ch {
		if i == 0 && len(ch) > 1 {
			continue
		}
		if ent := l.ent; ent != nil && !ent.Deleting.IsZero() &&
			!ent.Deleting.After(o.t) && o.t.Sub(ent.Deleting) < e.cfg.Window {
			found, at, ok = l.ref, ent.Deleting, true
		}
	}
	return found, at, ok
}

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

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// selected reports whether o's object, or an owner up its controller chain,
// has labels matching the selector.
func (e *Engine) selected(o *occ) bool {
	uid := o.obj.uid
	if uid == "" {
		uid = e.index.UID(o.obj.name)
	}
	for depth := 0; uid != "" && depth <= e.cfg.MaxDepth; depth++ {
		ent, ok := e.index.Get(uid)
		if !ok {
			return false
		}
		if e.cfg.Selector.Matches(labels.Set(ent.Labels)) {
			return true
		}
		c := ent.Controller()
		if c == nil || c.UID == uid {
			return false
		}
		uid = c.UID
	}
	return false
}
