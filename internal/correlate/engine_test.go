package correlate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

func sampleRollout(s *scenario, withObjects bool) {
	if withObjects {
		s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
		s.obj("ReplicaSet", "default", "web-abc", "r1", 1, 0, ctl("Deployment", "web", "d1"))
		s.obj("Pod", "default", "web-abc-1", "p1", 1, 1, ctl("ReplicaSet", "web-abc", "r1"))
		s.obj("Pod", "default", "web-abc-2", "p2", 1, 1, ctl("ReplicaSet", "web-abc", "r1"))
	}
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-abc from 0 to 2", 0.5)
	s.ev("ReplicaSet", "web-abc", "r1", "SuccessfulCreate", "Created pod: web-abc-1", 1.2)
	s.ev("ReplicaSet", "web-abc", "r1", "SuccessfulCreate", "Created pod: web-abc-2", 1.4)
	for i, p := range []string{"p1", "p2"} {
		name := "web-abc-" + string(rune('1'+i))
		s.ev("Pod", name, p, "Scheduled", "Successfully assigned default/"+name+" to node-0", 1.3+float64(i)*0.2, precise)
		s.ev("Pod", name, p, "Pulling", `Pulling image "nginx"`, 2)
		s.ev("Pod", name, p, "Pulled", `Successfully pulled image "nginx"`, 3)
		s.ev("Pod", name, p, "Created", "Created container: nginx", 3)
		s.ev("Pod", name, p, "Started", "Started container nginx", 4)
	}
}

func TestRolloutStructure(t *testing.T) {
	for _, withObjects := range []bool{true, false} {
		var s scenario
		sampleRollout(&s, withObjects)
		spans := run(t, Config{}, s.recs)
		mustPass(t, spans, s.events)
		if n := traces(spans); n != 1 {
			t.Fatalf("objects=%v: %d traces, want 1\n%s", withObjects, n, dump(spans))
		}
		scale := find(t, spans, "Scaled up replica set web-abc from 0 to 2")
		root := parentOf(t, spans, scale)
		if root.Name != "Deployment.Create" && root.Name != "Deployment.Activity" {
			t.Errorf("root is %q", root.Name)
		}
		if withObjects && root.TraceID != span.TraceIDFor("d1", 1) {
			t.Errorf("trace ID %s is not the hash of the Deployment's UID and generation", root.TraceID)
		}
		c1 := find(t, spans, "Created pod: web-abc-1")
		if parentOf(t, spans, c1).SpanID != scale.SpanID {
			t.Errorf("SuccessfulCreate not under ScalingReplicaSet")
		}
		for _, m := range []string{"Successfully assigned default/web-abc-1 to node-0", "Started container nginx"} {
			if p := parentOf(t, spans, find(t, spans, m)); p.SpanID != c1.SpanID {
				t.Errorf("%q is under %s, want Created pod: web-abc-1", m, p.Name)
			}
		}
		if root.End.Before(at(4)) || scale.End.Before(at(4)) {
			t.Errorf("parents do not cover their children: root ends %v, scale ends %v", root.End, scale.End)
		}
	}
}

func TestArrivalOrderDoesNotMatter(t *testing.T) {
	for _, withObjects := range []bool{true, false} {
		var s scenario
		sampleRollout(&s, withObjects)
		permutations(t, Config{}, s.recs, 30)
	}
}

func TestGenerationsAreSeparateTraces(t *testing.T) {
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 1", 1)
	s.ev("ReplicaSet", "web-a", "ra", "SuccessfulCreate", "Created pod: web-a-1", 1)
	d2 := s.obj("Deployment", "default", "web", "d1", 2, 20, nil)
	d2.SpecManager = "kubectl-set"
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-b from 0 to 1", 21)
	s.ev("ReplicaSet", "web-b", "rb", "SuccessfulCreate", "Created pod: web-b-1", 21)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled down replica set web-a from 1 to 0", 23)
	s.ev("ReplicaSet", "web-a", "ra", "SuccessfulDelete", "Deleted pod: web-a-1", 23)
	s.ev("Pod", "web-a-1", "pa1", "Killing", "Stopping container nginx", 23)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	first := find(t, spans, "Scaled up replica set web-a from 0 to 1")
	second := find(t, spans, "Scaled up replica set web-b from 0 to 1")
	if first.TraceID == second.TraceID {
		t.Fatalf("second rollout joined the first:\n%s", dump(spans))
	}
	if second.TraceID != span.TraceIDFor("d1", 2) {
		t.Errorf("second rollout trace %s, want hash(d1, 2)", second.TraceID)
	}
	if p := parentOf(t, spans, second); p.Name != "Deployment.Update" || p.Attr(span.KeyChangeManager) != "kubectl-set" {
		t.Errorf("second root %q manager %q", p.Name, p.Attr(span.KeyChangeManager))
	}
	del := find(t, spans, "Deleted pod: web-a-1")
	if p := parentOf(t, spans, del); p.Attr(span.KeyEventMessage) != "Scaled down replica set web-a from 1 to 0" {
		t.Errorf("Deleted pod under %q", p.Name)
	}
	if p := parentOf(t, spans, find(t, spans, "Stopping container nginx")); p.SpanID != del.SpanID {
		t.Errorf("Killing under %q, want Deleted pod", p.Name)
	}
	permutations(t, Config{}, s.recs, 20)
}

func TestParentArrivingLaterWithinHold(t *testing.T) {
	// kspan-v0: "Deleted pod" arrives 18ms before the "Scaled down" that caused it.
	var s scenario
	s.ev("Deployment", "px", "d1", "ScalingReplicaSet", "Scaled up replica set px-new to 1", 0)
	s.ev("ReplicaSet", "px-old", "r0", "SuccessfulDelete", "Deleted pod: px-old-1", 6)
	s.ev("Deployment", "px", "d1", "ScalingReplicaSet", "Scaled down replica set px-old to 1", 6)
	// Swap the arrival of the last two.
	n := len(s.recs)
	s.recs[n-1], s.recs[n-2] = s.recs[n-2], s.recs[n-1]
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	if p := parentOf(t, spans, find(t, spans, "Deleted pod: px-old-1")); p.Attr(span.KeyEventMessage) != "Scaled down replica set px-old to 1" {
		t.Errorf("Deleted pod is under %q", p.Name)
	}
}

func TestBarePodEventsAreSiblings(t *testing.T) {
	var s scenario
	s.obj("Pod", "default", "solo", "p1", 1, 0, nil)
	s.ev("Pod", "solo", "p1", "Scheduled", "Successfully assigned default/solo to n0", 0.5, precise)
	s.ev("Pod", "solo", "p1", "Pulling", "Pulling image", 1)
	s.ev("Pod", "solo", "p1", "Started", "Started container c", 2)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	root := parentOf(t, spans, find(t, spans, "Pulling image"))
	if root.Name != "Pod.Create" || !root.Parent.IsZero() {
		t.Errorf("root %q", root.Name)
	}
	if len(spans) != 4 {
		t.Errorf("%d spans, want 3 events + root", len(spans))
	}
}

func TestCronJobRunsAreSeparateTraces(t *testing.T) {
	var s scenario
	s.obj("CronJob", "default", "tick", "c1", 1, 0, nil)
	for i, sec := range []float64{60, 120, 180} {
		job := "tick-" + string(rune('a'+i))
		s.ev("CronJob", "tick", "c1", "SuccessfulCreate", "Created job "+job, sec)
		s.ev("Job", job, "j"+job, "SuccessfulCreate", "Created pod: "+job+"-x", sec+1)
		s.ev("Pod", job+"-x", "p"+job, "Started", "Started container c", sec+3)
		s.ev("Job", job, "j"+job, "Completed", "Job completed", sec+8)
		s.ev("CronJob", "tick", "c1", "SawCompletedJob", "Saw completed job: "+job+", status: Complete", sec+9)
	}
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	if n := traces(spans); n != 3 {
		t.Fatalf("%d traces, want one per run\n%s", n, dump(spans))
	}
	saw := find(t, spans, "Saw completed job: tick-b, status: Complete")
	created := find(t, spans, "Created job tick-b")
	if saw.TraceID != created.TraceID {
		t.Errorf("SawCompletedJob not in its run's trace")
	}
	if p := parentOf(t, spans, created); p.Name != "CronJob.Run" {
		t.Errorf("run root is %q", p.Name)
	}
	permutations(t, Config{}, s.recs, 10)
}

func TestRepeatsGetDistinctSpansAndABound(t *testing.T) {
	var s scenario
	s.obj("Pod", "default", "crash", "p1", 1, 0, nil)
	e := s.ev("Pod", "crash", "p1", "BackOff", "Back-off restarting failed container", 1, warning)
	for c := int32(2); c <= 15; c++ {
		e2 := *e
		e2.Count = c
		e2.Last = at(float64(c * 10))
		s.recs = append(s.recs, record.Record{Observed: e2.Last, Event: &e2})
	}
	cfg := Config{MaxRepeats: 5}
	var out []span.Span
	cfg.Out = ConsumerFunc(func(b []span.Span) error { out = append(out, b...); return nil })
	eng := New(cfg)
	replayAll(eng, s.recs)
	mustPass(t, out, s.events)
	ids := map[span.ID]bool{}
	n := 0
	for _, sp := range out {
		if sp.Attr(span.KeyEventUID) != "" {
			n++
			ids[sp.SpanID] = true
			if !sp.Error {
				t.Errorf("Warning not ERROR")
			}
		}
	}
	if n != 5 || len(ids) != 5 {
		t.Errorf("%d spans with %d IDs, want 5 (the bound)", n, len(ids))
	}
	if st := eng.Stats(); st.Suppressed != 10 {
		t.Errorf("suppressed %d, want 10", st.Suppressed)
	}
}

func TestSameEventThroughBothAPIsCountsOnce(t *testing.T) {
	var s scenario
	e := s.ev("Pod", "p", "p1", "Scheduled", "Successfully assigned", 1, precise)
	e2 := *e
	e2.API = "events.k8s.io/v1"
	s.recs = append(s.recs, record.Record{Observed: at(1.5), Event: &e2})
	cfg := Config{}
	var out []span.Span
	cfg.Out = ConsumerFunc(func(b []span.Span) error { out = append(out, b...); return nil })
	eng := New(cfg)
	replayAll(eng, s.recs)
	mustPass(t, out, s.events)
	if st := eng.Stats(); st.Duplicates != 1 {
		t.Errorf("duplicates %d", st.Duplicates)
	}
}

func TestOwnerCycleIsCut(t *testing.T) {
	var s scenario
	s.obj("Widget", "default", "a", "a1", 1, 0, ctl("Widget", "b", "b1"))
	s.obj("Widget", "default", "b", "b1", 1, 0, ctl("Widget", "a", "a1"))
	s.ev("Widget", "a", "a1", "Sync", "synced", 1)
	eng := New(Config{})
	for _, r := range s.recs {
		eng.Add(r, at(1))
	}
	eng.Flush()
	if st := eng.Stats(); st.Cycles == 0 || st.Spans != 2 {
		t.Errorf("cycles %d spans %d", st.Cycles, st.Spans)
	}
}

func TestDeletedOwnerTombstone(t *testing.T) {
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.obj("ReplicaSet", "default", "web-a", "r1", 1, 0, ctl("Deployment", "web", "d1"))
	p := s.obj("Pod", "default", "web-a-1", "p1", 1, 0, ctl("ReplicaSet", "web-a", "r1"))
	_ = p
	d := &record.Object{Kind: "Deployment", Namespace: "default", Name: "web", UID: "d1", Generation: 1, Created: at(0), Deleting: at(600)}
	r := &record.Object{Kind: "ReplicaSet", Namespace: "default", Name: "web-a", UID: "r1", Generation: 1, Created: at(0), Owners: []record.OwnerRef{*ctl("Deployment", "web", "d1")}}
	s.recs = append(s.recs, record.Record{Observed: at(600), Op: record.Delete, Object: d}, record.Record{Observed: at(600), Op: record.Delete, Object: r})
	s.ev("Pod", "web-a-1", "p1", "Killing", "Stopping container nginx", 601)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	k := find(t, spans, "Stopping container nginx")
	if root := parentOf(t, spans, k); root.Name != "Deployment.Delete" {
		t.Errorf("Killing after the owners were deleted is under %q", root.Name)
	}
	if k.Attr("k8s.deployment.name") != "web" || k.Attr("k8s.replicaset.uid") != "r1" {
		t.Errorf("owner attributes missing: %+v", k.AllAttrs())
	}
}

func TestNodeEpisodesSplitByQuietGap(t *testing.T) {
	var s scenario
	s.ev("Node", "n1", "n1", "NodeNotReady", "Node n1 status is now: NodeNotReady", 0)
	s.ev("Node", "n1", "n1", "NodeReady", "Node n1 status is now: NodeReady", 30)
	s.ev("Node", "n1", "n1", "NodeNotReady", "Node n1 status is now: NodeNotReady", 3600)
	spans := run(t, Config{Window: time.Minute}, s.recs)
	mustPass(t, spans, s.events)
	if n := traces(spans); n != 2 {
		t.Errorf("%d traces, want 2 episodes\n%s", n, dump(spans))
	}
}

func TestTopLevelEventStartsTrace(t *testing.T) {
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.ev("Deployment", "web", "d1", "Deploying", "deploy v2 by ci", 1, func(e *record.Event) {
		e.TopLevel = true
		e.Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	})
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-b from 0 to 1", 2)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	top := find(t, spans, "deploy v2 by ci")
	if !top.Parent.IsZero() || len(top.Links) != 1 || top.Links[0].TraceID.String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("top-level span: parent %s links %+v", top.Parent, top.Links)
	}
	if p := parentOf(t, spans, find(t, spans, "Scaled up replica set web-b from 0 to 1")); p.SpanID != top.SpanID {
		t.Errorf("scaling event under %q, want the top-level event", p.Name)
	}
}

func TestHeldBoundForcesDecisions(t *testing.T) {
	var s scenario
	for i := range 50 {
		s.ev("Pod", "p", "p1", "Tick", "tick", float64(i))
	}
	eng := New(Config{MaxHeld: 10, Hold: time.Hour})
	for _, r := range s.recs {
		eng.Add(r, t0)
		if st := eng.Stats(); st.Held > 10 {
			t.Fatalf("held %d > bound", st.Held)
		}
	}
	if st := eng.Stats(); st.ForcedDecisions != 40 {
		t.Errorf("forced %d, want 40", st.ForcedDecisions)
	}
	// The late queue counts towards the same bound.
	eng = New(Config{MaxHeld: 10, Hold: time.Minute})
	for _, r := range s.recs {
		eng.Add(r, t0.Add(time.Hour))
		if st := eng.Stats(); st.Held > 10 {
			t.Fatalf("held %d > bound, late", st.Held)
		}
	}
	if st := eng.Stats(); st.ForcedDecisions != 40 || st.Held != 10 {
		t.Errorf("late: forced %d, held %d; want 40, 10", st.ForcedDecisions, st.Held)
	}
}

func TestOwnerDeletedRightAfterCreation(t *testing.T) {
	// The garbage collector kills a deleted Deployment's pods with no
	// "Deleted pod" event: the deletion, newer than "Created pod", is the cause.
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.obj("ReplicaSet", "default", "web-a", "r1", 1, 0, ctl("Deployment", "web", "d1"))
	s.obj("Pod", "default", "web-a-1", "p1", 1, 0, ctl("ReplicaSet", "web-a", "r1"))
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 1", 0.2)
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: web-a-1", 0.3)
	s.ev("Pod", "web-a-1", "p1", "Started", "Started container nginx", 2)
	d := &record.Object{Kind: "Deployment", Namespace: "default", Name: "web", UID: "d1", Generation: 1, Created: at(0)}
	s.recs = append(s.recs, record.Record{Observed: at(3), Op: record.Delete, Object: d})
	s.ev("Pod", "web-a-1", "p1", "Killing", "Stopping container nginx", 3.2)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	if root := parentOf(t, spans, find(t, spans, "Stopping container nginx")); root.Name != "Deployment.Delete" {
		t.Errorf("Killing is under %q, want Deployment.Delete", root.Name)
	}
	if p := parentOf(t, spans, find(t, spans, "Started container nginx")); p.Attr(span.KeyEventMessage) != "Created pod: web-a-1" {
		t.Errorf("Started is under %q", p.Name)
	}
	permutations(t, Config{}, s.recs, 10)
}

func TestCauseStoredAfterItsEffectInTheSameSecond(t *testing.T) {
	// Seen on a real cluster: the ReplicaSet's "Created pod" for a scale-up
	// was observed 30ms before the Deployment's "Scaled up" that caused it.
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 1", 0.2)
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: web-a-1", 0.3)
	d2 := s.obj("Deployment", "default", "web", "d1", 2, 10, nil)
	s.recs[len(s.recs)-1].Observed = at(10.1)
	_ = d2
	s.ev("ReplicaSet", "web-a", "r1", "SuccessfulCreate", "Created pod: web-a-2", 10.5)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 1 to 2", 10.53)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	if p := parentOf(t, spans, find(t, spans, "Created pod: web-a-2")); p.Attr(span.KeyEventMessage) != "Scaled up replica set web-a from 1 to 2" {
		t.Errorf("second pod's creation is under %q, want the second scale-up", p.Attr(span.KeyEventMessage))
	}
	permutations(t, Config{}, s.recs, 10)
}

func TestDirectChangeOfOwnedObjectIsItsOwnTrace(t *testing.T) {
	// A Deployment owned by a custom resource: what its operator does joins
	// the resource's trace; a kubectl scale by hand is a trace of its own.
	var s scenario
	s.obj("Widget", "default", "shop", "w1", 1, 0, nil)
	d := s.obj("Deployment", "default", "web", "d1", 1, 0, ctl("Widget", "shop", "w1"))
	d.OwnerManager, d.SpecManager = "widget-operator", "widget-operator"
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 2", 1)
	d2 := s.obj("Deployment", "default", "web", "d1", 2, 30, ctl("Widget", "shop", "w1"))
	d2.OwnerManager, d2.SpecManager = "widget-operator", "kubectl"
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 2 to 4", 31)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	first := find(t, spans, "Scaled up replica set web-a from 0 to 2")
	if r := parentOf(t, spans, first); r.Name != "Widget.Create" {
		t.Errorf("the operator's work is under %q, want Widget.Create", r.Name)
	}
	second := find(t, spans, "Scaled up replica set web-a from 2 to 4")
	if r := parentOf(t, spans, second); r.Name != "Deployment.Update" || second.TraceID != span.TraceIDFor("d1", 2) {
		t.Errorf("the hand-made scale is under %q in %s, want its own Deployment.Update trace", r.Name, second.TraceID)
	}
}

func TestFilteredEventsStillCauseButHaveNoSpan(t *testing.T) {
	var s scenario
	sampleRollout(&s, true)
	cfg := Config{Keep: func(ev *record.Event) bool { return ev.Regarding.Kind != "ReplicaSet" }}
	var out []span.Span
	cfg.Out = ConsumerFunc(func(b []span.Span) error { out = append(out, b...); return nil })
	eng := New(cfg)
	replayAll(eng, s.recs)
	if st := eng.Stats(); st.Filtered != 2 {
		t.Errorf("filtered %d, want the 2 ReplicaSet events", st.Filtered)
	}
	scale := find(t, out, "Scaled up replica set web-abc from 0 to 2")
	started := find(t, out, "Started container nginx")
	if p := parentOf(t, out, started); p.SpanID != scale.SpanID {
		t.Errorf("with its creation hidden, the pod's event hangs from %q, want the scale-up", p.Name)
	}
	for _, sp := range out {
		if sp.Attr(span.KeyObjectKind) == "ReplicaSet" && sp.Attr(span.KeyEventUID) != "" {
			t.Errorf("filtered span exported: %s", sp.Name)
		}
	}
	// Warnings only: this rollout has none, so nothing at all, not even a root.
	cfg = Config{Keep: func(ev *record.Event) bool { return ev.Type == "Warning" }}
	out = nil
	cfg.Out = ConsumerFunc(func(b []span.Span) error { out = append(out, b...); return nil })
	eng = New(cfg)
	replayAll(eng, s.recs)
	if len(out) != 0 {
		t.Errorf("%d spans exported for a change whose events are all filtered out", len(out))
	}
}

// A label selector matches the involved object or an owner up its chain:
// labelling the Deployment selects its whole rollout; a selector nothing
// carries exports nothing; only the selector's keys are kept.
func TestSelectorMatchesObjectOrOwner(t *testing.T) {
	for _, c := range []struct {
		sel  string
		want int // event spans
	}{{"team=payments", 13}, {"team=search", 0}, {"team!=search", 13}, {"pod-only=yes", 5}} {
		var s scenario
		sampleRollout(&s, true)
		for _, r := range s.recs {
			switch {
			case r.Object != nil && r.Object.Kind == "Deployment":
				r.Object.Labels = map[string]string{"team": "payments", "big": "ignored"}
			case r.Object != nil && r.Object.UID == "p1":
				r.Object.Labels = map[string]string{"pod-only": "yes"}
			}
		}
		sel, err := labels.Parse(c.sel)
		if err != nil {
			t.Fatal(err)
		}
		reqs, _ := sel.Requirements()
		cfg := Config{Selector: sel}
		for _, r := range reqs {
			cfg.Index.LabelKeys = append(cfg.Index.LabelKeys, r.Key())
		}
		var out []span.Span
		cfg.Out = ConsumerFunc(func(b []span.Span) error { out = append(out, b...); return nil })
		eng := New(cfg)
		replayAll(eng, s.recs)
		n := 0
		for _, sp := range out {
			if sp.Attr(span.KeyEventUID) != "" {
				n++
			}
		}
		if n != c.want {
			t.Errorf("-selector %s: %d event spans, want %d\n%s", c.sel, n, c.want, dump(out))
		}
		if ent, ok := eng.index.Get("d1"); ok && ent.Labels["big"] != "" {
			t.Errorf("-selector %s: the index kept a label the selector does not name", c.sel)
		}
	}
}

// MaxTraceAge exports a trace that is still growing; what joins later is
// exported as late spans of the same trace, each span once.
func TestMaxTraceAgeExportsAGrowingTrace(t *testing.T) {
	var s scenario
	sampleRollout(&s, true)
	var batches [][]span.Span
	cfg := Config{Hold: time.Second, Linger: 10 * time.Second, MaxTraceAge: 2 * time.Second}
	cfg.Out = ConsumerFunc(func(b []span.Span) error { batches = append(batches, append([]span.Span(nil), b...)); return nil })
	eng := New(cfg)
	for _, r := range s.recs {
		eng.Add(r, r.Observed)
		eng.Advance(r.Observed)
	}
	eng.Advance(at(4.5)) // the pod events at 4s are still held; the trace opened at ~1.5s
	if len(batches) == 0 {
		t.Fatal("a trace older than MaxTraceAge was not exported while it grew")
	}
	eng.Flush()
	var all []span.Span
	for _, b := range batches {
		all = append(all, b...)
	}
	if len(batches) < 2 || eng.Stats().LateSpans == 0 {
		t.Errorf("%d batches, %d late spans: want the rest to follow as late spans", len(batches), eng.Stats().LateSpans)
	}
	mustPass(t, all, s.events)
	if n := traces(all); n != 1 {
		t.Errorf("%d traces, want 1", n)
	}
}

// An Event dated centuries after it was observed is dated by its
// observation (beyond 2262 OTLP cannot even carry the time); one from the
// distant past keeps its time.
func TestFarFutureTimesUseTheObservation(t *testing.T) {
	var s scenario
	s.ev("Pod", "p", "p1", "Pulled", "from the future", 1, func(e *record.Event) {
		e.First = at(1).AddDate(500, 0, 0)
		e.Last = e.First
	})
	s.ev("Pod", "p", "p1", "Started", "from the past", 2, func(e *record.Event) {
		e.First = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)
		e.Last = e.First
	})
	var out []span.Span
	eng := New(Config{Out: ConsumerFunc(func(b []span.Span) error { out = append(out, b...); return nil })})
	replayAll(eng, s.recs)
	fut := find(t, out, "from the future")
	if fut.Start.After(at(2)) || fut.End.After(at(2)) {
		t.Errorf("the far-future Event spans %v..%v, want its observation at %v", fut.Start, fut.End, at(1))
	}
	if past := find(t, out, "from the past"); past.Start.Year() != 1971 {
		t.Errorf("the 1971 Event starts %v", past.Start)
	}
	if st := eng.Stats(); st.FutureTimes != 1 {
		t.Errorf("FutureTimes = %d, want 1", st.FutureTimes)
	}
}

// replayAll feeds the records at their observed times, then flushes.
func replayAll(eng *Engine, recs []record.Record) {
	for _, r := range recs {
		eng.Add(r, r.Observed)
	}
	eng.Flush()
}

func TestUntimedScaleSeenAfterItsEvent(t *testing.T) {
	// kubectl scale (the scale subresource) records no managedFields time,
	// and the controller's Event can arrive before the Deployment's update:
	// it still belongs to the new generation's trace.
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 3", 1)
	down := s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled down replica set web-a from 3 to 1", 20.3)
	d2 := s.obj("Deployment", "default", "web", "d1", 2, 0, nil)
	d2.SpecTime = at(0) // the newest timed entry is the creation's
	s.recs[len(s.recs)-1].Observed = at(20.35)
	spans := run(t, Config{}, s.recs)
	mustPass(t, spans, s.events)
	sp := find(t, spans, down.Message)
	if sp.TraceID != span.TraceIDFor("d1", 2) {
		t.Errorf("scale-down in trace %s, want generation 2's %s\n%s", sp.TraceID, span.TraceIDFor("d1", 2), dump(spans))
	}
	if p := parentOf(t, spans, sp); p.Name != "Deployment.Update" || p.Start.After(sp.Start) {
		t.Errorf("scale-down under %q starting %v, want Deployment.Update no later than %v", p.Name, p.Start, sp.Start)
	}
	permutations(t, Config{}, s.recs, 20)
}

func TestLateArrivalDoesNotHoldUpLaterEvents(t *testing.T) {
	// An Event that arrives long after its time (a controller's backlog)
	// sorts first, yet holds the later-dated ones only a fifth of the hold:
	// its own hold, counted from its time, is over.
	var s scenario
	s.ev("Pod", "a", "pa", "Scheduled", "Successfully assigned default/a to n0", 10, precise)
	late := s.ev("Pod", "b", "pb", "Scheduled", "Successfully assigned default/b to n0", 2, precise)
	s.recs[len(s.recs)-1].Observed = at(14)
	eng := New(Config{})
	for _, r := range s.recs {
		eng.Add(r, r.Observed)
	}
	eng.Advance(at(14.9))
	if st := eng.Stats(); st.Held != 2 {
		t.Fatalf("held %d at +0.9s after the late arrival, want 2", st.Held)
	}
	eng.Advance(at(15.3)) // a hold after the first Event's time, 1.3 s after the late one arrived
	if st := eng.Stats(); st.Held != 0 {
		t.Errorf("held %d, want 0: the late %q held up the rest", st.Held, late.Message)
	}
	// An Event dated in the future of its arrival (a clock ahead) waits a
	// hold after it arrived, no more.
	var f scenario
	f.ev("Pod", "c", "pc", "Scheduled", "Successfully assigned default/c to n0", 60, precise)
	f.recs[0].Observed = at(1)
	eng = New(Config{})
	eng.Add(f.recs[0], at(1))
	if eng.Advance(at(5.9)); eng.Stats().Held != 1 {
		t.Errorf("decided before its hold")
	}
	if eng.Advance(at(6)); eng.Stats().Held != 0 {
		t.Errorf("a future-dated Event waited past a hold after arrival")
	}
}

func TestStreamSendsSpansOnceDecided(t *testing.T) {
	var s scenario
	s.obj("Deployment", "default", "web", "d1", 1, 0, nil)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-a from 0 to 1", 1)
	s.ev("ReplicaSet", "web-a", "ra", "SuccessfulCreate", "Created pod: web-a-1", 1)
	s.ev("Pod", "web-a-1", "pa1", "Started", "Started container nginx", 9)
	var batches [][]span.Span
	eng := New(Config{Stream: true, Out: ConsumerFunc(func(b []span.Span) error {
		batches = append(batches, slices.Clone(b))
		return nil
	})})
	now := t0
	step := func(to time.Time) {
		for ; !now.After(to); now = now.Add(100 * time.Millisecond) {
			eng.Advance(now)
		}
	}
	for _, r := range s.recs {
		step(r.Observed)
		eng.Add(r, r.Observed)
	}
	step(at(8))
	// The two controller Events, decided a hold after them, are out, the
	// root first; the Pod's Event is still held.
	var got []string
	for _, b := range batches {
		for _, sp := range b {
			got = append(got, sp.Name)
		}
	}
	if want := []string{"Deployment.Create", "Deployment.ScalingReplicaSet", "ReplicaSet.SuccessfulCreate"}; !slices.Equal(got, want) {
		t.Fatalf("streamed by +8s: %v, want %v", got, want)
	}
	step(at(30))
	eng.Flush()
	all := slices.Concat(batches...)
	mustPass(t, all, s.events)
	// Exported spans never change: no parent is stretched over children
	// that came after it.
	if root := find(t, all, "Deployment.Create"); !root.End.Equal(root.Start) {
		t.Errorf("streamed root stretched to %v", root.End)
	}
	if sc := find(t, all, "Scaled up replica set web-a from 0 to 1"); !sc.End.Equal(sc.Start) {
		t.Errorf("streamed parent stretched to %v", sc.End)
	}
	if n := len(all); n != 4 {
		t.Errorf("%d spans sent, want 4 (each once)", n)
	}
}

func TestStreamOfLateEventsDoesNotHoldUpTimelyOnes(t *testing.T) {
	// Under load the controller-manager writes its Events up to a minute
	// after their time, one every few hundred milliseconds: each sorts
	// before every timely Event, yet none may hold them past their hold.
	var s scenario
	timely := s.ev("Pod", "a", "pa", "Scheduled", "Successfully assigned default/a to n0", 60, precise)
	for i := range 40 {
		s.ev("ReplicaSet", "r", "ra", "SuccessfulCreate", fmt.Sprintf("Created pod: r-%d", i), 1)
		s.recs[len(s.recs)-1].Observed = at(60 + float64(i)*0.25)
	}
	var now, sent time.Time
	eng := New(Config{Stream: true, Out: ConsumerFunc(func(b []span.Span) error {
		for _, sp := range b {
			if sp.Attr(span.KeyEventMessage) == timely.Message {
				sent = now
			}
		}
		return nil
	})})
	for _, r := range s.recs {
		now = r.Observed
		eng.Add(r, now)
	}
	// Due a hold after its time (65.3 s), sent within a batch interval and
	// the next record.
	if want := at(65.3).Add(StreamEvery + 250*time.Millisecond); sent.IsZero() || sent.After(want) {
		t.Errorf("%q sent at %v, want by %v: it waited behind the late ones", timely.Message, sent.Sub(t0), want.Sub(t0))
	}
}

// The spans of one object share their object and owner attributes
// (span.Span.Shared), made again when the owner chain changes: a pod's
// owner learnt between two of its events is on the second.
func TestSharedAttrsFollowTheChain(t *testing.T) {
	var s scenario
	s.ev("Pod", "web-abc-1", "p1", "Pulling", `Pulling image "nginx"`, 1)
	s.ev("Pod", "web-abc-1", "p1", "Pulled", `Successfully pulled image "nginx"`, 2)
	s.obj("Pod", "default", "web-abc-1", "p1", 1, 2.5, ctl("ReplicaSet", "web-abc", "r1"))
	s.recs[len(s.recs)-1].Observed = at(4.5) // after Pulled is decided
	s.ev("Pod", "web-abc-1", "p1", "Created", "Created container: nginx", 8)
	s.ev("Pod", "web-abc-1", "p1", "Started", "Started container nginx", 9)
	spans := run(t, Config{Hold: time.Second}, s.recs)
	pulling, pulled := find(t, spans, `Pulling image "nginx"`), find(t, spans, `Successfully pulled image "nginx"`)
	created, started := find(t, spans, "Created container: nginx"), find(t, spans, "Started container nginx")
	if pulling.Attr("k8s.replicaset.name") != "" || created.Attr("k8s.replicaset.name") != "web-abc" {
		t.Errorf("owner attributes: before the pod was seen %q, after %q, want none and web-abc",
			pulling.Attr("k8s.replicaset.name"), created.Attr("k8s.replicaset.name"))
	}
	same := func(a, b span.Span) bool { return len(a.Shared) > 0 && &a.Shared[0] == &b.Shared[0] }
	if !same(pulling, pulled) || !same(created, started) || same(pulled, created) {
		t.Errorf("shared attributes: Pulling/Pulled %v, Created/Started %v, Pulled/Created %v, want true, true, false",
			same(pulling, pulled), same(created, started), same(pulled, created))
	}
	if got := created.Attr(span.KeyObjectName); got != "web-abc-1" {
		t.Errorf("k8s.object.name %q", got)
	}
}

// TestHeldQueue checks the held queue against a sort: occurrences pushed
// partly in order (the run) and partly at random (the heap), many sharing a
// second or a resourceVersion, some decided while held (they stay until
// they reach the front, or until compact), come out held ones only, in
// less order, also when taken out while others still arrive.
func TestHeldQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var q heldQueue
	var held, got []*occ
	var clock int64
	take := func() { // what one take pops comes out in less order
		var last *occ
		for o, run := q.top(); o != nil; o, run = q.top() {
			if o.state == pending {
				if last != nil && less(o, last) {
					t.Fatalf("%+v came out after %+v", *o, *last)
				}
				last = o
				o.state = decided
				got = append(got, o)
			}
			q.pop(run)
			if rng.IntN(3) == 0 {
				return
			}
		}
	}
	for i := range 5000 {
		ts := rng.Int64N(20)
		if i%2 == 0 { // in order
			clock += rng.Int64N(2)
			ts = clock
		}
		o := &occ{ts: ts, tns: int32(rng.IntN(3)), rv: 1 + uint64(rng.IntN(3)), // nonzero: less skips a zero one, no total order
			ev: &record.Event{UID: fmt.Sprint(rng.IntN(50)), Count: int32(i)}}
		q.push(o, unixNanos(time.Unix(o.ts, int64(o.tns))))
		held = append(held, o)
		switch {
		case i%3 == 0: // decide an earlier one
			if p := held[rng.IntN(len(held))]; p.state == pending {
				p.state = suppressed
			}
		case i%1000 == 999:
			q.compact()
		case i%97 == 0 && i > 2500:
			take()
		}
	}
	take()
	for o, _ := q.top(); o != nil; o, _ = q.top() {
		take()
	}
	if q.len() != 0 {
		t.Fatalf("%d entries left", q.len())
	}
	// Overall, every held occurrence came out once.
	n := 0
	for _, o := range held {
		if o.state == decided {
			n++
		}
	}
	if len(got) != n {
		t.Fatalf("%d came out, %d were decided by coming out", len(got), n)
	}
	for _, o := range held {
		if o.state == pending {
			t.Fatalf("%+v never came out", *o)
		}
	}
	// All of them pushed again, then taken: in less order.
	var tail []*occ
	q = heldQueue{}
	for _, o := range held {
		o.state = pending
		q.push(o, unixNanos(time.Unix(o.ts, int64(o.tns))))
	}
	for o, run := q.top(); o != nil; o, run = q.top() {
		tail = append(tail, o)
		q.pop(run)
	}
	want := slices.Clone(held)
	slices.SortFunc(want, func(a, b *occ) int {
		if less(a, b) {
			return -1
		}
		return 1
	})
	for i := range want {
		if tail[i] != want[i] {
			t.Fatalf("at %d: got %+v, want %+v", i, *tail[i], *want[i])
		}
	}
}

// TestUnixNanos checks the saturated conversions at and beyond the range
// Unix nanoseconds hold.
func TestUnixNanos(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{time.Time{}, math.MinInt64},
		{time.Unix(0, 0), 0},
		{time.Unix(1_795_463_098, 129_474_000), 1_795_463_098_129_474_000},
		{time.Unix(-5, 7), -4_999_999_993},
		{time.Unix(0, math.MaxInt64), math.MaxInt64},
		{time.Unix(0, math.MinInt64), math.MinInt64},
		{time.Unix(0, math.MaxInt64).Add(time.Nanosecond), math.MaxInt64},
		{time.Unix(0, math.MinInt64).Add(-time.Nanosecond), math.MinInt64},
		{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	} {
		if got := unixNanos(c.t); got != c.want {
			t.Errorf("unixNanos(%v) = %d, want %d", c.t, got, c.want)
		}
	}
	for _, c := range []struct {
		t    int64
		d    time.Duration
		want int64
	}{
		{5, 3, 8},
		{5, -3, 2},
		{math.MaxInt64 - 1, 5, math.MaxInt64},
		{math.MinInt64 + 1, -5, math.MinInt64},
		{math.MinInt64, time.Hour, math.MinInt64 + int64(time.Hour)},
		{math.MaxInt64, 0, math.MaxInt64},
	} {
		if got := addNanos(c.t, c.d); got != c.want {
			t.Errorf("addNanos(%d, %v) = %d, want %d", c.t, c.d, got, c.want)
		}
	}
}

// TestSameChain checks the kept object attributes against chains longer
// than the links they keep inline.
func TestSameChain(t *testing.T) {
	e := New(Config{})
	ev := &record.Event{Regarding: record.Ref{Kind: "Pod", Namespace: "ns", Name: "p", UID: "u0", APIVersion: "v1"}}
	mk := func(n int, last string) []link {
		var ch []link
		for i := range n {
			uid := fmt.Sprint("u", i)
			if i == n-1 && last != "" {
				uid = last
			}
			ch = append(ch, link{ref: objRef{key: uid, uid: uid, name: owners.NameKey{Kind: "K", Name: uid}}})
		}
		return ch
	}
	act := e.activity(objRef{key: "u0"})
	a := e.sharedAttrs(ev, act, mk(5, ""))
	if b := e.sharedAttrs(ev, act, mk(5, "")); &a[0] != &b[0] {
		t.Error("the same 5-link chain made its attributes anew")
	}
	if b := e.sharedAttrs(ev, act, mk(5, "other")); &a[0] == &b[0] {
		t.Error("a chain differing in its 5th link got the kept attributes")
	}
	if b := e.sharedAttrs(ev, act, mk(4, "")); &a[0] == &b[0] {
		t.Error("a shorter chain got the kept attributes")
	}
}

func TestRefusedBatchesAreCountedAndTheEngineGoesOn(t *testing.T) {
	var s scenario
	sampleRollout(&s, true)
	s.obj("Deployment", "default", "api", "d2", 1, 30, nil)
	s.ev("Deployment", "api", "d2", "ScalingReplicaSet", "Scaled up replica set api-x from 0 to 1", 31)
	full := errors.New("no space left on device")
	var calls, taken int
	eng := New(Config{Out: ConsumerFunc(func(b []span.Span) error {
		calls++
		if calls == 1 {
			return full
		}
		taken += len(b)
		return nil
	})})
	replayAll(eng, s.recs)
	st := eng.Stats()
	if !errors.Is(eng.Err(), full) || calls != 2 || st.Refused == 0 || taken == 0 || st.Refused+uint64(taken) != st.Spans {
		t.Errorf("Err %v, %d batches offered, %d spans refused and %d taken of %d; want the first error kept, both traces offered, every span counted",
			eng.Err(), calls, st.Refused, taken, st.Spans)
	}
}
