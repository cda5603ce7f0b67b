package live

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/kspan-project/kspan/internal/capture"
	"github.com/kspan-project/kspan/internal/convert"
	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
)

// The rollout status live mode reads from a typed workload is what replay
// reads from the trimmed object in a capture, and from kubectl's JSON and
// YAML of the whole object.
func TestWorkloadStatusMatchesDecode(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(base.Add(time.Duration(s) * time.Second)) }
	three, two := int32(3), int32(2)
	om := func(kind string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "web", Namespace: "default", UID: types.UID("u-" + kind),
			Generation: 4, ResourceVersion: "17", CreationTimestamp: at(0)}
	}
	template := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	for _, obj := range []any{
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: om("Deployment"),
			Spec: appsv1.DeploymentSpec{Replicas: &three, Paused: true, Template: template},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3,
				Conditions: []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: at(3), LastTransitionTime: at(3)},
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
						Message: `ReplicaSet "web-5d" has timed out progressing.`, LastUpdateTime: at(40), LastTransitionTime: at(30)},
				}}},
		&appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"}, ObjectMeta: om("StatefulSet"),
			Spec: appsv1.StatefulSetSpec{Replicas: &three, Template: template, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &two}}},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 4, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 1, AvailableReplicas: 3,
				CurrentRevision: "web-1", UpdateRevision: "web-2"}},
		&appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}, ObjectMeta: om("DaemonSet"),
			Spec: appsv1.DaemonSetSpec{Template: template, UpdateStrategy: appsv1.DaemonSetUpdateStrategy{RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: &intstr.IntOrString{Type: intstr.String, StrVal: "10%"}}}},
			Status: appsv1.DaemonSetStatus{ObservedGeneration: 3, DesiredNumberScheduled: 5, CurrentNumberScheduled: 5, UpdatedNumberScheduled: 4,
				NumberReady: 5, NumberAvailable: 4}},
		&batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: om("Job"),
			Spec: batchv1.JobSpec{Completions: &two, Template: template},
			Status: batchv1.JobStatus{Failed: 4, Conditions: []batchv1.JobCondition{
				{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastProbeTime: at(50), LastTransitionTime: at(50)},
				{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit",
					LastProbeTime: at(51), LastTransitionTime: at(51)}}}},
	} {
		want := convert.WorkloadStatus(obj)
		kind := reflect.TypeOf(obj).Elem().Name()
		if want == nil || want.ObservedGeneration == 0 && kind != "Job" {
			t.Fatalf("%s: no status converted: %+v", kind, want)
		}
		m, _ := metaOf(obj)
		trimmed, err := trimWorkload(m.GroupVersionKind())(obj)
		if err != nil {
			t.Fatal(err)
		}
		if got := convert.WorkloadStatus(trimmed); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: trimming changed the status:\ntrimmed %+v\nfull    %+v", kind, got, want)
		}
		if got := viaCapture(t, trimmed, capture.Modified).Object.Status; !reflect.DeepEqual(normStatus(got), normStatus(want)) {
			t.Errorf("%s: a capture decodes to\n%+v\nwant %+v", kind, got, want)
		}
		j, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			t.Fatal(err)
		}
		for format, data := range map[string][]byte{"kubectl.json": j, "kubectl.yaml": y} {
			recs, problems := decode.Read(bytes.NewReader(data), format)
			if len(problems) > 0 || len(recs) != 1 {
				t.Fatalf("%s %s: %d records, problems %v", kind, format, len(recs), problems)
			}
			if got := recs[0].Object.Status; !reflect.DeepEqual(normStatus(got), normStatus(want)) {
				t.Errorf("%s: %s decodes to\n%+v\nwant %+v", kind, format, got, want)
			}
		}
	}
}

// Other kinds carry no status, whatever their JSON holds.
func TestNoStatusForOtherKinds(t *testing.T) {
	rs := &appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", UID: "r1"},
		Status:     appsv1.ReplicaSetStatus{Replicas: 3, ObservedGeneration: 2}}
	j, _ := json.Marshal(rs)
	recs, problems := decode.Read(bytes.NewReader(j), "rs.json")
	if len(problems) > 0 || len(recs) != 1 || recs[0].Object.Status != nil {
		t.Fatalf("ReplicaSet decoded with status %+v (problems %v)", recs, problems)
	}
	if convert.WorkloadStatus(rs) != nil {
		t.Error("convert gave a ReplicaSet a rollout status")
	}
}

func normStatus(s *record.WorkloadStatus) *record.WorkloadStatus {
	if s == nil {
		return nil
	}
	c := *s
	c.Conditions = nil
	for _, x := range s.Conditions {
		x.Time = x.Time.UTC()
		c.Conditions = append(c.Conditions, x)
	}
	return &c
}
