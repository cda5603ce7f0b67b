package rollout

import (
	"strings"

	"github.com/kspan-project/kspan/internal/record"
)

// Outcome is how a rollout ended, or that it has not (yet) been seen to.
type Outcome string

// The outcomes, as the attribute kspan.rollout.outcome carries them.
const (
	// Complete: the controller reports the generation fully rolled out.
	Complete Outcome = "complete"
	// Failed: the controller gave up (ProgressDeadlineExceeded, a Job's
	// BackoffLimitExceeded or DeadlineExceeded).
	Failed Outcome = "failed"
	// Superseded: a newer generation started before this one finished.
	Superseded Outcome = "superseded"
	// InProgress: still rolling out when its trace was exported.
	InProgress Outcome = "in_progress"
	// Unknown: no status of the object was seen (metadata-only input).
	Unknown Outcome = "unknown"
)

// Result is an outcome with the condition that gave it.
type Result struct {
	Outcome Outcome
	// Reason and Message are the deciding condition's, when one decided.
	Reason, Message string
}

// Tracked reports whether objects of apiVersion and kind publish a rollout
// status kspan reads.
func Tracked(apiVersion, kind string) bool {
	group, _, _ := strings.Cut(apiVersion, "/")
	if !strings.Contains(apiVersion, "/") {
		group = ""
	}
	switch group {
	case "apps":
		return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet"
	case "batch":
		return kind == "Job"
	}
	return false
}

// Evaluate returns the outcome the status s reports for generation gen of
// an object of the kind: Complete or Failed, or a zero Result while the
// rollout goes on (or the controller has not observed gen yet).
func Evaluate(kind string, gen int64, s *record.WorkloadStatus) Result {
	if s == nil {
		return Result{}
	}
	if kind == "Job" {
		return job(s)
	}
	if s.ObservedGeneration < gen {
		return Result{}
	}
	switch kind {
	case "Deployment":
		return deployment(s)
	case "StatefulSet":
		return statefulSet(s)
	case "DaemonSet":
		if s.Updated >= s.Desired && s.Available >= s.Desired {
			return Result{Outcome: Complete}
		}
	}
	return Result{}
}

func deployment(s *record.WorkloadStatus) Result {
	p := s.Condition("Progressing")
	if p != nil && p.Status == "False" && p.Reason == "ProgressDeadlineExceeded" {
		return Result{Outcome: Failed, Reason: p.Reason, Message: p.Message}
	}
	if s.Paused {
		return Result{}
	}
	if s.Updated < s.Desired || s.Replicas > s.Updated || s.Available < s.Updated {
		return Result{}
	}
	if p != nil && !(p.Status == "True" && p.Reason == "NewReplicaSetAvailable") {
		return Result{}
	}
	r := Result{Outcome: Complete}
	if p != nil {
		r.Reason, r.Message = p.Reason, p.Message
	}
	return r
}

func statefulSet(s *record.WorkloadStatus) Result {
	if s.Ready < s.Desired {
		return Result{}
	}
	if s.Partition > 0 {
		if s.Updated < s.Desired-s.Partition {
			return Result{}
		}
		return Result{Outcome: Complete}
	}
	if s.UpdateRevision != s.CurrentRevision {
		return Result{}
	}
	return Result{Outcome: Complete}
}

func job(s *record.WorkloadStatus) Result {
	for _, c := range s.Conditions {
		if c.Status != "True" {
			continue
		}
		switch c.Type {
		case "Complete":
			return Result{Outcome: Complete, Reason: c.Reason, Message: c.Message}
		case "Failed":
			return Result{Outcome: Failed, Reason: c.Reason, Message: c.Message}
		}
	}
	return Result{}
}
