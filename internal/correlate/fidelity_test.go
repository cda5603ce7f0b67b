package correlate

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

// The shapes below are those where kspan once chose a cause rather than
// the cause. Each is checked by its own assertions and by the independent
// causal checker (internal/tracecheck), and in shuffled arrival orders.

// mustCause runs the causal checker on spans made from recs.
func mustCause(t *testing.T, spans []span.Span, recs []record.Record) {
	t.Helper()
	if bad := tracecheck.Causes(spans, recs); len(bad) > 0 {
		t.Errorf("causal check failed:\n  %s\n%s", strings.Join(bad, "\n  "), dump(spans))
	}
}

// under fails unless the span with message child hangs from the one with
// message parent.
func under(t *testing.T, spans []span.Span, child, parent string) {
	t.Helper()
	c := find(t, spans, child)
	if p := parentOf(t, spans, c); p.Attr(span.KeyEventMessage) != parent && p.Name != parent {
		t.Errorf("%q is under %q (%s), want %q", child, p.Attr(span.KeyEventMessage), p.Name, parent)
	}
}

func withUID(uid string) func(*record.Event) { return func(e *record.Event) { e.UID = uid } }

func TestEachPodUnderItsOwnScaleStep(t *testing.T) {
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.obj("ReplicaSet", "default", "web-new", "r2", 1, 0, ctl("Deployment", "web", "d1"))
	s.obj("ReplicaSet", "default", "web-old", "r1", 1, 0, ctl("Deployment", "web", "d1"))
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-new from 0 to 1", 1)
	s.ev("ReplicaSet", "web-new", "r2", "SuccessfulCreate", "Created pod: web-new-a", 1.1)
	s.ev("Pod", "web-new-a", "", "Started", "Started container a", 2.5)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled down replica set web-old from 2 to 1", 3)
	s.ev("ReplicaSet", "web-old", "r1", "SuccessfulDelete", "Deleted pod: web-old-x", 3.1)
	s.ev("Pod", "web-old-x", "", "Killing", "Stopping container x", 3.5)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-new from 1 to 2", 4)
	s.ev("ReplicaSet", "web-new", "r2", "SuccessfulCreate", "Created pod: web-new-b", 4.1)
	s.ev("Pod", "web-new-b", "", "Started", "Started container b", 5.5)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled down replica set web-old from 1 to 0", 6)
	s.ev("ReplicaSet", "web-old", "r1", "SuccessfulDelete", "Deleted pod: web-old-y", 6.1)
	s.ev("Pod", "web-old-y", "", "Killing", "Stopping container y", 6.5)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	under(t, spans, "Created pod: web-new-a", "Scaled up replica set web-new from 0 to 1")
	under(t, spans, "Created pod: web-new-b", "Scaled up replica set web-new from 1 to 2")
	under(t, spans, "Deleted pod: web-old-x", "Scaled down replica set web-old from 2 to 1")
	under(t, spans, "Deleted pod: web-old-y", "Scaled down replica set web-old from 1 to 0")
	under(t, spans, "Started container b", "Created pod: web-new-b")
	under(t, spans, "Stopping container y", "Deleted pod: web-old-y")
	if n := traces(spans); n != 1 {
		t.Errorf("%d traces, want 1", n)
	}
	mustCause(t, spans, s.recs)
	permutations(t, Config{}, s.recs, 10)
}

func TestCombinedEventNamesItsOwnStep(t *testing.T) {
	// Past ten similar Events the legacy recorder reuses one Event object:
	// each count names its own step.
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.obj("ReplicaSet", "default", "web-a", "r1", 1, 0, ctl("Deployment", "web", "d1"))
	count := func(n int32) func(*record.Event) {
		return func(e *record.Event) { e.UID, e.Count, e.First = "agg", n, at(1).Truncate(time.Second) }
	}
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "(combined from similar events): Scaled up replica set web-a from 1 to 2", 1, count(11))
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: web-a-1", 1.1)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "(combined from similar events): Scaled up replica set web-a from 2 to 3", 3, count(12))
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: web-a-2", 3.1)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	under(t, spans, "Created pod: web-a-1", "(combined from similar events): Scaled up replica set web-a from 1 to 2")
	under(t, spans, "Created pod: web-a-2", "(combined from similar events): Scaled up replica set web-a from 2 to 3")
	mustCause(t, spans, s.recs)
}

func TestNameUsedAgainResolvesToTheIncarnation(t *testing.T) {
	// A StatefulSet's rolling update deletes db-2 and creates a new db-2
	// within a second: the old pod's Killing belongs to its deletion.
	var s scenario
	s.obj("StatefulSet", "default", "db", "s1", 1, 0, nil)
	old := s.obj("Pod", "default", "db-2", "old", 0, 0, ctl("StatefulSet", "db", "s1"))
	s.ev("StatefulSet", "db", "s1", "SuccessfulCreate", "create Pod db-2 in StatefulSet db successful", 0.2)
	s.ev("Pod", "db-2", "old", "Started", "Started container old", 1.5)
	gone := *old
	gone.Deleting = at(10.1)
	s.recs = append(s.recs, record.Record{Observed: at(10.1), Object: &gone})
	s.ev("StatefulSet", "db", "s1", "SuccessfulDelete", "delete Pod db-2 in StatefulSet db successful", 10.2)
	s.recs = append(s.recs, record.Record{Observed: at(10.5), Op: record.Delete, Object: &gone})
	nu := &record.Object{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "db-2", UID: "new", Created: at(10).Truncate(time.Second),
		Owners: []record.OwnerRef{*ctl("StatefulSet", "db", "s1")}}
	s.recs = append(s.recs, record.Record{Observed: at(10.6), Object: nu})
	s.ev("StatefulSet", "db", "s1", "SuccessfulCreate", "create Pod db-2 in StatefulSet db successful", 10.6, withUID("create-new"))
	s.ev("Pod", "db-2", "old", "Killing", "Stopping container old", 10.7)
	s.ev("Pod", "db-2", "new", "Scheduled", "Successfully assigned default/db-2", 10.8, precise)
	s.ev("Pod", "db-2", "new", "Started", "Started container new", 12)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	under(t, spans, "Stopping container old", "delete Pod db-2 in StatefulSet db successful")
	under(t, spans, "Started container old", "create Pod db-2 in StatefulSet db successful")
	for _, m := range []string{"Successfully assigned default/db-2", "Started container new"} {
		p := parentOf(t, spans, find(t, spans, m))
		if p.Attr(span.KeyEventUID) != "create-new" {
			t.Errorf("%q is under %s %s, want the second create", m, p.Name, p.Attr(span.KeyEventUID))
		}
	}
	mustCause(t, spans, s.recs)
	permutations(t, Config{}, s.recs, 10)
}

func TestPodStartNotUnderItsDeletion(t *testing.T) {
	// A pod created by a scale-up and deleted a moment later by the next
	// step: its Pulled and Started (same second) belong to its creation.
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.obj("ReplicaSet", "default", "web-a", "r1", 1, 0, ctl("Deployment", "web", "d1"))
	s.obj("Pod", "default", "web-a-1", "p1", 0, 0, ctl("ReplicaSet", "web-a", "r1"))
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 1", 0.1)
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: web-a-1", 0.2)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled down replica set web-a from 1 to 0", 2.1)
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulDelete", "Deleted pod: web-a-1", 2.2)
	s.ev("Pod", "web-a-1", "p1", "Pulled", "Pulled image", 2.3)
	s.ev("Pod", "web-a-1", "p1", "Started", "Started container", 2.4)
	s.ev("Pod", "web-a-1", "p1", "Killing", "Stopping container", 2.6)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	under(t, spans, "Pulled image", "Created pod: web-a-1")
	under(t, spans, "Started container", "Created pod: web-a-1")
	under(t, spans, "Stopping container", "Deleted pod: web-a-1")
	mustCause(t, spans, s.recs)
	permutations(t, Config{}, s.recs, 10)
}

func TestRunEndingJustBeforeADeletionStaysInTheRun(t *testing.T) {
	var s scenario
	s.obj("CronJob", "default", "tick", "c1", 1, 0, nil)
	s.obj("Job", "default", "tick-1", "j1", 1, 1, ctl("CronJob", "tick", "c1"))
	s.ev("CronJob", "tick", "c1", "SuccessfulCreate", "Created job tick-1", 1)
	s.ev("Job", "tick-1", "j1", "SuccessfulCreate", "Created pod: tick-1-a", 1.1)
	s.ev("Pod", "tick-1-a", "", "Started", "Started container", 2.5)
	s.ev("Job", "tick-1", "j1", "Completed", "Job completed", 4.2)
	s.ev("CronJob", "tick", "c1", "SawCompletedJob", "Saw completed job: tick-1, status: Complete", 4.4)
	c := &record.Object{Kind: "CronJob", Namespace: "default", Name: "tick", UID: "c1", Generation: 1, Created: at(0)}
	s.recs = append(s.recs, record.Record{Observed: at(4.9), Op: record.Delete, Object: c})
	s.ev("Pod", "tick-1-a", "", "Killing", "Stopping container", 5.5)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	run := find(t, spans, "Created job tick-1")
	for _, m := range []string{"Job completed", "Saw completed job: tick-1, status: Complete"} {
		if got := find(t, spans, m); got.TraceID != run.TraceID {
			t.Errorf("%q is not in the run's trace:\n%s", m, dump(spans))
		}
	}
	under(t, spans, "Job completed", "Created job tick-1")
	if root := parentOf(t, spans, find(t, spans, "Stopping container")); root.Name != "CronJob.Delete" {
		t.Errorf("the Killing after the deletion is under %q, want CronJob.Delete", root.Name)
	}
	mustCause(t, spans, s.recs)
	permutations(t, Config{}, s.recs, 10)
}

func TestUnstartedPodStaysInItsRollout(t *testing.T) {
	// A pod that cannot be scheduled: the scheduler's new FailedScheduling
	// Event ten minutes later still belongs to the rollout that created it.
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.obj("ReplicaSet", "default", "web-a", "r1", 1, 0, ctl("Deployment", "web", "d1"))
	s.obj("Pod", "default", "web-a-1", "p1", 0, 0, ctl("ReplicaSet", "web-a", "r1"))
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 1", 0.1)
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: web-a-1", 0.2)
	s.ev("Pod", "web-a-1", "p1", "FailedScheduling", "0/3 nodes are available (first)", 0.3, precise, warning)
	s.ev("Pod", "web-a-1", "p1", "FailedScheduling", "0/3 nodes are available (again)", 600, precise, warning)
	s.ev("Pod", "web-a-1", "p1", "FailedScheduling", "0/3 nodes are available (later)", 1500, precise, warning)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	for _, m := range []string{"0/3 nodes are available (first)", "0/3 nodes are available (again)", "0/3 nodes are available (later)"} {
		under(t, spans, m, "Created pod: web-a-1")
	}
	if n := traces(spans); n != 1 {
		t.Errorf("%d traces, want 1:\n%s", n, dump(spans))
	}
	mustCause(t, spans, s.recs)
}

func TestUntimedAndTimedChangeInOneSecondKeepEtcdOrder(t *testing.T) {
	// kubectl scale (no managedFields time) and an image change in the same
	// second, read in one batch: the scale's Events were stored before the
	// image change, and belong to the scale's generation.
	var s scenario
	dep := func(gen int64, spec float64, rv string) *record.Object {
		return &record.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "default", Name: "web", UID: "d1",
			Generation: gen, Created: at(0), SpecTime: at(spec), SpecManager: "kubectl", SpecOperation: "Update", ResourceVersion: rv}
	}
	s.recs = append(s.recs, record.Record{Observed: at(0.1), Object: dep(1, 0, "100")})
	s.obj("ReplicaSet", "default", "web-a", "r1", 1, 0, ctl("Deployment", "web", "d1"))
	s.obj("ReplicaSet", "default", "web-b", "r2", 1, 10, ctl("Deployment", "web", "d1"))
	s.recs = append(s.recs,
		record.Record{Observed: at(10.9), Object: dep(2, 0, "200")},
		record.Record{Observed: at(10.9), Object: dep(3, 10, "210")})
	rv := func(v string) func(*record.Event) { return func(e *record.Event) { e.ResourceVersion = v } }
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled down replica set web-a from 5 to 2", 10.95, rv("205"))
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-b from 0 to 1", 10.96, rv("215"))
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	down := find(t, spans, "Scaled down replica set web-a from 5 to 2")
	up := find(t, spans, "Scaled up replica set web-b from 0 to 1")
	if down.TraceID != span.TraceIDFor("d1", 2) || up.TraceID != span.TraceIDFor("d1", 3) {
		t.Errorf("scale-down in %s, scale-up in %s; want the traces of generations 2 and 3\n%s", down.TraceID, up.TraceID, dump(spans))
	}
	mustCause(t, spans, s.recs)
}

func TestTrackedBoundForgetsTheOldest(t *testing.T) {
	// More pods than MaxTracked: activities, Event states and remembered
	// creators stay within the bound, the oldest forgotten and counted.
	var s scenario
	s.obj("ReplicaSet", "default", "web-a", "r1", 1, 0, nil)
	for i := range 12 {
		name, uid := fmt.Sprintf("web-a-%d", i), fmt.Sprintf("p%d", i)
		s.obj("Pod", "default", name, uid, 0, float64(i*60), ctl("ReplicaSet", "web-a", "r1"))
		s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: "+name, float64(i*60)+0.1)
		s.ev("Pod", name, uid, "Started", "Started "+name, float64(i*60)+1)
	}
	cfg := Config{MaxTracked: 4}
	e := New(cfg)
	now := t0
	for _, r := range s.recs {
		now = maxTime(now, r.Observed)
		e.Add(r, now)
	}
	e.Advance(now.Add(time.Hour))
	if len(e.acts) > 4 || len(e.seen) > 4 || len(e.creators) > 4 || e.Stats().Forgotten == 0 {
		t.Errorf("%d activities, %d Event states, %d creators, %d forgotten; want at most 4 each and some forgotten",
			len(e.acts), len(e.seen), len(e.creators), e.Stats().Forgotten)
	}
}

// combinedObservedLate is the legacy aggregate Event of a Deployment whose
// third count is observed more than a second after its whole-second stamp
// (a busy watch): dated by its stamp, it would come before the counts it
// follows. With objects, the ReplicaSets' spec changes and the pods carry
// etcd's revisions.
func combinedObservedLate(withObjects bool) *scenario {
	var s scenario
	obs := func(sec float64) { s.recs[len(s.recs)-1].Observed = at(sec) }
	obj := func(kind, name, uid string, gen int64, created float64, owner *record.OwnerRef, rv string, seen float64) *record.Object {
		o := s.obj(kind, "default", name, uid, gen, created, owner)
		o.ResourceVersion = rv
		obs(seen)
		return o
	}
	pod := func(name, uid, rs, rsUID, rv string, seen float64) *record.Object {
		return obj("Pod", name, uid, 1, seen, ctl("ReplicaSet", rs, rsUID), rv, seen)
	}
	count := func(n int32, rv string) func(*record.Event) {
		return func(e *record.Event) {
			e.UID, e.Count, e.First, e.ResourceVersion = "agg", n, at(10).Truncate(time.Second), rv
			e.Last = at(10)
		}
	}
	rv := func(v string) func(*record.Event) { return func(e *record.Event) { e.ResourceVersion = v } }
	if withObjects {
		obj("Deployment", "web", "d1", 1, 0, nil, "10", 0)
		obj("ReplicaSet", "web-a", "ra", 1, 0, ctl("Deployment", "web", "d1"), "11", 0)
		obj("ReplicaSet", "web-b", "rb", 1, 0, ctl("Deployment", "web", "d1"), "12", 0)
		pod("web-b-1", "pb1", "web-b", "rb", "13", 0)
		pod("web-b-2", "pb2", "web-b", "rb", "14", 0)
		obj("ReplicaSet", "web-a", "ra", 2, 0, ctl("Deployment", "web", "d1"), "100", 10.2)
		pod("web-a-1", "pa1", "web-a", "ra", "102", 10.25)
	}
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "(combined from similar events): Scaled up replica set web-a from 5 to 6", 10.3, count(1, "103"))
	s.ev("ReplicaSet", "web-a", "ra", "SuccessfulCreate", "Created pod: web-a-1", 10.4, rv("104"))
	if withObjects {
		obj("ReplicaSet", "web-b", "rb", 2, 0, ctl("Deployment", "web", "d1"), "105", 10.45)
		for i, p := range []string{"pb1", "pb2"} {
			o := pod("web-b-"+string(rune('1'+i)), p, "web-b", "rb", strconv.Itoa(106+i), 10.45)
			o.Created, o.Deleting = at(0), at(10.45)
		}
	}
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "(combined from similar events): Scaled down replica set web-b from 4 to 2", 10.5, count(2, "108"))
	s.ev("ReplicaSet", "web-b", "rb", "SuccessfulDelete", "Deleted pod: web-b-1", 10.6, rv("109"))
	s.ev("ReplicaSet", "web-b", "rb", "SuccessfulDelete", "Deleted pod: web-b-2", 10.6, rv("110"))
	if withObjects {
		obj("ReplicaSet", "web-a", "ra", 3, 0, ctl("Deployment", "web", "d1"), "111", 10.7)
		pod("web-a-2", "pa2", "web-a", "ra", "112", 10.75)
		pod("web-a-3", "pa3", "web-a", "ra", "113", 10.75)
	}
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "(combined from similar events): Scaled up replica set web-a from 6 to 8", 11.2, count(3, "114"))
	s.ev("ReplicaSet", "web-a", "ra", "SuccessfulCreate", "Created pod: web-a-2", 11.3, rv("115"))
	s.ev("ReplicaSet", "web-a", "ra", "SuccessfulCreate", "Created pod: web-a-3", 11.3, rv("116"))
	return &s
}

func TestCombinedCountObservedLateKeepsTheEarlierCounts(t *testing.T) {
	const (
		up1  = "(combined from similar events): Scaled up replica set web-a from 5 to 6"
		down = "(combined from similar events): Scaled down replica set web-b from 4 to 2"
		up3  = "(combined from similar events): Scaled up replica set web-a from 6 to 8"
	)
	for _, withObjects := range []bool{true, false} {
		t.Run(fmt.Sprintf("objects=%v", withObjects), func(t *testing.T) {
			s := combinedObservedLate(withObjects)
			spans := run(t, Config{}, s.recs)
			mustPass(t, spans, s.events)
			c1, c2, c3 := find(t, spans, up1), find(t, spans, down), find(t, spans, up3)
			if c3.Start.Before(c2.Start) || c2.Start.Before(c1.Start) {
				t.Errorf("counts out of order: #1 at %v, #2 at %v, #3 at %v", c1.Start, c2.Start, c3.Start)
			}
			permutations(t, Config{}, s.recs, 20)
			if !withObjects {
				return // the clock alone cannot tell steps of one second apart
			}
			under(t, spans, "Created pod: web-a-1", up1)
			under(t, spans, "Deleted pod: web-b-1", down)
			under(t, spans, "Deleted pod: web-b-2", down)
			under(t, spans, "Created pod: web-a-2", up3)
			under(t, spans, "Created pod: web-a-3", up3)
			mustCause(t, spans, s.recs)
		})
	}
}
