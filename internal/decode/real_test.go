package decode

import (
	"maps"
	"testing"

	"github.com/kspan-project/kspan/internal/record"
)

// The two recordings in the repository's testdata, from real clusters.

func TestReadKspanV0Recording(t *testing.T) {
	recs, probs := readFile(t, "../../testdata/kspan-v0/deployment-2-pods.yaml")
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	events, objects := counts(t, recs)
	// The README lists 7 looked-up objects: a Deployment, two ReplicaSets
	// and four Pods.
	if events != 19 || objects != 7 {
		t.Fatalf("got %d events, %d objects; want 19, 7", events, objects)
	}
	reasons := map[string]int{}
	kinds := map[string]int{}
	for i, r := range recs {
		if i > 0 && !r.Observed.After(recs[i-1].Observed) {
			t.Errorf("%s: observed %v, not after the previous record's", r.Source, r.Observed)
		}
		if r.Event != nil {
			reasons[r.Event.Reason]++
			if r.Event.Reason == "Scheduled" && (r.Event.Coarse || r.Event.ReportingComponent != "default-scheduler" ||
				r.Event.First.Nanosecond() == 0) {
				t.Errorf("%s: new-style Scheduled event %+v", r.Source, *r.Event)
			}
		} else {
			kinds[r.Object.Kind]++
		}
	}
	wantReasons := map[string]int{"ScalingReplicaSet": 4, "SuccessfulCreate": 2, "SuccessfulDelete": 2,
		"Scheduled": 2, "Pulling": 1, "Pulled": 2, "Created": 2, "Started": 2, "Killing": 2}
	if !maps.Equal(reasons, wantReasons) {
		t.Errorf("reasons %v, want %v", reasons, wantReasons)
	}
	if want := map[string]int{"Deployment": 1, "ReplicaSet": 2, "Pod": 4}; !maps.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}

	first := recs[0]
	if first.Source != "deployment-2-pods.yaml: document 1" ||
		!first.Observed.Equal(ts("2021-05-19T09:42:58.640117041Z")) ||
		first.Event.ReportingComponent != "deployment-controller" || !first.Event.Coarse {
		t.Errorf("first record %s %v %+v", first.Source, first.Observed, *first.Event)
	}
	d := recs[2].Object
	if d.Kind != "Deployment" || d.Generation != 3 || d.SpecManager != "kubectl-client-side-apply" ||
		d.SpecOperation != "Update" || !d.SpecTime.Equal(ts("2021-05-19T09:42:58Z")) {
		t.Errorf("deployment %+v", *d)
	}
	pod := recs[4].Object
	if pod.Kind != "Pod" || pod.OwnerManager != "kube-controller-manager" || len(pod.Owners) != 1 ||
		pod.Owners[0].Kind != "ReplicaSet" || !pod.Owners[0].Controller {
		t.Errorf("pod %+v", *pod)
	}
	if old := recs[11].Object; old.Name != "px-7df978b9bf-jm22q" || old.Deleting.IsZero() {
		t.Errorf("terminating pod %+v", *old)
	}
}

func TestReadRealClusterEvents(t *testing.T) {
	recs, probs := readFile(t, "../../testdata/real-cluster/deployment-events.json")
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if events, objects := counts(t, recs); events != 13 || objects != 0 {
		t.Fatalf("got %d events, %d objects; want 13, 0", events, objects)
	}
	byReason := map[string]*record.Record{}
	for i := range recs {
		r := &recs[i]
		if r.Event.API != "v1" || r.Op != record.Upsert || !r.Observed.Equal(r.Event.Last) {
			t.Errorf("%s: %+v", r.Source, *r)
		}
		byReason[r.Event.Reason] = r
	}
	if s := recs[0].Source; s != "deployment-events.json:8" {
		t.Errorf("first source %q", s)
	}
	sched := byReason["Scheduled"].Event
	if sched.Coarse || !sched.First.Equal(ts("2026-11-23T17:38:09.082976Z")) || !sched.Last.Equal(sched.First) ||
		sched.Count != 1 || sched.ReportingComponent != "default-scheduler" ||
		sched.ReportingInstance != "default-scheduler-vm" || sched.Action != "Binding" {
		t.Errorf("Scheduled %+v", *sched)
	}
	if k := byReason["Killing"].Event; k.Count != 2 || !k.Coarse || k.ReportingComponent != "kwok_controller" {
		t.Errorf("Killing %+v", *k)
	}
	if p := byReason["Pulling"].Event; p.ReportingComponent != "kubelet" || p.ReportingInstance != "kwok-node-0" ||
		p.Regarding.FieldPath != "spec.containers{nginx}" {
		t.Errorf("Pulling %+v", *p)
	}
	if n := byReason["RegisteredNode"].Event; n.Regarding.Kind != "Node" || n.Regarding.Name != "kwok-node-0" {
		t.Errorf("RegisteredNode %+v", *n)
	}
}
