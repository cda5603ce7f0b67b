package tracecheck

import "strings"

// rule says which part of the causal model decided an occurrence's cause.
type rule string

const (
	ruleNone      rule = ""         // no cause: it starts a trace
	ruleCreator   rule = "creator"  // the message that created its object
	ruleDeleter   rule = "deleter"  // the message that deleted its object
	ruleScaleUp   rule = "scale-up" // the step that made its pod's creation
	ruleScaleDown rule = "scale-down"
	ruleDeletion  rule = "deletion" // after its object's deletion began
)

// deletionReasons are the reasons of Events a deletion causes (or that
// report the deletion itself): only these go under an object's deleter, or
// the deletion root of an owner, once its deletion began. Every other
// Event of an object with a creator stays under the creator, however late.
var deletionReasons = map[string]bool{
	// kubelet stops a terminating pod's containers ("Stopping container
	// X"); also on a failed liveness probe, but then no deletion began
	"Killing": true,
	// kubelet could not stop a terminating pod
	"FailedKillPod": true,
	// the runtime did not stop the pod within its termination grace period
	"ExceededGracePeriod": true,
	// a preStop hook runs only when a container is being terminated
	"FailedPreStopHook": true,
	// a controller reporting the deletion of the object itself
	"SuccessfulDelete": true,
	"FailedDelete":     true,
	// the NoExecute taint manager marking a pod for deletion
	"TaintManagerEviction": true,
	// the scheduler deleting a victim of preemption
	"Preempted": true,
	// the node lifecycle controller removing a deleted node
	"RemovingNode": true,
}

// deletionCaused says whether an Event of the reason is caused by its
// object's deletion: a listed reason, or one that says it reports a
// deletion ("Deleted", "Deleting", "DeleteFailed" and the like).
func deletionCaused(reason string) bool {
	return deletionReasons[reason] || strings.Contains(strings.ToLower(reason), "delet")
}

// expect is what the model says an occurrence's parent is.
type expect struct {
	rule rule
	// occs are the occurrences that may be its cause (one when the
	// recording decides); roots the objects whose deletion root may be.
	occs  []*occurrence
	roots []string
}

func (x *expect) ambiguous() bool { return len(x.occs)+len(x.roots) > 1 }

func (x *expect) add(y *expect) {
	for _, oc := range y.occs {
		if !containsOcc(x.occs, oc) {
			x.occs = append(x.occs, oc)
		}
	}
	for _, r := range y.roots {
		if !containsStr(x.roots, r) {
			x.roots = append(x.roots, r)
		}
	}
}

// cause decides an occurrence's cause (memoised).
func (m *model) cause(oc *occurrence) *expect {
	if x, ok := m.causes[oc]; ok {
		return x
	}
	x := m.decide(oc)
	m.causes[oc] = x
	return x
}

func (m *model) decide(oc *occurrence) *expect {
	uid := oc.ev.reg.UID
	if mt, ok := m.inc.ments[oc]; ok && oc.ev.reg.Kind == "ReplicaSet" {
		switch mt.verb {
		case create:
			if x := m.scaleStep(oc, scaleUp, m.inc.created[oc], m.creation); x != nil {
				return x
			}
		case remove:
			if x := m.scaleStep(oc, scaleDown, m.inc.deleted[oc], m.deletionStart); x != nil {
				return x
			}
		}
	}
	creators := m.inc.creators[uid]
	del := m.deletionStart(uid)
	// What a deletion did not cause (a pod's Pulled, Created, Started,
	// however late) stays with its creator even after the deletion began.
	if !del.known() || (len(creators) > 0 && !deletionCaused(oc.ev.reason)) {
		if len(creators) == 0 {
			return &expect{}
		}
		return &expect{rule: ruleCreator, occs: creators}
	}
	after := &expect{rule: ruleDeleter, occs: m.inc.deleters[uid]}
	if len(after.occs) == 0 {
		// removed by the garbage collector: under its creator, or the
		// deletion root of an owner whose deletion began before its own
		after = &expect{rule: ruleDeletion, occs: creators}
		for _, a := range m.ancestors(uid) {
			if ad := m.deletionStart(a); ad.known() && before(ad, del) != no {
				after.roots = append(after.roots, a)
			}
		}
		if len(after.occs)+len(after.roots) == 0 {
			return &expect{}
		}
	}
	switch before(del, oc.at) {
	case yes:
		return after
	case no:
		if len(creators) == 0 {
			return &expect{}
		}
		return &expect{rule: ruleCreator, occs: creators}
	}
	if len(creators) == 0 {
		// the deletion may have come later, and then it has no cause
		return &expect{}
	}
	x := &expect{rule: ruleCreator, occs: creators}
	x.add(after)
	return x
}

// deletionStart is when an object's deletion began: recorded, else no
// later than the first message deleting it. Zero when unknown.
func (m *model) deletionStart(uid string) when {
	if o := m.objs[uid]; o != nil && o.deleting != nil {
		return *o.deleting
	}
	var w when
	for _, oc := range m.inc.deleters[uid] {
		if len(m.inc.deleted[oc]) != 1 {
			continue
		}
		if !w.known() || cmpWhen(oc.at, w) < 0 {
			w = oc.at.upper()
		}
	}
	return w
}

// scaleStep finds the step of a ReplicaSet's Deployment (up for a
// creation, down for a deletion) whose change is the latest before the
// moment (of the objects the message is about) given by at.
func (m *model) scaleStep(oc *occurrence, v verb, uids []string, at func(string) when) *expect {
	rs := oc.ev.reg
	var steps []*occurrence
	for _, s := range m.inc.scales[nameKey{"ReplicaSet", rs.Namespace, rs.Name}] {
		if m.inc.ments[s].verb == v && (m.owner(rs.UID) == "" || m.owner(rs.UID) == s.ev.reg.UID) {
			steps = append(steps, s)
		}
	}
	if len(steps) == 0 {
		return nil
	}
	var moments []when
	for _, uid := range uids {
		if w := at(uid); w.known() {
			moments = append(moments, w)
		}
	}
	if len(moments) == 0 {
		moments = []when{oc.at.upper()} // it happened before the message
	}
	r := ruleScaleUp
	if v == scaleDown {
		r = ruleScaleDown
	}
	x := &expect{rule: r}
	for _, p := range moments {
		x.add(&expect{occs: latestBefore(steps, p, m.change)})
	}
	if len(x.occs) == 0 {
		return nil
	}
	return x
}

// latestBefore returns the steps whose change may be the latest before p:
// those not after p that no other step is known to come between.
func latestBefore(steps []*occurrence, p when, change func(*occurrence) when) []*occurrence {
	var out []*occurrence
	for _, s := range steps {
		cs := change(s)
		if before(cs, p) == no {
			continue
		}
		superseded := false
		for _, t := range steps {
			if t != s && before(cs, change(t)) == yes && before(change(t), p) == yes {
				superseded = true
				break
			}
		}
		if !superseded {
			out = append(out, s)
		}
	}
	return out
}

// change is when the ReplicaSet's spec.replicas changed for a scale step:
// the latest change of the ReplicaSet's generation stored before the
// step's message, when its history was recorded from its creation; else
// between the Deployment's previous scale message and this one.
func (m *model) change(s *occurrence) when {
	mt := m.inc.ments[s]
	for _, uid := range m.inc.byName[nameKey{"ReplicaSet", s.ev.reg.Namespace, mt.name}] {
		o := m.objs[uid]
		if o == nil || !o.recorded || o.created.rvLo == 0 || len(o.gens) == 0 {
			continue
		}
		if own := m.controller(uid); own != "" && own != s.ev.reg.UID {
			continue
		}
		// the latest change before the message, if the recording shows
		// the ReplicaSet's states on both sides of it
		found := -1
		for i := range o.gens {
			if before(o.gens[i].at, s.at) == yes {
				found = i
			}
		}
		switch {
		case found < 0:
		case found+1 < len(o.gens) && before(s.at, o.gens[found+1].at) != yes:
		case found+1 == len(o.gens) && !(o.lastRV != 0 && s.at.rvHi != 0 && o.lastRV > s.at.rvHi):
		default:
			return o.gens[found].at
		}
	}
	w := s.at.upper()
	var prev *occurrence
	for _, t := range m.inc.about[s.ev.reg.UID] {
		if _, ok := m.inc.ments[t]; ok && t != s && before(t.at, s.at) == yes && (prev == nil || cmpWhen(t.at, prev.at) > 0) {
			prev = t
		}
	}
	if prev != nil {
		w.rvLo, w.lo = prev.at.rvLo, prev.at.lo
	}
	return w
}

func containsOcc(s []*occurrence, o *occurrence) bool {
	for _, x := range s {
		if x == o {
			return true
		}
	}
	return false
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
