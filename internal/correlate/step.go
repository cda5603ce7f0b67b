package correlate

import (
	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/rules"
)

// stepCause is, for o a controller event on R that names the pod it
// created or deleted ("Created pod: P" on a ReplicaSet), the scale step of
// R that asked for it, told by etcd's order where whole seconds cannot: a
// rolling update scales a ReplicaSet up twice within a second, and each
// step's "Created pod" Events interleave with the next step's.
//
// etcd's revisions order everything: P was created (its first version's
// resourceVersion) while some generation of R was in force (R's spec
// changes with every step), and the step that made that generation is the
// first scale Event naming R stored after it (the deployment controller
// records it as soon as its update returns, and its recorder writes Events
// in order). Each revision must be one a watch saw as it happened: P's
// first version stored before o (a list shows later versions), R's
// generation one after the lowest seen, or R's first. Otherwise (a
// kubectl snapshot, a relist) it returns nil and the clock decides.
// rEnt is R's index entry.
func (e *Engine) stepCause(o *occ, rEnt *owners.Entry, act *activity, c causeClass) *occ {
	if rEnt == nil || o.rv == 0 || o.mention == nil || o.mention.SubKind != "Pod" {
		return nil
	}
	pEnt, ok := e.index.Get(e.index.UID(owners.NameKey{Kind: "Pod", Namespace: o.obj.name.Namespace, Name: o.mention.Name}))
	if !ok {
		return nil
	}
	at := pEnt.FirstRV
	if c == deleting {
		at = pEnt.DeletingRV
	}
	if at == 0 || at >= o.rv {
		return nil
	}
	gen := -1
	for i, g := range rEnt.Gens {
		if g.FirstRV != 0 && g.FirstRV < at {
			gen = i
		}
	}
	if g := rEnt.Gens[max(gen, 0)].Generation; gen < 0 || g != 1 && g <= rEnt.LowestGen {
		return nil
	}
	after := rEnt.Gens[gen].FirstRV
	l := e.mentionsOf(o.obj, act)
	if l == nil {
		return nil
	}
	var step *occ
	for _, m := range l.occs {
		if m.rv > after && (step == nil || m.rv < step.rv) && m.mention.Verb != rules.Observe &&
			m != o && m.state != deciding && m.state != suppressed && e.within(m, o) {
			step = m
		}
	}
	if step == nil || !c.causes(step.mention) || !e.ready(step) {
		return nil
	}
	return step
}
