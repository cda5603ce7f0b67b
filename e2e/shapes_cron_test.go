package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/kspan-project/kspan/internal/span"
)

// cronJob is a CronJob running every minute whose pods run for runFor
// (kwok's pod-complete delay; "" for the default ~1 s).
func cronJob(ns, name string, policy batchv1.ConcurrencyPolicy, runFor string) *batchv1.CronJob {
	cj := newCronJob(ns, name)
	cj.Spec.ConcurrencyPolicy = policy
	if runFor != "" {
		cj.Spec.JobTemplate.Spec.Template.Annotations = map[string]string{"pod-complete.stage.kwok.x-k8s.io/delay": runFor}
	}
	return cj
}

func (r *shapeRun) createCronJob(cj *batchv1.CronJob) {
	r.Helper()
	if _, err := env.client.BatchV1().CronJobs(r.ns).Create(context.Background(), cj, metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
}

// suspend stops a CronJob's runs (a spec change; no Event), so that its
// recording ends with the scenario.
func (r *shapeRun) suspend(name string) {
	r.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cj, err := env.client.BatchV1().CronJobs(r.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			cj.Spec.Suspend = ptr(true)
			_, err = env.client.BatchV1().CronJobs(r.ns).Update(context.Background(), cj, metav1.UpdateOptions{})
		}
		return err
	})
	if err != nil {
		r.Fatal(err)
	}
}

func (r *shapeRun) pods() []corev1.Pod {
	r.Helper()
	l, err := env.client.CoreV1().Pods(r.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		r.Fatal(err)
	}
	return l.Items
}

// jobs lists the namespace's Jobs.
func (r *shapeRun) jobs() []batchv1.Job {
	r.Helper()
	l, err := env.client.BatchV1().Jobs(r.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		r.Fatal(err)
	}
	return l.Items
}

func (r *shapeRun) waitEvent(reason string, d time.Duration) {
	r.Helper()
	waitFor(r.T, d, "a "+reason+" event", func() (bool, string) {
		var seen []string
		for _, e := range r.eventList() {
			if e.Reason == reason {
				return true, ""
			}
			seen = append(seen, e.Reason)
		}
		return false, strings.Join(seen, " ")
	})
}

// runsInOwnTraces checks that the runs ("Created job J") are each in a
// trace of their own. (Where the CronJob's own uncaused Events go, such as
// JobAlreadyActive or "Saw completed job: J", is not asserted: after a quiet
// gap longer than the window, or a spec change such as the suspension, the
// model lets them start another episode or trace.)
func (c *check) runsInOwnTraces() {
	runs := map[string]span.TraceID{}
	for _, o := range c.r.log.occurrences() {
		if j := podOf(createdJob, o.Message); j != "" {
			if s, ok := c.spanOf(o); ok {
				runs[j] = s.TraceID
			}
		}
	}
	ids := map[span.TraceID]bool{}
	for _, id := range runs {
		ids[id] = true
	}
	if len(ids) != len(runs) {
		c.errorf("%s: %d runs in %d traces, want a trace per run", c.r.ns, len(runs), len(ids))
	}
}

// testCronJobDeleted lets a CronJob's first run complete, then deletes the
// CronJob ~3 s later (the garbage collector removes the Job and its pod):
// the run's trace is whole although its owner is gone.
func testCronJobDeleted(r *shapeRun) {
	ctx := context.Background()
	r.createCronJob(cronJob(r.ns, "tick", batchv1.ForbidConcurrent, ""))
	var done time.Time
	waitFor(r.T, 90*time.Second, "the first run completed", func() (bool, string) {
		for _, j := range r.jobs() {
			if j.Status.Succeeded == 1 {
				done = time.Now()
				return true, ""
			}
		}
		return false, "no run completed"
	})
	// The shape: the deletion comes ~3 s after the run completed.
	waitFor(r.T, 10*time.Second, "3 s after the run completed", func() (bool, string) {
		return time.Since(done) >= 3*time.Second, ""
	})
	if err := env.client.BatchV1().CronJobs(r.ns).Delete(ctx, "tick", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
		r.Fatal(err)
	}
	waitFor(r.T, 60*time.Second, "the CronJob's Jobs and pods gone", func() (bool, string) {
		pods, err := env.client.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(r.jobs()) == 0 && len(pods.Items) == 0, fmt.Sprintf("%d jobs, %d pods", len(r.jobs()), len(pods.Items))
	})
	c := r.traces()
	c.runsInOwnTraces()
	c.done()
}

// testCronJobForbid runs a CronJob whose runs outlast the minute with
// concurrencyPolicy Forbid: the next schedule is skipped (JobAlreadyActive)
// and the run after the first completes starts at the next minute.
func testCronJobForbid(r *shapeRun) {
	r.createCronJob(cronJob(r.ns, "slow", batchv1.ForbidConcurrent, "70s"))
	r.waitEvent("JobAlreadyActive", 150*time.Second)
	waitFor(r.T, 150*time.Second, "the second run running", func() (bool, string) {
		n := 0
		for _, p := range r.pods() {
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded {
				n++
			}
		}
		return n >= 2, fmt.Sprintf("%d runs' pods ran", n)
	})
	r.suspend("slow")
	c := r.traces()
	c.runsInOwnTraces()
	c.done()
}

// testCronJobReplace runs a CronJob whose runs outlast the minute with
// concurrencyPolicy Replace: at the next schedule the controller deletes the
// running Job ("Deleted job J") and starts another; the garbage collector
// kills the old run's pod, whose Killing goes under "Deleted job J".
func testCronJobReplace(r *shapeRun) {
	r.createCronJob(cronJob(r.ns, "slow", batchv1.ReplaceConcurrent, "70s"))
	r.waitEvent("SuccessfulDelete", 150*time.Second)
	waitFor(r.T, 60*time.Second, "the replacing run running and the replaced run's pod gone", func() (bool, string) {
		pods, js := r.pods(), r.jobs()
		return len(js) == 1 && len(pods) == 1 && pods[0].Status.Phase == corev1.PodRunning,
			fmt.Sprintf("%d jobs, %d pods", len(js), len(pods))
	})
	r.suspend("slow")
	c := r.traces()
	c.runsInOwnTraces()
	kills := 0
	for _, o := range r.log.occurrences() {
		if o.Reason == "Killing" {
			kills++
		}
	}
	if kills != 1 {
		r.Errorf("scenario: %d Killing events, want 1 (the replaced run's pod)", kills)
	}
	c.done()
}
