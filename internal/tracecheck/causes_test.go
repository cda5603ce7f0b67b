package tracecheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// scenario is a recording and two ways of tracing it: good follows the
// causal model, bad breaks it in one place, which Causes must report with
// a line containing want.
type scenario struct {
	name string
	recs []record.Record
	good []span.Span
	bad  []span.Span
	want []string
	// decided says every cause must be decided (none ambiguous).
	decided bool
}

func TestCauses(t *testing.T) {
	for _, sc := range []scenario{
		rolloutSteps(), statefulSetReuse(), startedUnderDelete(), cronRunNotDeletion(),
		lateFailedScheduling(), twoGenerations(), storedBeforeGeneration(), chaining(),
		garbageCollected(), startedAfterDeletion(false), startedAfterDeletion(true),
		reusedInASecond(true, true, false), reusedInASecond(true, true, true),
		reusedInASecond(false, true, false), reusedInASecond(false, true, true),
		reusedInASecond(true, false, false), reusedInASecond(false, false, false),
	} {
		t.Run(sc.name, func(t *testing.T) {
			if bad := Check(sc.good, nil); len(bad) > 0 {
				t.Fatalf("the good traces are malformed:\n  %s", strings.Join(bad, "\n  "))
			}
			rep := Verify(sc.good, sc.recs)
			if len(rep.Violations) > 0 {
				t.Errorf("good traces flagged:\n  %s", strings.Join(rep.Violations, "\n  "))
			}
			if rep.Occurrences == 0 || rep.Unrecorded > 0 || (sc.decided && rep.Ambiguous > 0) {
				t.Errorf("report %+v", rep)
			}
			got := Causes(sc.bad, sc.recs)
			for _, w := range sc.want {
				if !containsLine(got, w) {
					t.Errorf("bad traces: no line contains %q; got:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
			if len(got) == 0 {
				t.Errorf("bad traces accepted")
			}
		})
	}
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// deployment records a Deployment with one ReplicaSet.
func deployment(s *stream) (d, rs *record.Object) {
	d = s.obj(0, "Deployment", "web", "D", 1, nil, 0)
	rs = s.obj(0.1, "ReplicaSet", "web-1", "R", 1, ownerRef(d), 0.1)
	return d, rs
}

// A rollout of two scale-up steps: each pod's creation hangs under its own
// step, even when the step's message is stored after the pod was created.
func rolloutSteps() scenario {
	s := newStream()
	d, rs := deployment(s)
	s1 := s.ev(0.2, "s1", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 1")
	s.obj(0.3, "Pod", "web-1-a", "P1", 1, ownerRef(rs), 0.3)
	c1 := s.ev(0.35, "c1", rs, "SuccessfulCreate", "Created pod: web-1-a")
	s.obj(2.0, "ReplicaSet", "web-1", "R", 2, ownerRef(d), 0.1)
	s.obj(2.1, "Pod", "web-1-b", "P2", 1, ownerRef(rs), 2.1)
	s2 := s.ev(2.2, "s2", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 1 to 2")
	c2 := s.ev(2.3, "c2", rs, "SuccessfulCreate", "Created pod: web-1-b")
	s.obj(2.4, "ReplicaSet", "web-1", "R", 2, ownerRef(d), 0.1)
	mk := func(c2parent *record.Event) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Deployment.Create", d, 1, 0)
		p1, p2 := ts.event(tr, root, s1), ts.event(tr, root, s2)
		ts.event(tr, p1, c1)
		ts.event(tr, map[*record.Event]span.ID{s1: p1, s2: p2}[c2parent], c2)
		return ts.spans
	}
	return scenario{name: "rollout steps", recs: s.recs, good: mk(s2), bad: mk(s1),
		want: []string{`parent: SuccessfulCreate on ReplicaSet ns/web-1 #1 "Created pod: web-1-b" has parent ScalingReplicaSet on Deployment ns/web #1 "Scaled up replica set web-1 from 0 to 1"; the model expects ScalingReplicaSet on Deployment ns/web #1 "Scaled up replica set web-1 from 1 to 2" (scale-up)`}}
}

// A StatefulSet pod deleted and recreated under its name is a new object:
// the old one's Killing is under the deletion, not the new creation.
func statefulSetReuse() scenario {
	s := newStream()
	sts := s.obj(0, "StatefulSet", "db", "S", 1, nil, 0)
	old := s.obj(0.1, "Pod", "db-0", "P1", 1, ownerRef(sts), 0.1)
	cr1 := s.ev(0.2, "cr", sts, "SuccessfulCreate", "create Pod db-0 in StatefulSet db successful")
	sch1 := s.ev(0.3, "sch1", old, "Scheduled", "Successfully assigned ns/db-0 to node-0")
	s.deleting(3, old)
	dl := s.ev(3.05, "dl", sts, "SuccessfulDelete", "delete Pod db-0 in StatefulSet db successful")
	kill := s.ev(3.2, "kill", old, "Killing", "Stopping container db")
	s.gone(3.5, old)
	nw := s.obj(4, "Pod", "db-0", "P2", 1, ownerRef(sts), 4)
	cr2 := s.ev(4.05, "cr", sts, "SuccessfulCreate", "Create Pod db-0 in StatefulSet db successful")
	sch2 := s.ev(4.1, "sch2", nw, "Scheduled", "Successfully assigned ns/db-0 to node-1")
	mk := func(killUnderDelete bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("StatefulSet.Create", sts, 1, 0)
		a, d, b := ts.event(tr, root, cr1), ts.event(tr, root, dl), ts.event(tr, root, cr2)
		ts.event(tr, a, sch1)
		ts.event(tr, b, sch2)
		if killUnderDelete {
			ts.event(tr, d, kill)
		} else {
			ts.event(tr, b, kill)
		}
		return ts.spans
	}
	return scenario{name: "statefulset name reused", recs: s.recs, good: mk(true), bad: mk(false),
		want: []string{`parent: Killing on Pod ns/db-0 #1 "Stopping container db" has parent SuccessfulCreate on StatefulSet ns/db #2 "Create Pod db-0 in StatefulSet db successful"; the model expects SuccessfulDelete on StatefulSet ns/db #1 "delete Pod db-0 in StatefulSet db successful" (deleter)`}}
}

// A StatefulSet pod deleted and recreated within one second: the delete
// message (whole-second time 10) and the new pod's creationTimestamp (10)
// cannot be ordered by time, yet the message reports the deletion that
// began at 10.1, the old pod's. Its Killing is under the delete, not under
// either creation; the new pod's creation message is the new pod's. With
// Events' resourceVersions (eventRVs) etcd's order decides; without them
// the old pod's recorded deletion and the new pod's recorded states do. oldCreate says the recording holds
// the old pod's creation message; killUnderOld is the bad trace that puts
// the Killing under it (else under the new creation); it also puts the new
// pod's Killing, when that pod is deleted in turn, under the first delete.
func reusedInASecond(eventRVs, oldCreate, killUnderOld bool) scenario {
	s := newStream()
	coarse := func(e *record.Event) *record.Event {
		e.Coarse, e.First, e.Last = true, e.First.Truncate(time.Second), e.Last.Truncate(time.Second)
		return e
	}
	createMsg := "create Pod db-2 in StatefulSet db successful"
	sts := s.obj(0, "StatefulSet", "db", "S", 1, nil, 0)
	old := s.obj(0.1, "Pod", "db-2", "old", 1, ownerRef(sts), 0.1)
	var cr1 *record.Event
	if oldCreate {
		cr1 = coarse(s.ev(0.2, "cr", sts, "SuccessfulCreate", createMsg))
	}
	st1 := coarse(s.ev(1, "st1", old, "Started", "Started container db"))
	s.deleting(10.1, old)
	dl := coarse(s.ev(10.2, "dl", sts, "SuccessfulDelete", "delete Pod db-2 in StatefulSet db successful"))
	s.gone(10.5, old)
	nw := s.obj(10.6, "Pod", "db-2", "new", 1, ownerRef(sts), 10.0)
	cr2 := coarse(s.ev(10.6, "cr", sts, "SuccessfulCreate", createMsg))
	sch2 := coarse(s.ev(10.65, "sch2", nw, "Scheduled", "Successfully assigned ns/db-2 to node-1"))
	// Without revisions, a Killing in the second its pod's deletion began
	// in may have come before it (and then be under the creation): the
	// recording cannot tell, so those recordings have it a second later.
	late := 0.0
	if !eventRVs {
		late = 0.5
	}
	kill := coarse(s.ev(10.7+late, "kill", old, "Killing", "Stopping container db"))
	// the new pod deleted in turn, reported by the same Event's second
	// occurrence
	s.deleting(30.1, nw)
	dl2 := coarse(s.ev(30.2, "dl", sts, "SuccessfulDelete", "delete Pod db-2 in StatefulSet db successful"))
	s.gone(30.5, nw)
	kill2 := coarse(s.ev(30.7+late, "kill2", nw, "Killing", "Stopping container db"))
	if !eventRVs {
		for _, r := range s.recs {
			if r.Event != nil {
				r.Event.ResourceVersion = ""
			}
		}
	}
	mk := func(killParent, kill2Parent *record.Event) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("StatefulSet.Create", sts, 1, 0)
		ids := map[*record.Event]span.ID{}
		for _, e := range []*record.Event{cr1, dl, cr2, dl2} {
			if e != nil {
				ids[e] = ts.event(tr, root, e)
			}
		}
		if cr1 != nil {
			ts.event(tr, ids[cr1], st1)
		} else {
			ts.event(tr, root, st1) // no creation message: no cause
		}
		ts.event(tr, ids[cr2], sch2)
		ts.event(tr, ids[killParent], kill)
		ts.event(tr, ids[kill2Parent], kill2)
		return ts.spans
	}
	name := fmt.Sprintf("name reused within a second (event RVs %v, old creation %v, Killing under old creation %v)", eventRVs, oldCreate, killUnderOld)
	bad, n := cr2, cr2.Count
	if killUnderOld {
		bad, n = cr1, 1
	}
	delMsg := "delete Pod db-2 in StatefulSet db successful"
	return scenario{name: name, recs: s.recs, good: mk(dl, dl2), bad: mk(bad, dl), decided: true,
		want: []string{
			fmt.Sprintf(`parent: Killing on Pod ns/db-2 #1 "Stopping container db" has parent SuccessfulCreate on StatefulSet ns/db #%d "%s"; the model expects SuccessfulDelete on StatefulSet ns/db #1 "%s" (deleter)`, n, createMsg, delMsg),
			fmt.Sprintf(`parent: Killing on Pod ns/db-2 #1 "Stopping container db" has parent SuccessfulDelete on StatefulSet ns/db #1 "%s"; the model expects SuccessfulDelete on StatefulSet ns/db #2 "%s" (deleter)`, delMsg, delMsg),
		}}
}

// A pod's Started, before its deletion, is under its creation, never under
// the message that deleted it.
func startedUnderDelete() scenario {
	s := newStream()
	d, rs := deployment(s)
	up := s.ev(0.2, "up", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 1")
	p := s.obj(0.3, "Pod", "web-1-a", "P", 1, ownerRef(rs), 0.3)
	cr := s.ev(0.35, "cr", rs, "SuccessfulCreate", "Created pod: web-1-a")
	st := s.ev(1, "st", p, "Started", "Started container web")
	s.obj(5, "ReplicaSet", "web-1", "R", 2, ownerRef(d), 0.1)
	down := s.ev(5.1, "down", d, "ScalingReplicaSet", "Scaled down replica set web-1 from 1 to 0")
	s.deleting(5.2, p)
	del := s.ev(5.25, "del", rs, "SuccessfulDelete", "Deleted pod: web-1-a")
	kill := s.ev(5.3, "kill", p, "Killing", "Stopping container web")
	s.obj(5.5, "ReplicaSet", "web-1", "R", 2, ownerRef(d), 0.1)
	mk := func(startedUnderDeleted bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Deployment.Create", d, 1, 0)
		u, w := ts.event(tr, root, up), ts.event(tr, root, down)
		c, x := ts.event(tr, u, cr), ts.event(tr, w, del)
		ts.event(tr, x, kill)
		if startedUnderDeleted {
			ts.event(tr, x, st)
		} else {
			ts.event(tr, c, st)
		}
		return ts.spans
	}
	return scenario{name: "started under deleted pod", recs: s.recs, good: mk(false), bad: mk(true),
		want: []string{`parent: Started on Pod ns/web-1-a #1 "Started container web" has parent SuccessfulDelete on ReplicaSet ns/web-1 #1 "Deleted pod: web-1-a"; the model expects SuccessfulCreate on ReplicaSet ns/web-1 #1 "Created pod: web-1-a" (creator)`}}
}

// A pod deleted right after its creation (the next rollout's scale-down)
// starts after its deletion began: its Pulled and Started, which the
// deletion did not cause, are under its creation; only its Killing is under
// the deletion. badKill is the bad trace that puts the Killing under the
// creation (else the Started under the deletion).
func startedAfterDeletion(badKill bool) scenario {
	s := newStream()
	d, rs := deployment(s)
	up := s.ev(0.2, "up", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 1")
	p := s.obj(0.3, "Pod", "web-1-a", "P", 1, ownerRef(rs), 0.3)
	cr := s.ev(0.35, "cr", rs, "SuccessfulCreate", "Created pod: web-1-a")
	s.obj(0.5, "ReplicaSet", "web-1", "R", 2, ownerRef(d), 0.1)
	down := s.ev(0.55, "down", d, "ScalingReplicaSet", "Scaled down replica set web-1 from 1 to 0")
	s.deleting(0.6, p)
	del := s.ev(0.65, "del", rs, "SuccessfulDelete", "Deleted pod: web-1-a")
	pul := s.ev(0.7, "pul", p, "Pulled", "Container image already present")
	st := s.ev(0.75, "st", p, "Started", "Started container web")
	kill := s.ev(0.8, "kill", p, "Killing", "Stopping container web")
	s.gone(1.5, p)
	mk := func(startedUnderDeleted, killUnderCreated bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Deployment.Create", d, 1, 0)
		u, w := ts.event(tr, root, up), ts.event(tr, root, down)
		c, x := ts.event(tr, u, cr), ts.event(tr, w, del)
		ts.event(tr, c, pul)
		if startedUnderDeleted {
			ts.event(tr, x, st)
		} else {
			ts.event(tr, c, st)
		}
		if killUnderCreated {
			ts.event(tr, c, kill)
		} else {
			ts.event(tr, x, kill)
		}
		return ts.spans
	}
	want := `parent: Started on Pod ns/web-1-a #1 "Started container web" has parent SuccessfulDelete on ReplicaSet ns/web-1 #1 "Deleted pod: web-1-a"; the model expects SuccessfulCreate on ReplicaSet ns/web-1 #1 "Created pod: web-1-a" (creator)`
	if badKill {
		want = `parent: Killing on Pod ns/web-1-a #1 "Stopping container web" has parent SuccessfulCreate on ReplicaSet ns/web-1 #1 "Created pod: web-1-a"; the model expects SuccessfulDelete on ReplicaSet ns/web-1 #1 "Deleted pod: web-1-a" (deleter)`
	}
	return scenario{name: fmt.Sprintf("started after its deletion began (Killing under creation %v)", badKill),
		recs: s.recs, good: mk(false, false), bad: mk(!badKill, badKill), decided: true, want: []string{want}}
}

// A CronJob run's completion just before the CronJob is deleted belongs to
// the run, not to the CronJob's deletion trace.
func cronRunNotDeletion() scenario {
	s := newStream()
	cj := s.obj(0, "CronJob", "tick", "C", 1, nil, 0)
	job := s.obj(0.05, "Job", "tick-1", "J", 1, ownerRef(cj), 0.05)
	cr := s.ev(0.1, "cr", cj, "SuccessfulCreate", "Created job tick-1")
	done := s.ev(3, "done", job, "Completed", "Job completed")
	saw := s.ev(3.01, "saw", cj, "SawCompletedJob", "Saw completed job: tick-1, condition: Complete")
	s.gone(4, cj)
	s.deleting(4.1, job)
	mk := func(inDelete bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("CronJob.Run", cj, 1, 1)
		c := ts.event(tr, root, cr)
		if inDelete {
			dtr, droot := ts.root("CronJob.Delete", cj, 1, 2)
			ts.event(dtr, droot, done)
			ts.event(dtr, droot, saw)
		} else {
			ts.event(tr, c, done)
			ts.event(tr, root, saw)
		}
		return ts.spans
	}
	return scenario{name: "cronjob run is not its deletion", recs: s.recs, good: mk(false), bad: mk(true),
		want: []string{
			`parent: Completed on Job ns/tick-1 #1 "Job completed" has parent root CronJob.Delete ns/tick (C generation 1); the model expects SuccessfulCreate on CronJob ns/tick #1 "Created job tick-1" (creator)`,
			`deletion trace: Completed on Job ns/tick-1 #1 "Job completed" is in trace`,
			`deletion trace: SawCompletedJob on CronJob ns/tick #1`,
		}}
}

// A pod's FailedScheduling repeated minutes later is still caused by the
// pod's creation: not a trace of its own.
func lateFailedScheduling() scenario {
	s := newStream()
	d, rs := deployment(s)
	up := s.ev(0.2, "up", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 1")
	p := s.obj(0.3, "Pod", "web-1-a", "P", 1, ownerRef(rs), 0.3)
	cr := s.ev(0.35, "cr", rs, "SuccessfulCreate", "Created pod: web-1-a")
	f1 := s.ev(0.5, "fs", p, "FailedScheduling", "0/3 nodes are available")
	f1c := *f1
	f2 := s.ev(300, "fs", p, "FailedScheduling", "0/3 nodes are available")
	mk := func(separate bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Deployment.Create", d, 1, 0)
		u := ts.event(tr, root, up)
		c := ts.event(tr, u, cr)
		ts.event(tr, c, &f1c)
		if separate {
			tr2, root2 := ts.root("Deployment.Activity", d, 1, 1)
			ts.event(tr2, root2, f2)
		} else {
			ts.event(tr, c, f2)
		}
		return ts.spans
	}
	return scenario{name: "late FailedScheduling", recs: s.recs, good: mk(false), bad: mk(true),
		want: []string{`parent: FailedScheduling on Pod ns/web-1-a #2 "0/3 nodes are available" has parent root Deployment.Activity ns/web (D generation 1); the model expects SuccessfulCreate on ReplicaSet ns/web-1 #1 "Created pod: web-1-a" (creator)`}}
}

// Every spec change is its own trace.
func twoGenerations() scenario {
	s := newStream()
	d, _ := deployment(s)
	s1 := s.ev(0.2, "s1", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 1")
	d2 := s.obj(10, "Deployment", "web", "D", 2, nil, 0)
	s.obj(10.1, "ReplicaSet", "web-2", "R2", 1, ownerRef(d2), 10.1)
	s2 := s.ev(10.2, "s2", d, "ScalingReplicaSet", "Scaled up replica set web-2 from 0 to 1")
	mk := func(one bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Deployment.Create", d, 1, 0)
		ts.event(tr, root, s1)
		if !one {
			tr, root = ts.root("Deployment.Update", d2, 2, 0)
		}
		ts.event(tr, root, s2)
		return ts.spans
	}
	return scenario{name: "two generations in one trace", recs: s.recs, good: mk(false), bad: mk(true),
		want: []string{
			`mixed: trace`,
			`holds two generations of Deployment ns/web (D): ScalingReplicaSet on Deployment ns/web #1 "Scaled up replica set web-1 from 0 to 1" (generation 1) and ScalingReplicaSet on Deployment ns/web #1 "Scaled up replica set web-2 from 0 to 1" (generation 2)`,
			`trace: ScalingReplicaSet on Deployment ns/web #1 "Scaled up replica set web-2 from 0 to 1" is in trace`,
		}}
}

// An Event stored before a generation was first seen (by resourceVersion,
// whatever its timestamp says) cannot belong to that generation.
func storedBeforeGeneration() scenario {
	s := newStream()
	d, _ := deployment(s)
	d2 := s.obj(10, "Deployment", "web", "D", 2, nil, 0)
	e := s.ev(10.5, "late", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 1 to 2")
	e.ResourceVersion = "102" // stored before generation 2 (first seen at 103)
	mk := func(inGen2 bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Deployment.Create", d, 1, 0)
		if inGen2 {
			tr, root = ts.root("Deployment.Update", d2, 2, 0)
		}
		ts.event(tr, root, e)
		return ts.spans
	}
	return scenario{name: "stored before the generation", recs: s.recs, good: mk(false), bad: mk(true),
		want: []string{`trace: ScalingReplicaSet on Deployment ns/web #1 "Scaled up replica set web-1 from 1 to 2" is in trace`,
			`the model anchors it to Deployment ns/web (D) generation 1`}}
}

// An object's Events are never parents of each other.
func chaining() scenario {
	s := newStream()
	p := s.obj(0, "Pod", "solo", "P", 1, nil, 0)
	sch := s.ev(0.2, "sch", p, "Scheduled", "Successfully assigned ns/solo to node-0")
	pul := s.ev(1, "pul", p, "Pulled", "Container image already present")
	mk := func(chain bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Pod.Create", p, 1, 0)
		a := ts.event(tr, root, sch)
		if chain {
			ts.event(tr, a, pul)
		} else {
			ts.event(tr, root, pul)
		}
		return ts.spans
	}
	return scenario{name: "chaining", recs: s.recs, good: mk(false), bad: mk(true),
		want: []string{`chained: Pulled on Pod ns/solo #1 "Container image already present" has parent Scheduled on Pod ns/solo #1`}}
}

// Pods the garbage collector removes after their Deployment's deletion
// began may hang under that deletion's root; what happened before it may
// not be in its trace.
func garbageCollected() scenario {
	s := newStream()
	d, rs := deployment(s)
	up := s.ev(0.2, "up", d, "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 1")
	p := s.obj(0.3, "Pod", "web-1-a", "P", 1, ownerRef(rs), 0.3)
	cr := s.ev(0.35, "cr", rs, "SuccessfulCreate", "Created pod: web-1-a")
	st := s.ev(1, "st", p, "Started", "Started container web")
	s.gone(5, d)
	s.gone(5.1, rs)
	s.deleting(5.2, p)
	kill := s.ev(5.3, "kill", p, "Killing", "Stopping container web")
	mk := func(startedInDelete bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("Deployment.Create", d, 1, 0)
		c := ts.event(tr, ts.event(tr, root, up), cr)
		dtr, droot := ts.root("Deployment.Delete", d, 1, 1)
		ts.event(dtr, droot, kill)
		if startedInDelete {
			ts.event(dtr, droot, st)
		} else {
			ts.event(tr, c, st)
		}
		return ts.spans
	}
	return scenario{name: "garbage collected", recs: s.recs, good: mk(false), bad: mk(true),
		want: []string{`deletion trace: Started on Pod ns/web-1-a #1 "Started container web" is in trace`,
			`parent: Started on Pod ns/web-1-a #1 "Started container web" has parent root Deployment.Delete`}}
}

// Without object states (a kubectl snapshot of Events), the n-th creation
// message of a name still creates the n-th object of that name: the old
// pod's Event is not under the second creation.
func TestCausesEventsOnly(t *testing.T) {
	s := newStream()
	sts := &record.Object{Kind: "StatefulSet", Namespace: "ns", Name: "db", UID: "S"}
	old := &record.Object{Kind: "Pod", Namespace: "ns", Name: "db-0", UID: "P1"}
	nw := &record.Object{Kind: "Pod", Namespace: "ns", Name: "db-0", UID: "P2"}
	cr1 := s.ev(0.2, "cr", sts, "SuccessfulCreate", "create Pod db-0 in StatefulSet db successful")
	sch1 := s.ev(0.3, "sch1", old, "Scheduled", "Successfully assigned ns/db-0 to node-0")
	cr1c := *cr1
	cr2 := s.ev(4.05, "cr", sts, "SuccessfulCreate", "create Pod db-0 in StatefulSet db successful")
	sch2 := s.ev(4.1, "sch2", nw, "Scheduled", "Successfully assigned ns/db-0 to node-1")
	mk := func(swap bool) []span.Span {
		ts := &traces{t0: s.t0}
		tr, root := ts.root("StatefulSet.Activity", sts, 0, 0)
		a, b := ts.event(tr, root, &cr1c), ts.event(tr, root, cr2)
		if swap {
			a, b = b, a
		}
		ts.event(tr, a, sch1)
		ts.event(tr, b, sch2)
		return ts.spans
	}
	if rep := Verify(mk(false), s.recs); len(rep.Violations) > 0 || rep.Checked != 2 {
		t.Errorf("good traces: %+v", rep)
	}
	got := Causes(mk(true), s.recs)
	if !containsLine(got, `parent: Scheduled on Pod ns/db-0 #1 "Successfully assigned ns/db-0 to node-0" has parent SuccessfulCreate on StatefulSet ns/db #2`) {
		t.Errorf("swapped creators accepted:\n  %s", strings.Join(got, "\n  "))
	}
}
