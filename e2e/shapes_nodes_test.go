package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/span"
)

// podsOn waits until the Deployment's pods are all running on node, or,
// with running false, until they are all Pending (unschedulable).
func (r *shapeRun) podsOn(selector, node string, n int, running bool) {
	r.Helper()
	waitFor(r.T, 90*time.Second, fmt.Sprintf("%d pods %s running=%v", n, selector, running), func() (bool, string) {
		l, err := env.client.CoreV1().Pods(r.ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		ok := len(l.Items) == n
		for _, p := range l.Items {
			seen = append(seen, fmt.Sprintf("%s %s %s deleting=%v", p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp != nil))
			if p.DeletionTimestamp != nil || running != (p.Status.Phase == corev1.PodRunning && p.Spec.NodeName == node) ||
				!running && p.Spec.NodeName != "" {
				ok = false
			}
		}
		return ok, fmt.Sprint(seen)
	})
}

// testNodeEvictions runs a Deployment's pods on a node of their own, taints
// the node NoExecute (the taint-eviction controller deletes them; their
// replacements cannot be scheduled until the taint goes), then drains it
// with kubectl (the eviction API; replacements wait for the uncordon).
// Nothing writes a deleter Event: each Killing is under its pod's creation.
func testNodeEvictions(r *shapeRun) {
	node := "kspan-shapes-evict"
	only := corev1.Taint{Key: "kspan-shapes-evict", Value: "only", Effect: corev1.TaintEffectNoSchedule}
	createNode(r.T, node, map[string]string{"kspan-shapes-evict": "yes"}, []corev1.Taint{only})
	waitFor(r.T, 60*time.Second, "node "+node+" ready", func() (bool, string) {
		n, err := env.client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return len(n.Spec.Taints) == 1, fmt.Sprint(n.Spec.Taints)
			}
		}
		return false, fmt.Sprint(n.Status.Conditions)
	})
	d := newDeployment(r.ns, "evictee", 2)
	d.Spec.Template.Spec.NodeSelector = map[string]string{"kspan-shapes-evict": "yes"}
	d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: only.Key, Value: only.Value, Effect: only.Effect, Operator: corev1.TolerationOpEqual}}
	r.createDeployment(d)
	evict := corev1.Taint{Key: "kspan-shapes-evict", Value: "now", Effect: corev1.TaintEffectNoExecute}
	setNode(r.T, node, func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, evict) })
	r.podsOn("app=evictee", node, 2, false)
	setNode(r.T, node, func(n *corev1.Node) {
		n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == evict.Key && t.Effect == evict.Effect })
	})
	r.podsOn("app=evictee", node, 2, true)
	kubectl := func(args ...string) {
		out, err := exec.Command("kubectl", append([]string{"--kubeconfig", env.kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			r.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	kubectl("drain", node, "--ignore-daemonsets", "--timeout=60s")
	r.podsOn("app=evictee", node, 2, false)
	kubectl("uncordon", node)
	r.podsOn("app=evictee", node, 2, true)
	updateDeployment(r.T, r.ns, "evictee", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(0)) })
	waitPodsGone(r.T, r.ns, "app=evictee")
	deleteNode(r.T, node)
	c := r.traces()
	c.replicaSetSteps()
	// At least: a replacement the scheduler placed before the taint-eviction
	// controller saw it (or one the drain evicted twice) adds a pod, and
	// the shape is the same.
	if n := len(r.log.instances("Pod")); n < 6 {
		r.Errorf("scenario: %d pods, want at least 6 (2 evicted by the taint, 2 drained, 2 scaled away)", n)
	}
	c.done()
}

// testDeleteCascades deletes a Deployment with foreground cascading (its
// pods' Killing goes under the Deployment's deletion), and another with
// orphan cascading, then its orphaned ReplicaSet (the pods' Killing goes
// under the ReplicaSet's deletion: the Deployment no longer owned it).
func testDeleteCascades(r *shapeRun) {
	ctx := context.Background()
	r.createDeployment(newDeployment(r.ns, "fg", 2))
	r.createDeployment(newDeployment(r.ns, "orphan", 2))
	deps := env.client.AppsV1().Deployments(r.ns)
	if err := deps.Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationForeground)}); err != nil {
		r.Fatal(err)
	}
	waitPodsGone(r.T, r.ns, "app=fg")
	gone := func(name string) func() (bool, string) {
		return func() (bool, string) {
			_, err := deps.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		}
	}
	waitFor(r.T, 60*time.Second, "deployment fg gone", gone("fg"))
	if err := deps.Delete(ctx, "orphan", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationOrphan)}); err != nil {
		r.Fatal(err)
	}
	waitFor(r.T, 60*time.Second, "deployment orphan gone", gone("orphan"))
	var rs string
	waitFor(r.T, 60*time.Second, "its ReplicaSet orphaned", func() (bool, string) {
		l, err := env.client.AppsV1().ReplicaSets(r.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=orphan"})
		if err != nil || len(l.Items) != 1 {
			return false, fmt.Sprint(err, l)
		}
		rs = l.Items[0].Name
		return len(l.Items[0].OwnerReferences) == 0, fmt.Sprint(l.Items[0].OwnerReferences)
	})
	if err := env.client.AppsV1().ReplicaSets(r.ns).Delete(ctx, rs, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
		r.Fatal(err)
	}
	waitPodsGone(r.T, r.ns, "app=orphan")
	c := r.traces()
	kills := 0
	for _, o := range r.log.occurrences() {
		if o.Reason == "Killing" {
			kills++
		}
	}
	if kills != 4 {
		r.Errorf("scenario: %d Killing events, want 4", kills)
	}
	c.done()
}

// testNamespaceDeleted deletes a namespace holding a Deployment whose pods
// cannot be scheduled and a completed Job: the namespace controller removes
// every object and every Event (no kubelet is asked to kill anything, so
// no Event is written during the deletion). kspan must have traced what
// happened before, and trace nothing more.
func testNamespaceDeleted(r *shapeRun) {
	ctx := context.Background()
	d := newDeployment(r.ns, "stuck", 2)
	d.Spec.Template.Spec.NodeSelector = map[string]string{"kspan-shapes": "nowhere"}
	d.Spec.ProgressDeadlineSeconds = ptr(int32(10))
	d, err := env.client.AppsV1().Deployments(r.ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		r.Fatal(err)
	}
	if _, err := env.client.BatchV1().Jobs(r.ns).Create(ctx, newJob(r.ns, "once"), metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
	waitFor(r.T, 90*time.Second, "FailedScheduling for both pods and the Job done", func() (bool, string) {
		failed, done := 0, false
		for _, e := range r.eventList() {
			switch e.Reason {
			case "FailedScheduling":
				failed++
			case "Completed":
				done = true
			}
		}
		return failed >= 2 && done, fmt.Sprintf("%d FailedScheduling, job completed %v", failed, done)
	})
	// The stuck rollout fails at its progress deadline.
	_, failedAt := waitProgressing(r.T, r.ns, "stuck", "ProgressDeadlineExceeded")
	before := r.traces()
	before.rollout(span.TraceIDFor(string(d.UID), 1), "failed", "ProgressDeadlineExceeded", failedAt)
	before.done()
	if err := env.client.CoreV1().Namespaces().Delete(ctx, r.ns, metav1.DeleteOptions{}); err != nil {
		r.Fatal(err)
	}
	waitFor(r.T, 90*time.Second, "namespace "+r.ns+" gone", func() (bool, string) {
		_, err := env.client.CoreV1().Namespaces().Get(ctx, r.ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	occs := r.log.occurrences()
	if len(occs) != len(before.occ) {
		r.Errorf("scenario: %d Event occurrences by the end, %d before the deletion", len(occs), len(before.occ))
	}
	// That kspan traced nothing more is checked on its final output, after
	// it stopped (TestShapes' final-output).
}
