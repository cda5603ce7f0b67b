package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/kspan-project/kspan/internal/span"
)

// waitStatefulSet waits until the StatefulSet's current generation is
// rolled out to every replica (or, with OnDelete, observed) and ready.
func (r *shapeRun) waitStatefulSet(name string, updated int32) *appsv1.StatefulSet {
	r.Helper()
	var s *appsv1.StatefulSet
	waitFor(r.T, 90*time.Second, "statefulset "+name+" rolled out", func() (bool, string) {
		var err error
		s, err = env.client.AppsV1().StatefulSets(r.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		st := s.Status
		return st.ObservedGeneration >= s.Generation && st.ReadyReplicas == *s.Spec.Replicas && st.UpdatedReplicas == updated &&
			st.Replicas == *s.Spec.Replicas, fmt.Sprintf("generation %d, status %+v", s.Generation, st)
	})
	return s
}

func (r *shapeRun) updateStatefulSet(name string, change func(*appsv1.StatefulSet)) int64 {
	r.Helper()
	var gen int64
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := env.client.AppsV1().StatefulSets(r.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(s)
		s, err = env.client.AppsV1().StatefulSets(r.ns).Update(context.Background(), s, metav1.UpdateOptions{})
		if err == nil {
			gen = s.Generation
		}
		return err
	})
	if err != nil {
		r.Fatal(err)
	}
	return gen
}

// deletePod deletes a pod by hand and waits until a pod of that name with
// another UID runs (want: recreated) or none is left.
func (r *shapeRun) deletePod(name string, recreated bool) {
	r.Helper()
	ctx := context.Background()
	pods := env.client.CoreV1().Pods(r.ns)
	old, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		r.Fatal(err)
	}
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		r.Fatal(err)
	}
	waitFor(r.T, 90*time.Second, "pod "+name+" replaced", func() (bool, string) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return !recreated, "gone"
		}
		if err != nil {
			return false, err.Error()
		}
		return recreated && p.UID != old.UID && p.Status.Phase == corev1.PodRunning, fmt.Sprintf("%s %s", p.UID, p.Status.Phase)
	})
}

// testStatefulSetRecreate deletes a StatefulSet's pod by hand: the
// controller recreates it under the same name (a new UID, the second
// occurrence of "create Pod db-1"). The old pod's Killing stays with the
// old instance's creation; the new pod's Events go under the second.
func testStatefulSetRecreate(r *shapeRun) {
	if _, err := env.client.AppsV1().StatefulSets(r.ns).Create(context.Background(), newStatefulSet(r.ns, "db", 2), metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
	r.waitStatefulSet("db", 2)
	r.deletePod("db-1", true)
	r.waitStatefulSet("db", 2)
	c := r.traces()
	if n := len(r.log.instances("Pod")["db-1"]); n != 2 {
		r.Errorf("scenario: %d instances of db-1, want 2", n)
	}
	c.done()
}

// testBarePodRecreate deletes a bare pod and creates it again under the
// same name: two objects, two traces.
func testBarePodRecreate(r *shapeRun) {
	ctx := context.Background()
	for range 2 {
		if _, err := env.client.CoreV1().Pods(r.ns).Create(ctx, newPod(r.ns, "solo", nil), metav1.CreateOptions{}); err != nil {
			r.Fatal(err)
		}
		waitFor(r.T, 60*time.Second, "pod running", func() (bool, string) {
			p, err := env.client.CoreV1().Pods(r.ns).Get(ctx, "solo", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
		})
		if len(r.log.instances("Pod")["solo"]) == 1 {
			r.deletePod("solo", false)
		}
	}
	c := r.traces()
	uids := r.log.instances("Pod")["solo"]
	if len(uids) != 2 {
		r.Fatalf("scenario: %d instances of solo, want 2", len(uids))
	}
	roots := map[string]bool{}
	for _, s := range c.ts.spans {
		if s.Parent.IsZero() {
			roots[s.Attr(span.KeyObjectUID)] = true
		}
	}
	for _, u := range uids {
		if !roots[u] {
			c.errorf("no trace rooted at instance %s of solo", u)
		}
	}
	c.done()
}

// testStatefulSetPartition updates a StatefulSet of 3 with partition 2
// (only db-2 is replaced: "delete Pod db-2", "create Pod db-2" again),
// then lowers the partition to 0 (db-1, then db-0), each step its own
// generation.
func testStatefulSetPartition(r *shapeRun) {
	s := newStatefulSet(r.ns, "db", 3)
	s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(2))}}
	if _, err := env.client.AppsV1().StatefulSets(r.ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
	r.waitStatefulSet("db", 3)
	r.updateStatefulSet("db", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	r.waitStatefulSet("db", 1)
	r.updateStatefulSet("db", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(0)) })
	r.waitStatefulSet("db", 3)
	c := r.traces()
	for _, p := range []string{"db-0", "db-1", "db-2"} {
		if n := len(r.log.instances("Pod")[p]); n != 2 {
			r.Errorf("scenario: %d instances of %s, want 2", n, p)
		}
	}
	c.done()
}

// testStatefulSetOnDelete updates an OnDelete StatefulSet (nothing
// happens) and deletes its pods by hand: each is recreated from the new
// template, by the second occurrence of its "create Pod" Event.
func testStatefulSetOnDelete(r *shapeRun) {
	s := newStatefulSet(r.ns, "db", 2)
	s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	if _, err := env.client.AppsV1().StatefulSets(r.ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
	r.waitStatefulSet("db", 2)
	r.updateStatefulSet("db", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	r.waitStatefulSet("db", 0)
	r.deletePod("db-1", true)
	r.deletePod("db-0", true)
	r.waitStatefulSet("db", 2)
	c := r.traces()
	c.done()
}

// testDaemonSetUpdate rolls a DaemonSet's new image out on the three nodes,
// one node at a time: "Deleted pod: P" then "Created pod: Q" per node.
func testDaemonSetUpdate(r *shapeRun) {
	ctx := context.Background()
	if _, err := env.client.AppsV1().DaemonSets(r.ns).Create(ctx, newDaemonSet(r.ns, "agent"), metav1.CreateOptions{}); err != nil {
		r.Fatal(err)
	}
	wait := func() {
		waitFor(r.T, 90*time.Second, "daemonset rolled out on every node", func() (bool, string) {
			d, err := env.client.AppsV1().DaemonSets(r.ns).Get(ctx, "agent", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			st := d.Status
			return st.ObservedGeneration >= d.Generation && st.DesiredNumberScheduled == 3 && st.UpdatedNumberScheduled == 3 &&
				st.NumberAvailable == 3 && st.CurrentNumberScheduled == 3, fmt.Sprintf("%+v", st)
		})
	}
	wait()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := env.client.AppsV1().DaemonSets(r.ns).Get(ctx, "agent", metav1.GetOptions{})
		if err == nil {
			d.Spec.Template.Spec.Containers[0].Image = "busybox:1.37"
			_, err = env.client.AppsV1().DaemonSets(r.ns).Update(ctx, d, metav1.UpdateOptions{})
		}
		return err
	})
	if err != nil {
		r.Fatal(err)
	}
	wait()
	waitFor(r.T, 60*time.Second, "only the new pods left", func() (bool, string) {
		l, err := env.client.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(l.Items) == 3, fmt.Sprintf("%d pods", len(l.Items))
	})
	c := r.traces()
	if n := len(r.log.instances("Pod")); n != 6 {
		r.Errorf("scenario: %d pods, want 6 (3 old, 3 new)", n)
	}
	c.done()
}

// createNode adds a kwok node (it is removed when the test ends).
func createNode(t *testing.T, name string, labels map[string]string, taints []corev1.Taint) {
	t.Helper()
	l := map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
	for k, v := range labels {
		l[k] = v
	}
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods: resource.MustParse("110")}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l,
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
		Spec:   corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res}}
	if _, err := env.client.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

func setNode(t *testing.T, name string, change func(*corev1.Node)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := env.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			change(n)
			_, err = env.client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func deleteNode(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	if err := env.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node "+name+" gone", func() (bool, string) {
		_, err := env.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}
