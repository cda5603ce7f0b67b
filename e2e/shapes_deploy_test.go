package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/kspan-project/kspan/internal/span"
)

// rollingDeployment is a Deployment with an explicit RollingUpdate strategy.
func rollingDeployment(ns, name string, replicas int32, surge, unavailable string) *appsv1.Deployment {
	d := newDeployment(ns, name, replicas)
	s, u := intstr.FromString(surge), intstr.FromString(unavailable)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u}}
	return d
}

func (r *shapeRun) createDeployment(d *appsv1.Deployment) string {
	r.Helper()
	d, err := env.client.AppsV1().Deployments(r.ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		r.Fatal(err)
	}
	waitDeployment(r.T, r.ns, d.Name)
	return string(d.UID)
}

// stepsAtLeast fails the scenario (not kspan) when a ReplicaSet had fewer
// scale steps than the shape needs.
func (r *shapeRun) stepsAtLeast(steps map[string]int, n int) {
	r.Helper()
	most := 0
	for _, s := range steps {
		most = max(most, s)
	}
	if most < n {
		r.Errorf("scenario: no ReplicaSet was scaled in %d steps or more: %v", n, steps)
	}
}

// testRollingUpdate rolls 8 replicas with maxSurge and maxUnavailable 25%:
// each ReplicaSet is scaled in several steps, and each pod hangs under its
// own step.
func testRollingUpdate(r *shapeRun) {
	uid := r.createDeployment(rollingDeployment(r.ns, "web", 8, "25%", "25%"))
	g := updateDeployment(r.T, r.ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	waitDeployment(r.T, r.ns, "web")
	_, done := waitProgressing(r.T, r.ns, "web", "NewReplicaSetAvailable")
	c := r.traces()
	r.stepsAtLeast(c.replicaSetSteps(), 4)
	// The whole rollout is generation 2's trace, rooted at its change,
	// which lasts until the Deployment reported it complete.
	id := span.TraceIDFor(uid, g)
	c.rollout(id, "complete", "NewReplicaSetAvailable", done)
	n := 0
	for _, s := range c.ts.spans {
		if s.TraceID == id {
			n++
			if s.Parent.IsZero() && s.Name != "Deployment.Update" {
				c.errorf("generation %d's root is %s, want Deployment.Update", g, s.Name)
			}
		}
	}
	if n < 8*6 {
		c.errorf("generation %d's trace has %d spans, want at least 48 (8 new pods' lives)", g, n)
	}
	c.done()
}

// testRolloutUndo rolls out a new image, then `kubectl rollout undo`: the
// first ReplicaSet is scaled up from 0 a second time, in steps, in the
// undo's own trace (generation 3), its pods under those steps.
func testRolloutUndo(r *shapeRun) {
	uid := r.createDeployment(newDeployment(r.ns, "web", 3))
	first := r.log.versions("ReplicaSet", "")[0].Name
	updateDeployment(r.T, r.ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	waitDeployment(r.T, r.ns, "web")
	out, err := exec.Command("kubectl", "--kubeconfig", env.kubeconfig, "-n", r.ns, "rollout", "undo", "deployment/web").CombinedOutput()
	if err != nil {
		r.Fatalf("kubectl rollout undo: %v\n%s", err, out)
	}
	d := waitDeployment(r.T, r.ns, "web")
	if d.Generation != 3 {
		r.Fatalf("after the undo the Deployment is at generation %d, want 3", d.Generation)
	}
	c := r.traces()
	c.replicaSetSteps()
	ups := 0
	for _, o := range r.log.occurrences() {
		m := scaledRS.FindStringSubmatch(o.Message)
		if m != nil && m[1] == "up" && m[2] == first {
			ups++
			if g := r.log.generationAt(uid, o.RV); g == 3 {
				c.inTrace(o, span.TraceIDFor(uid, 3), "the undo brings "+first+" back")
			}
		}
	}
	if ups < 2 {
		r.Errorf("scenario: %s was scaled up %d times, want 2 (creation and undo)", first, ups)
	}
	c.done()
}

// testPauseResume pauses a Deployment, changes its template twice, and
// resumes it: one rollout, straight to the last template, in the trace of
// the resume (the generation when it happened).
func testPauseResume(r *shapeRun) {
	uid := r.createDeployment(newDeployment(r.ns, "web", 3))
	updateDeployment(r.T, r.ns, "web", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	updateDeployment(r.T, r.ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	g := updateDeployment(r.T, r.ns, "web", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "paused-edit"}}
	})
	waitFor(r.T, 30*time.Second, "the paused edits observed", func() (bool, string) {
		d, err := env.client.AppsV1().Deployments(r.ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.ObservedGeneration >= g, fmt.Sprintf("observed %d", d.Status.ObservedGeneration)
	})
	resume := updateDeployment(r.T, r.ns, "web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	waitDeployment(r.T, r.ns, "web")
	c := r.traces()
	r.stepsAtLeast(c.replicaSetSteps(), 2)
	rs := map[string]bool{}
	for _, o := range r.log.occurrences() {
		if m := scaledRS.FindStringSubmatch(o.Message); m != nil {
			rs[m[2]] = true
			if gen := r.log.generationAt(uid, o.RV); gen > 1 && gen != resume {
				r.Errorf("scenario: %s while paused (generation %d)", o, gen)
			}
		}
	}
	if len(rs) != 2 {
		r.Errorf("scenario: %d ReplicaSets scaled, want 2 (the paused edits make one rollout)", len(rs))
	}
	c.done()
}

// testScaleDuringRollout scales a Deployment through its scale subresource
// (as kubectl scale does) while a rollout is under way: the controller
// scales both ReplicaSets proportionally, in the new generation's trace.
func testScaleDuringRollout(r *shapeRun) {
	ctx := context.Background()
	d := rollingDeployment(r.ns, "web", 4, "25%", "25%")
	d.Spec.Template.Annotations = map[string]string{"pod-container-start.stage.kwok.x-k8s.io/delay": "3s"}
	uid := r.createDeployment(d)
	rollout := updateDeployment(r.T, r.ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	// Under way: the first step (new ReplicaSet up, old one down) is done
	// and its Events stored, so the scale's generation comes after them in
	// etcd's order (else a step decided at the rollout's generation would
	// be stored after the scale's, and belong to it by the model's rule).
	waitFor(r.T, 60*time.Second, "the rollout's first step recorded", func() (bool, string) {
		var seen []string
		for _, o := range r.log.occurrences() {
			if m := scaledRS.FindStringSubmatch(o.Message); m != nil {
				seen = append(seen, o.Message)
				if m[1] == "down" && r.log.generationAt(uid, o.RV) == rollout {
					return true, ""
				}
			}
		}
		return false, strings.Join(seen, "\n")
	})
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := env.client.AppsV1().Deployments(r.ns).GetScale(ctx, "web", metav1.GetOptions{})
		if err == nil {
			sc.Spec.Replicas = 8
			_, err = env.client.AppsV1().Deployments(r.ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{})
		}
		return err
	})
	if err != nil {
		r.Fatal(err)
	}
	waitDeployment(r.T, r.ns, "web")
	final, done := waitProgressing(r.T, r.ns, "web", "NewReplicaSetAvailable")
	c := r.traces()
	c.replicaSetSteps()
	// The image change's rollout is superseded by the scale's, which
	// completes; their root spans link to each other.
	old := c.rollout(span.TraceIDFor(uid, rollout), "superseded", "", time.Time{})
	next := c.rollout(span.TraceIDFor(uid, final.Generation), "complete", "NewReplicaSetAvailable", done)
	if old != nil && next != nil && (len(old.Links) == 0 || old.Links[0].TraceID != next.TraceID || len(next.Links) == 0 || next.Links[0].TraceID != old.TraceID) {
		c.errorf("superseded rollout links %+v, its successor's %+v: want each to the other", old.Links, next.Links)
	}
	per := map[int64]int{}
	for _, o := range r.log.occurrences() {
		if o.Reason == "ScalingReplicaSet" {
			per[r.log.generationAt(uid, o.RV)]++
		}
	}
	if per[rollout] == 0 || per[final.Generation] == 0 || final.Generation != rollout+1 {
		r.Errorf("scenario: scale events per generation %v; want some in the rollout's (%d) and the scale's (%d = %d+1)",
			per, rollout, final.Generation, rollout)
	}
	c.done()
}

// testUnschedulableGap leaves a Deployment's pods unschedulable for longer
// than kspan's window, then adds a node that matches but is tainted (the
// scheduler retries: FailedScheduling again, after the quiet gap), then
// removes the taint (Scheduled), then scales to 0 and removes the node.
// Every pod Event stays under the pod's creation, however late.
func testUnschedulableGap(r *shapeRun) {
	ctx := context.Background()
	d := newDeployment(r.ns, "stuck", 2)
	d.Spec.Template.Spec.NodeSelector = map[string]string{"kspan-shapes": "wait"}
	// The node added later keeps a taint these pods tolerate (and
	// DaemonSets do not): it is theirs alone.
	only := corev1.Taint{Key: "kspan-shapes", Value: "only", Effect: corev1.TaintEffectNoSchedule}
	d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: only.Key, Value: only.Value, Effect: only.Effect, Operator: corev1.TolerationOpEqual}}
	if _, err := env.client.AppsV1().Deployments(r.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
	failed := func() (int, time.Time) {
		n, last := 0, time.Time{}
		for _, e := range r.eventList() {
			if e.Reason == "FailedScheduling" {
				n += int(max(e.Count, 1))
				if e.Series != nil {
					n += int(e.Series.Count) - 1
				}
				last = latest(last, e.EventTime.Time, e.LastTimestamp.Time)
				if e.Series != nil {
					last = latest(last, e.Series.LastObservedTime.Time)
				}
			}
		}
		return n, last
	}
	waitFor(r.T, 60*time.Second, "FailedScheduling for both pods", func() (bool, string) { // (occurrences)
		n, _ := failed()
		return n >= 2, fmt.Sprintf("%d FailedScheduling", n)
	})
	gap, _ := time.ParseDuration(shapeWindow)
	waitFor(r.T, 3*gap, "no FailedScheduling for longer than the window", func() (bool, string) {
		_, last := failed()
		return time.Since(last) > gap+5*time.Second, fmt.Sprintf("last at %v", last)
	})
	before, _ := failed()
	node := "kspan-shapes-wait"
	block := corev1.Taint{Key: "kspan-shapes-block", Value: "wait", Effect: corev1.TaintEffectNoSchedule}
	createNode(r.T, node, map[string]string{"kspan-shapes": "wait"}, []corev1.Taint{only, block})
	waitFor(r.T, 60*time.Second, "FailedScheduling again", func() (bool, string) {
		n, _ := failed()
		return n > before, fmt.Sprintf("%d FailedScheduling", n)
	})
	setNode(r.T, node, func(n *corev1.Node) {
		n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == block.Key })
	})
	waitDeployment(r.T, r.ns, "stuck")
	updateDeployment(r.T, r.ns, "stuck", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(0)) })
	waitPodsGone(r.T, r.ns, "app=stuck")
	deleteNode(r.T, node)
	c := r.traces()
	c.replicaSetSteps()
	c.done()
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

func (r *shapeRun) eventList() []corev1.Event {
	r.Helper()
	l, err := env.client.CoreV1().Events(r.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		r.Fatal(err)
	}
	return l.Items
}
