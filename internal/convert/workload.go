package convert

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/record"
)

// WorkloadStatus converts the rollout status of a typed Deployment,
// StatefulSet, DaemonSet or Job (pointers); nil for any other object. The
// replay decoders read the same fields from JSON and YAML (a test holds
// them equal).
func WorkloadStatus(o any) *record.WorkloadStatus {
	switch x := o.(type) {
	case *appsv1.Deployment:
		st := x.Status
		s := &record.WorkloadStatus{ObservedGeneration: st.ObservedGeneration, Desired: replicas(x.Spec.Replicas),
			Paused: x.Spec.Paused, Replicas: st.Replicas, Updated: st.UpdatedReplicas, Ready: st.ReadyReplicas,
			Available: st.AvailableReplicas}
		for _, c := range st.Conditions {
			s.Conditions = append(s.Conditions, condition(string(c.Type), string(c.Status), c.Reason, c.Message, c.LastUpdateTime, c.LastTransitionTime))
		}
		return s
	case *appsv1.StatefulSet:
		st := x.Status
		s := &record.WorkloadStatus{ObservedGeneration: st.ObservedGeneration, Desired: replicas(x.Spec.Replicas),
			Replicas: st.Replicas, Updated: st.UpdatedReplicas, Ready: st.ReadyReplicas, Available: st.AvailableReplicas,
			CurrentRevision: st.CurrentRevision, UpdateRevision: st.UpdateRevision}
		if ru := x.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
			s.Partition = *ru.Partition
		}
		for _, c := range st.Conditions {
			s.Conditions = append(s.Conditions, condition(string(c.Type), string(c.Status), c.Reason, c.Message, metav1.Time{}, c.LastTransitionTime))
		}
		return s
	case *appsv1.DaemonSet:
		st := x.Status
		s := &record.WorkloadStatus{ObservedGeneration: st.ObservedGeneration, Desired: st.DesiredNumberScheduled,
			Replicas: st.CurrentNumberScheduled, Updated: st.UpdatedNumberScheduled, Ready: st.NumberReady,
			Available: st.NumberAvailable}
		for _, c := range st.Conditions {
			s.Conditions = append(s.Conditions, condition(string(c.Type), string(c.Status), c.Reason, c.Message, metav1.Time{}, c.LastTransitionTime))
		}
		return s
	case *batchv1.Job:
		st := x.Status
		s := &record.WorkloadStatus{Active: st.Active, Succeeded: st.Succeeded, Failed: st.Failed}
		if x.Spec.Completions != nil {
			s.Desired = *x.Spec.Completions
		}
		for _, c := range st.Conditions {
			s.Conditions = append(s.Conditions, condition(string(c.Type), string(c.Status), c.Reason, c.Message, c.LastProbeTime, c.LastTransitionTime))
		}
		return s
	}
	return nil
}

// replicas is spec.replicas, 1 when unset (the apiserver's default).
func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func condition(typ, status, reason, message string, updated, transition metav1.Time) record.Condition {
	t := transition.Time
	if updated.After(t) {
		t = updated.Time
	}
	return record.Condition{Type: typ, Status: status, Reason: reason, Message: message, Time: t.UTC()}
}
