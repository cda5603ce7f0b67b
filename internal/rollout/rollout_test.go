package rollout

import (
	"testing"

	"github.com/kspan-project/kspan/internal/record"
)

func TestEvaluate(t *testing.T) {
	progressing := func(status, reason string) []record.Condition {
		return []record.Condition{{Type: "Available", Status: "True"}, {Type: "Progressing", Status: status, Reason: reason, Message: "m"}}
	}
	for _, c := range []struct {
		name string
		kind string
		gen  int64
		s    record.WorkloadStatus
		want Result
	}{
		{"deployment complete", "Deployment", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Replicas: 3, Updated: 3, Available: 3,
			Conditions: progressing("True", "NewReplicaSetAvailable")}, Result{Complete, "NewReplicaSetAvailable", "m"}},
		{"deployment not observed yet", "Deployment", 3, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Replicas: 3, Updated: 3, Available: 3,
			Conditions: progressing("True", "NewReplicaSetAvailable")}, Result{}},
		{"deployment old pods left", "Deployment", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Replicas: 4, Updated: 3, Available: 3,
			Conditions: progressing("True", "ReplicaSetUpdated")}, Result{}},
		{"deployment counts reached, condition behind", "Deployment", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Replicas: 3, Updated: 3, Available: 3,
			Conditions: progressing("True", "ReplicaSetUpdated")}, Result{}},
		{"deployment unavailable", "Deployment", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Replicas: 3, Updated: 3, Available: 2,
			Conditions: progressing("True", "NewReplicaSetAvailable")}, Result{}},
		{"deployment without conditions", "Deployment", 1, record.WorkloadStatus{ObservedGeneration: 1, Desired: 2, Replicas: 2, Updated: 2, Available: 2}, Result{Outcome: Complete}},
		{"deployment deadline", "Deployment", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Replicas: 3, Updated: 1,
			Conditions: progressing("False", "ProgressDeadlineExceeded")}, Result{Failed, "ProgressDeadlineExceeded", "m"}},
		{"deployment paused", "Deployment", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Replicas: 3, Updated: 3, Available: 3, Paused: true,
			Conditions: progressing("Unknown", "DeploymentPaused")}, Result{}},
		{"statefulset complete", "StatefulSet", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Ready: 3, Updated: 3,
			CurrentRevision: "r2", UpdateRevision: "r2"}, Result{Outcome: Complete}},
		{"statefulset revisions differ", "StatefulSet", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Ready: 3, Updated: 2,
			CurrentRevision: "r1", UpdateRevision: "r2"}, Result{}},
		{"statefulset not ready", "StatefulSet", 1, record.WorkloadStatus{ObservedGeneration: 1, Desired: 3, Ready: 2,
			CurrentRevision: "r1", UpdateRevision: "r1"}, Result{}},
		{"statefulset partition reached", "StatefulSet", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Ready: 3, Updated: 1, Partition: 2,
			CurrentRevision: "r1", UpdateRevision: "r2"}, Result{Outcome: Complete}},
		{"statefulset partition not reached", "StatefulSet", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 3, Ready: 3, Updated: 0, Partition: 2,
			CurrentRevision: "r1", UpdateRevision: "r2"}, Result{}},
		{"daemonset complete", "DaemonSet", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 4, Updated: 4, Available: 4}, Result{Outcome: Complete}},
		{"daemonset updating", "DaemonSet", 2, record.WorkloadStatus{ObservedGeneration: 2, Desired: 4, Updated: 3, Available: 4}, Result{}},
		{"job complete", "Job", 1, record.WorkloadStatus{Succeeded: 1, Conditions: []record.Condition{{Type: "SuccessCriteriaMet", Status: "True"}, {Type: "Complete", Status: "True"}}},
			Result{Outcome: Complete}},
		{"job failed", "Job", 1, record.WorkloadStatus{Failed: 3, Conditions: []record.Condition{{Type: "FailureTarget", Status: "True", Reason: "BackoffLimitExceeded"},
			{Type: "Failed", Status: "True", Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}},
			Result{Failed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"}},
		{"job running", "Job", 1, record.WorkloadStatus{Active: 1}, Result{}},
		{"not a workload", "ReplicaSet", 1, record.WorkloadStatus{ObservedGeneration: 1}, Result{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Evaluate(c.kind, c.gen, &c.s); got != c.want {
				t.Errorf("Evaluate = %+v, want %+v", got, c.want)
			}
		})
	}
	if got := Evaluate("Deployment", 1, nil); got != (Result{}) {
		t.Errorf("no status: %+v", got)
	}
}

func TestTracked(t *testing.T) {
	for _, c := range []struct {
		api, kind string
		want      bool
	}{
		{"apps/v1", "Deployment", true}, {"apps/v1", "StatefulSet", true}, {"apps/v1", "DaemonSet", true},
		{"batch/v1", "Job", true}, {"apps/v1", "ReplicaSet", false}, {"batch/v1", "CronJob", false},
		{"v1", "Pod", false}, {"example.com/v1", "Deployment", false}, {"v1", "Job", false},
	} {
		if got := Tracked(c.api, c.kind); got != c.want {
			t.Errorf("Tracked(%q, %q) = %v", c.api, c.kind, got)
		}
	}
}
