package correlate

import (
	"time"

	"github.com/kspan-project/kspan/internal/owners"
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
	// creator and creatorUsed are the creator last remembered for the
	// object (Engine.creators) and when: most events of a pod have the
	// same creator, and need not write the map again.
	creator     span.ID
	creatorUsed time.Time
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
