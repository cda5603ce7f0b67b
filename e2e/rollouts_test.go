package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/span"
)

// waitProgressing waits until Deployment ns/name's status has observed its
// generation and its Progressing condition has the reason, and returns it
// with that condition's time as the apiserver holds it.
func waitProgressing(t *testing.T, ns, name, reason string) (*appsv1.Deployment, time.Time) {
	t.Helper()
	var d *appsv1.Deployment
	var at time.Time
	waitFor(t, 90*time.Second, "deployment "+name+" Progressing "+reason, func() (bool, string) {
		var err error
		d, err = env.client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == reason && d.Status.ObservedGeneration >= d.Generation {
				at = c.LastUpdateTime.Time
				return true, ""
			}
		}
		return false, fmt.Sprintf("generation %d, status %+v", d.Generation, d.Status)
	})
	return d, at
}

// rollout checks the root span of trace id: its rollout outcome and
// reason, and (unless at is zero) that the outcome was seen when the
// apiserver's condition says it happened (a whole second, at):
// kspan.rollout.duration_ms after the change, within the second after at
// plus the watch's delivery delay. It returns the root span.
func (c *check) rollout(id span.TraceID, outcome, reason string, at time.Time) *span.Span {
	var root *span.Span
	for i := range c.ts.spans {
		if s := &c.ts.spans[i]; s.TraceID == id && s.Parent.IsZero() {
			root = s
		}
	}
	if root == nil {
		c.errorf("rollout: no root span in trace %s", id)
		return nil
	}
	if got := root.Attr(span.KeyRolloutOutcome); got != outcome || root.Attr(span.KeyRolloutReason) != reason {
		c.errorf("rollout %s: outcome %q reason %q, want %q %q", root.Name, got, root.Attr(span.KeyRolloutReason), outcome, reason)
		return root
	}
	if outcome == "failed" && !root.Error {
		c.errorf("rollout %s failed without status ERROR", root.Name)
	}
	if at.IsZero() {
		return root
	}
	d, ok := root.Find(span.KeyRolloutDuration)
	if !ok {
		c.errorf("rollout %s: no %s", root.Name, span.KeyRolloutDuration)
		return root
	}
	seen := root.Start.Add(time.Duration(d.Int) * time.Millisecond)
	if seen.Before(at.Add(-time.Second)) || seen.After(at.Add(3*time.Second)) {
		c.errorf("rollout %s: outcome seen at %s, the apiserver's condition says %s", root.Name,
			seen.Format(time.RFC3339Nano), at.Format(time.RFC3339))
	}
	if root.End.Before(seen) {
		c.errorf("rollout %s ends at %s, before its outcome %s", root.Name, root.End, seen)
	}
	return root
}

// rolloutMetrics checks that kspan's metrics count the outcomes the
// scenarios checked in their traces: Deployments complete, superseded
// (shape-scale) and failed (shape-ns-delete), a Job failed (shape-backoff),
// each with its duration.
func rolloutMetrics(t *testing.T, p *kspanProc) {
	_, body := p.metricsGetter(t)("/metrics")
	for _, want := range []string{
		`kspan_rollouts_total{kind="Deployment",outcome="complete"}`,
		`kspan_rollouts_total{kind="Deployment",outcome="superseded"}`,
		`kspan_rollouts_total{kind="Deployment",outcome="failed"}`,
		`kspan_rollouts_total{kind="Job",outcome="failed"}`,
		`kspan_rollout_duration_seconds_count{kind="Deployment",outcome="failed"}`,
	} {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + ` ([0-9.e+]+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("/metrics has no %s", want)
			continue
		}
		if n, _ := strconv.ParseFloat(m[1], 64); n < 1 {
			t.Errorf("%s = %s, want at least 1", want, m[1])
		}
	}
}

// outcomesMatchTheApiserver compares every settled rollout's root span
// of the scenario with the status the apiserver holds now, for the
// objects still there at the generation the span is about: the condition
// that decided it (Deployment Progressing, Job Complete or Failed) has the
// span's reason and was written when kspan saw the outcome; a StatefulSet
// or DaemonSet said complete is rolled out. Written from the objects'
// status alone, not from kspan's rules.
func (c *check) outcomesMatchTheApiserver() {
	ctx := context.Background()
	for i := range c.ts.spans {
		s := &c.ts.spans[i]
		outcome := s.Attr(span.KeyRolloutOutcome)
		if !s.Parent.IsZero() || (outcome != "complete" && outcome != "failed") {
			continue
		}
		ns, name, gen := s.Attr(span.KeyNamespace), s.Attr(span.KeyObjectName), attrInt(*s, span.KeyObjectGeneration)
		var objGen int64
		var reason string
		var at time.Time
		done := false
		switch s.Attr(span.KeyObjectKind) {
		case "Deployment":
			d, err := env.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			objGen = d.Generation
			for _, cd := range d.Status.Conditions {
				if cd.Type == appsv1.DeploymentProgressing && d.Status.ObservedGeneration >= d.Generation {
					reason, at = cd.Reason, cd.LastUpdateTime.Time
					done = cd.Reason == "NewReplicaSetAvailable" || cd.Reason == "ProgressDeadlineExceeded"
				}
			}
		case "Job":
			j, err := env.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			objGen = j.Generation
			for _, cd := range j.Status.Conditions {
				if (cd.Type == "Complete" || cd.Type == "Failed") && cd.Status == "True" {
					reason, at, done = cd.Reason, cd.LastTransitionTime.Time, true
				}
			}
		case "StatefulSet":
			st, err := env.client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			objGen = st.Generation
			want := int32(1)
			if st.Spec.Replicas != nil {
				want = *st.Spec.Replicas
			}
			done = st.Status.ObservedGeneration >= st.Generation && st.Status.ReadyReplicas == want
		case "DaemonSet":
			ds, err := env.client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			objGen = ds.Generation
			n := ds.Status.DesiredNumberScheduled
			done = ds.Status.ObservedGeneration >= ds.Generation && ds.Status.UpdatedNumberScheduled == n && ds.Status.NumberAvailable == n
		default:
			continue
		}
		if objGen != int64(gen) {
			continue // the apiserver holds a later generation's status
		}
		what := fmt.Sprintf("%s %s/%s generation %d", s.Attr(span.KeyObjectKind), ns, name, gen)
		switch {
		case !done:
			c.errorf("rollout of %s: kspan says %s, the apiserver's status says it is not over", what, outcome)
		case reason != "" && s.Attr(span.KeyRolloutReason) != reason:
			c.errorf("rollout of %s: kspan says %s (%s), the apiserver's condition %s", what, outcome, s.Attr(span.KeyRolloutReason), reason)
		case !at.IsZero() && !at.Before(s.Start.Truncate(time.Second)):
			// A condition written before this change (a scale leaves
			// Progressing as it was) does not date its outcome.
			c.rollout(s.TraceID, outcome, reason, at)
		}
	}
}
