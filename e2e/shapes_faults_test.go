package e2e

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/span"
)

// testCrashLoop runs a Deployment's pod whose container keeps crashing
// (hack/kwok/pod-container-crash.yaml and pod-container-restart.yaml,
// selected by an annotation): BackOff, and the restart's Pulled, Created
// and Started, repeat as count bumps of one Event each. Every occurrence,
// however late, is under the pod's creation.
func testCrashLoop(r *shapeRun) {
	ctx := context.Background()
	d := newDeployment(r.ns, "crash", 1)
	d.Spec.Template.Annotations = map[string]string{"shapes.kspan.dev/crash-loop": "true"}
	if _, err := env.client.AppsV1().Deployments(r.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
	waitFor(r.T, 90*time.Second, "BackOff repeated 3 times", func() (bool, string) {
		for _, e := range r.eventList() {
			if e.Reason == "BackOff" {
				return e.Count >= 3, fmt.Sprintf("BackOff count %d", e.Count)
			}
		}
		return false, "no BackOff"
	})
	updateDeployment(r.T, r.ns, "crash", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(0)) })
	waitPodsGone(r.T, r.ns, "app=crash")
	c := r.traces()
	c.replicaSetSteps()
	c.done()
}

// testJobBackoffLimit runs a Job whose pods fail (hack/kwok/pod-fail.yaml,
// selected by an annotation) until its backoffLimit: the controller
// creates a pod after each failure, 10 s then 20 s later (a gap as long as
// kspan's window), then gives up (BackoffLimitExceeded).
func testJobBackoffLimit(r *shapeRun) {
	ctx := context.Background()
	j := newJob(r.ns, "flaky")
	j.Spec.BackoffLimit = ptr(int32(2))
	j.Spec.Template.Annotations = map[string]string{"shapes.kspan.dev/fail": "true"}
	j, err := env.client.BatchV1().Jobs(r.ns).Create(ctx, j, metav1.CreateOptions{})
	if err != nil {
		r.Fatal(err)
	}
	var failedAt time.Time
	waitFor(r.T, 120*time.Second, "the Job failed", func() (bool, string) {
		j, err := env.client.BatchV1().Jobs(r.ns).Get(ctx, "flaky", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == "True" {
				failedAt = c.LastTransitionTime.Time
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", j.Status)
	})
	r.waitEvent("BackoffLimitExceeded", 30*time.Second)
	c := r.traces()
	c.rollout(span.TraceIDFor(string(j.UID), 1), "failed", "BackoffLimitExceeded", failedAt)
	if n := len(r.log.instances("Pod")); n != 3 {
		r.Errorf("scenario: %d pods, want 3 (backoffLimit 2)", n)
	}
	c.done()
}
