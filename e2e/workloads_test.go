package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

func podSpec(image string, restart corev1.RestartPolicy) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy:                 restart,
		TerminationGracePeriodSeconds: ptr(int64(1)),
		Containers:                    []corev1.Container{{Name: "nginx", Image: image}},
	}
}

func template(labels map[string]string, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(image, corev1.RestartPolicyAlways)}
}

func ptr[T any](v T) *T { return &v }

func newDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	l := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: template(l, "nginx:1.25")},
	}
}

// waitDeployment waits until the Deployment's current generation is fully
// rolled out and only its desired pods exist.
func waitDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	ctx := context.Background()
	var d *appsv1.Deployment
	waitFor(t, 90*time.Second, "deployment "+name+" rolled out", func() (bool, string) {
		var err error
		d, err = env.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		want := *d.Spec.Replicas
		st := d.Status
		pods, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return false, err.Error()
		}
		ok := st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.AvailableReplicas == want &&
			st.Replicas == want && int32(len(pods.Items)) == want
		return ok, fmt.Sprintf("generation %d observed %d, status %+v, %d pods", d.Generation, st.ObservedGeneration, st, len(pods.Items))
	})
	return d
}

// updateDeployment changes a Deployment's spec and returns its new generation.
func updateDeployment(t *testing.T, ns, name string, change func(*appsv1.Deployment)) int64 {
	t.Helper()
	ctx := context.Background()
	var gen int64
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := env.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(d)
		d, err = env.client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		if err == nil {
			gen = d.Generation
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return gen
}

func waitPodsGone(t *testing.T, ns, selector string) {
	t.Helper()
	waitFor(t, 90*time.Second, "pods "+selector+" gone", func() (bool, string) {
		l, err := env.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err.Error()
		}
		return len(l.Items) == 0, fmt.Sprintf("%d pods left", len(l.Items))
	})
}

func newStatefulSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	l := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{Replicas: &replicas, ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: template(l, "nginx:1.25")},
	}
}

func newDaemonSet(ns, name string) *appsv1.DaemonSet {
	l := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: l}, Template: template(l, "busybox:1.36")},
	}
}

func jobSpec() batchv1.JobSpec {
	return batchv1.JobSpec{
		Completions: ptr(int32(1)), BackoffLimit: ptr(int32(0)),
		Template: corev1.PodTemplateSpec{Spec: podSpec("busybox:1.36", corev1.RestartPolicyNever)},
	}
}

func newJob(ns, name string) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: jobSpec()}
}

func newCronJob(ns, name string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.CronJobSpec{Schedule: "* * * * *", SuccessfulJobsHistoryLimit: ptr(int32(5)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: jobSpec()}},
	}
}

func newPod(ns, name string, nodeSelector map[string]string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: podSpec("nginx:1.25", corev1.RestartPolicyAlways)}
	p.Spec.NodeSelector = nodeSelector
	return p
}
