package correlate

import (
	"fmt"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// status adds a version of Deployment web (d1) at generation gen observed
// at sec, with the given counts and Progressing condition.
func (s *scenario) status(gen int64, sec float64, desired, updated, available int32, progressing, reason string) {
	o := &record.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "default", Name: "web", UID: "d1",
		Generation: gen, Created: at(0), SpecTime: at(0), SpecManager: "kubectl", SpecOperation: "Update",
		Status: &record.WorkloadStatus{ObservedGeneration: gen, Desired: desired, Replicas: max(updated, desired),
			Updated: updated, Ready: available, Available: available,
			Conditions: []record.Condition{{Type: "Progressing", Status: progressing, Reason: reason, Message: reason + " message"}}}}
	if gen > 1 {
		o.SpecTime = at(sec).Truncate(time.Second)
	}
	if updated == desired && available == desired {
		o.Status.Replicas = desired
	}
	s.recs = append(s.recs, record.Record{Observed: at(sec), Object: o})
}

// started is an engine fed recs in order, each at its observation, and
// what it exports.
func started(cfg Config, recs []record.Record) (*Engine, *[]span.Span) {
	out := new([]span.Span)
	cfg.Out = ConsumerFunc(func(b []span.Span) error { *out = append(*out, b...); return nil })
	e := New(cfg)
	for _, r := range recs {
		e.Add(r, r.Observed)
	}
	return e, out
}

func rootOf(t *testing.T, spans []span.Span, name string) span.Span {
	t.Helper()
	var found []span.Span
	for _, s := range spans {
		if s.Name == name && s.Parent == (span.ID{}) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d root spans %s in\n%s", len(found), name, dump(spans))
	}
	return found[0]
}

func TestRolloutCompleteEndsTheRootAtItsOutcome(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	s.status(1, 4.6, 2, 2, 2, "True", "NewReplicaSetAvailable")
	cfg := Config{Linger: time.Second}
	spans := run(t, cfg, s.recs)
	root := rootOf(t, spans, "Deployment.Create")
	if root.Attr(span.KeyRolloutOutcome) != "complete" || root.Attr(span.KeyRolloutReason) != "NewReplicaSetAvailable" {
		t.Errorf("outcome %q reason %q, want complete NewReplicaSetAvailable", root.Attr(span.KeyRolloutOutcome), root.Attr(span.KeyRolloutReason))
	}
	if !root.End.Equal(at(4.6)) || root.Error {
		t.Errorf("root ends %v (error %v), want at the outcome %v", root.End, root.Error, at(4.6))
	}
	if d, _ := root.Find(span.KeyRolloutDuration); d.Int != 4600 {
		t.Errorf("duration %+v, want 4600 ms", d)
	}
	if a, _ := root.Find(span.KeyRolloutAvailable); a.Int != 2 {
		t.Errorf("available replicas %+v, want 2", a)
	}
	mustPass(t, spans, s.events)
	permutations(t, cfg, s.recs, 10)
}

func TestRolloutWaitsForItsOutcomePastTheQuietGap(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	// Quiet for longer than the window and the linger, then the deadline.
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-abc from 2 to 3", 690)
	s.status(1, 700, 2, 1, 1, "False", "ProgressDeadlineExceeded")
	spans := run(t, Config{Linger: time.Second}, s.recs)
	if n := traces(spans); n != 1 {
		t.Fatalf("%d traces, want the rollout's one:\n%s", n, dump(spans))
	}
	root := rootOf(t, spans, "Deployment.Create")
	if root.Attr(span.KeyRolloutOutcome) != "failed" || !root.Error || root.StatusMessage != "ProgressDeadlineExceeded: ProgressDeadlineExceeded message" {
		t.Errorf("outcome %q error %v %q, want failed with the reason", root.Attr(span.KeyRolloutOutcome), root.Error, root.StatusMessage)
	}
	if !root.End.Equal(at(700)) {
		t.Errorf("root ends %v, want the outcome %v", root.End, at(700))
	}
}

func TestRolloutSupersededByTheNextChange(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	s.status(2, 10.2, 2, 0, 2, "True", "ReplicaSetUpdated")
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-def from 0 to 1", 10.5)
	s.status(2, 20, 2, 2, 2, "True", "NewReplicaSetAvailable")
	permutations(t, Config{Linger: time.Second}, s.recs, 10)
	spans := run(t, Config{Linger: time.Second}, s.recs)
	first, second := rootOf(t, spans, "Deployment.Create"), rootOf(t, spans, "Deployment.Update")
	if first.Attr(span.KeyRolloutOutcome) != "superseded" || second.Attr(span.KeyRolloutOutcome) != "complete" {
		t.Fatalf("outcomes %q then %q, want superseded then complete", first.Attr(span.KeyRolloutOutcome), second.Attr(span.KeyRolloutOutcome))
	}
	if len(first.Links) != 1 || first.Links[0].TraceID != second.TraceID || len(second.Links) != 1 || second.Links[0].TraceID != first.TraceID {
		t.Errorf("links %+v / %+v, want each to the other", first.Links, second.Links)
	}
	if !first.End.Equal(second.Start) {
		t.Errorf("superseded rollout ends %v, want when the next began %v", first.End, second.Start)
	}
}

func TestRolloutStillGoingAtFlushIsInProgress(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	spans := run(t, Config{Linger: time.Second}, s.recs)
	if r := rootOf(t, spans, "Deployment.Create"); r.Attr(span.KeyRolloutOutcome) != "in_progress" {
		got := r.Attr(span.KeyRolloutOutcome)
		t.Errorf("outcome %q, want in_progress", got)
	}
	// Without any status (metadata only): unknown, never guessed.
	var m scenario
	m.obj("Deployment", "default", "web", "d1", 1, 0, nil).APIVersion = "apps/v1"
	sampleRollout(&m, false)
	spans = run(t, Config{Linger: time.Second}, m.recs)
	if r := rootOf(t, spans, "Deployment.Create"); r.Attr(span.KeyRolloutOutcome) != "unknown" {
		got := r.Attr(span.KeyRolloutOutcome)
		t.Errorf("outcome %q without status, want unknown", got)
	}
}

func TestRolloutWaitIsBounded(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	s.ev("Node", "node-9", "n9", "NodeReady", "unrelated, moves the clock", 200)
	e, spans := started(Config{Linger: time.Second, MaxRolloutWait: time.Minute}, s.recs)
	e.Advance(at(300))
	root := rootOf(t, *spans, "Deployment.Create") // exported before any flush
	if root.Attr(span.KeyRolloutOutcome) != "in_progress" {
		t.Errorf("outcome %q, want in_progress", root.Attr(span.KeyRolloutOutcome))
	}
}

func TestActivityAfterTheOutcomeIsANewEpisode(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	s.status(1, 4.6, 2, 2, 2, "True", "NewReplicaSetAvailable")
	s.ev("Deployment", "web", "d1", "Custom", "something later", 30)
	spans := run(t, Config{Linger: time.Second}, s.recs)
	if p := parentOf(t, spans, find(t, spans, "something later")); p.Name != "Deployment.Activity" {
		t.Errorf("after the outcome, the event is under %s, want a new Deployment.Activity episode", p.Name)
	}
}

func TestRolloutStats(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	e, _ := started(Config{Linger: time.Second, StuckAfter: time.Minute}, s.recs)
	e.Advance(at(90))
	if st := e.Stats().Rollouts; st.Open[0] != 1 || st.Stuck[0] != 1 || st.Done[0][0].Count != 0 {
		t.Errorf("in progress 90s after the change: open %v stuck %v done %+v", st.Open, st.Stuck, st.Done[0][0])
	}
	var d scenario
	d.status(1, 95, 2, 2, 2, "True", "NewReplicaSetAvailable")
	e.Add(d.recs[0], at(95))
	st := e.Stats().Rollouts
	if h := st.Done[0][0]; st.Open[0] != 0 || h.Count != 1 || h.Sum != 95 || h.Buckets[3] != 0 || h.Buckets[4] != 1 {
		t.Errorf("complete after 95s: open %v, histogram %+v", st.Open, h)
	}
}

// A workload deleted before its rollout had an outcome does not hold its
// trace: it is exported after the linger, in progress.
func TestDeletedRolloutDoesNotWait(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	gone := *s.recs[0].Object
	gone.Deleting = at(6)
	s.recs = append(s.recs, record.Record{Observed: at(6), Object: &gone})
	e, spans := started(Config{Linger: time.Second}, s.recs)
	e.Advance(at(30)) // decides what is held
	e.Advance(at(40))
	if r := rootOf(t, *spans, "Deployment.Create"); r.Attr(span.KeyRolloutOutcome) != "in_progress" {
		t.Errorf("outcome %q, want in_progress", r.Attr(span.KeyRolloutOutcome))
	}
}

// With Stream, a rollout's root span is sent at its outcome, after the
// spans below it, and lasts until the outcome.
func TestStreamSendsTheRootAtTheOutcome(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	s.status(1, 30, 2, 2, 2, "True", "NewReplicaSetAvailable")
	e, spans := started(Config{Stream: true}, s.recs[:len(s.recs)-1])
	e.Advance(at(20))
	e.Advance(at(21))
	if len(*spans) == 0 {
		t.Fatal("nothing streamed before the outcome")
	}
	for _, sp := range *spans {
		if sp.Parent.IsZero() {
			t.Fatalf("root %s sent before the outcome", sp.Name)
		}
	}
	e.Add(s.recs[len(s.recs)-1], at(30))
	e.Advance(at(31))
	root := rootOf(t, *spans, "Deployment.Create")
	if root.Attr(span.KeyRolloutOutcome) != "complete" || !root.End.Equal(at(30)) {
		t.Errorf("root %q ends %v, want complete at %v", root.Attr(span.KeyRolloutOutcome), root.End, at(30))
	}
	n := len(*spans)
	e.Flush()
	if len(*spans) != n {
		t.Errorf("%d more spans at the flush", len(*spans)-n)
	}
}

// A streamed root still waiting at the flush is sent in progress.
func TestStreamFlushSendsHeldRoots(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	spans := run(t, Config{Stream: true}, s.recs)
	root := rootOf(t, spans, "Deployment.Create")
	if root.Attr(span.KeyRolloutOutcome) != "in_progress" || !root.End.Equal(root.Start) {
		t.Errorf("root %q %v..%v, want an in_progress instant", root.Attr(span.KeyRolloutOutcome), root.Start, root.End)
	}
}

// exportedAll is a checkpoint of a run that exported every Event but no
// root span.
type exportedAll struct{}

func (exportedAll) Exported(string, int32) (span.TraceID, bool) { return span.TraceID{}, true }
func (exportedAll) ExportedRoot(span.ID) bool                   { return false }

// After a restart, a rollout whose spans the run before sent, but not its
// root (it stopped before the outcome), gets its root at the outcome.
func TestStreamRootAfterARestart(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	sampleRollout(&s, false)
	s.status(1, 30, 2, 2, 2, "True", "NewReplicaSetAvailable")
	spans := run(t, Config{Stream: true, Checkpoint: exportedAll{}}, s.recs)
	if len(spans) != 1 {
		t.Fatalf("%d spans after the restart, want the root alone:\n%s", len(spans), dump(spans))
	}
	if root := rootOf(t, spans, "Deployment.Create"); root.Attr(span.KeyRolloutOutcome) != "complete" {
		t.Errorf("root outcome %q, want complete", root.Attr(span.KeyRolloutOutcome))
	}
}

func TestOpenRolloutsWithTheirWarnings(t *testing.T) {
	var s scenario
	s.status(1, 0, 2, 0, 0, "True", "NewReplicaSetCreated")
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-abc from 0 to 1", 0.5)
	s.ev("ReplicaSet", "web-abc", "r1", "SuccessfulCreate", "Created pod: web-abc-1", 1.2)
	for i := range 7 {
		s.ev("Pod", "web-abc-1", "p1", "FailedScheduling", fmt.Sprintf("0/3 nodes are available (%d)", i), 2+float64(i), warning)
	}
	e, _ := started(Config{}, s.recs)
	e.Advance(at(60))
	open := e.OpenRollouts(10)
	if len(open) != 1 {
		t.Fatalf("%d open rollouts, want 1: %+v", len(open), open)
	}
	r := open[0]
	if r.Kind != "Deployment" || r.Name != "web" || r.Generation != 1 || r.Status.Desired != 2 || !r.Since.Equal(at(0)) {
		t.Errorf("open rollout %+v", r)
	}
	if len(r.Warnings) != maxRolloutWarnings || r.Warnings[0].Message != "0/3 nodes are available (6)" || r.Warnings[0].Name != "web-abc-1" {
		t.Errorf("warnings %+v, want the latest %d, newest first", r.Warnings, maxRolloutWarnings)
	}
	if len(e.OpenRollouts(0)) != 0 {
		t.Error("OpenRollouts(0) returned some")
	}
}

// After a restart, the relist shows the object's latest status only: the
// rollouts of earlier generations, relisted from their Events, rolled out
// unseen. They are neither superseded nor in progress (unknown), and the
// latest does not claim to supersede them.
func TestRolloutsBeforeTheWatchAreUnknown(t *testing.T) {
	var s scenario
	s.status(2, 10.2, 2, 2, 2, "True", "NewReplicaSetAvailable")
	sampleRollout(&s, false)
	s.ev("Deployment", "web", "d1", "ScalingReplicaSet", "Scaled up replica set web-def from 0 to 1", 10.5)
	for i := range s.recs {
		s.recs[i].Observed = at(30) // all read in the restart's relist
	}
	spans := run(t, Config{Linger: time.Second}, s.recs)
	first, second := rootOf(t, spans, "Deployment.Create"), rootOf(t, spans, "Deployment.Update")
	if got := first.Attr(span.KeyRolloutOutcome); got != "unknown" || len(first.Links) != 0 {
		t.Errorf("the rollout before the watch: outcome %q, %d links; want unknown, none", got, len(first.Links))
	}
	if got := second.Attr(span.KeyRolloutOutcome); got != "complete" || len(second.Links) != 0 {
		t.Errorf("the latest rollout: outcome %q, %d links; want complete, none", got, len(second.Links))
	}
}
