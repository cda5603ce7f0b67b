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
