package correlate

import (
	"time"

	"github.com/kspan-project/kspan/internal/rules"
	"github.com/kspan-project/kspan/internal/span"
	"k8s.io/apimachinery/pkg/labels"
)

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
	st, ok := e.seen[o.uh]
	if !ok { // forgotten while held (a bound was hit): start again
		st.lastSeen = e.secs(e.nowNS)
	}
	if o.ev.Count <= st.maxCount {
		o.state = suppressed
		e.stats.Duplicates++
		return
	}
	prev := st.maxCount
	spans := e.spansOf(o.uh, st)
	st.maxCount = o.ev.Count
	e.seen[o.uh] = st
	if spans >= e.cfg.MaxRepeats {
		o.state = suppressed
		e.stats.Suppressed++
		return
	}
	if spans > 0 {
		e.repeats[o.uh] = int32(spans)
	}

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
	if root != nil && root.rollout && root.trace == tr && o.ev.Type == "Warning" && !root.settled {
		root.noteWarning(o)
	}
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
			if e.cfg.Stream && root != nil && root.trace == o.trace && !root.emitted && root.rollout &&
				!e.cfg.Checkpoint.ExportedRoot(root.span.SpanID) {
				// The run before sent this rollout's spans and stopped
				// before its outcome: its root is still to be sent.
				root.emitted = true
				e.holdRoot(root)
			}
			return
		}
	}
	if e.cfg.Keep != nil && !e.cfg.Keep(o.ev) || e.cfg.Selector != nil && !e.selected(o) {
		e.stats.Filtered++
		e.hidden[spanKey{tr, o.id}] = hiddenSpan{parent: parent, t: o.t}
		return
	}
	if root != nil && root.trace == tr && !root.emitted {
		root.emitted = true
		if e.cfg.Checkpoint == nil || !e.cfg.Checkpoint.ExportedRoot(root.span.SpanID) {
			if e.cfg.Stream && root.rollout {
				e.holdRoot(root) // sent at its outcome
			} else {
				e.emit(tr, root.span)
				if ot := e.open[tr]; ot != nil {
					ot.root = root
				}
			}
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
			e.rememberCreator(act, m, o.t)
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
	if o.reason.deletion && causeAt.Add(time.Second).Before(at) {
		return cand{root: del, deleted: true}
	}
	return c
}

// deletedAncestor is the highest object on o's owner chain ch whose
// deletion began within the window before o, up to an orphaned object. o's own object counts only
// when it is the chain's root: an owned object deleted on its own (a
// StatefulSet's pod deleted by hand) is not a change of its root, and its
// events keep their creator.
func (e *Engine) deletedAncestor(o *occ, ch []link) (objRef, time.Time, bool) {
	var found objRef
	var at time.Time
	ok := false
	for i, l := range ch {
		ent := l.ent
		if ent != nil && (i > 0 || len(ch) == 1) && !ent.Deleting.IsZero() &&
			!ent.Deleting.After(o.t) && o.t.Sub(ent.Deleting) < e.cfg.Window {
			found, at, ok = l.ref, ent.Deleting, true
		}
		if ent != nil && ent.Orphaned() {
			break // its owners' deletion did not reach it
		}
	}
	return found, at, ok
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
