package record

import "time"

// Op says what happened to the object or event a record carries.
type Op uint8

const (
	// Upsert is an addition, an update or a relist of an object or event.
	Upsert Op = iota
	// Delete says the object was deleted; the engine keeps a tombstone.
	Delete
)

func (o Op) String() string {
	if o == Delete {
		return "DELETED"
	}
	return "UPSERT"
}

// Record is one observation: exactly one of Event and Object is set.
type Record struct {
	// Observed is when kspan (or the tool that captured it) saw the record.
	// Decoders that have no such time (kubectl output) use the record's own
	// latest timestamp for events and the zero time for objects, so objects
	// are known before any event needs them.
	Observed time.Time
	Op       Op
	Event    *Event
	Object   *Object
	// Source says where the record came from ("file.json:12"), for messages.
	Source string
	// Inferred says Observed was inferred, not seen: replay dates an object
	// version from kubectl output by the first Event etcd stored after it.
	// Such a record still comes before every event, and only dates the
	// object's generation.
	Inferred bool
}

// Ref identifies an object that an Event is about.
type Ref struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        string
	FieldPath  string
}

// Event is one Kubernetes Event in the state it was observed, normalized
// from core/v1 or events.k8s.io/v1. The same Event seen through both APIs has
// the same UID and Count, which is how duplicates are recognised.
type Event struct {
	UID       string
	Namespace string
	Name      string
	// API is the API group version the event was read from: "v1" or
	// "events.k8s.io/v1".
	API             string
	ResourceVersion string

	Regarding Ref
	Related   *Ref

	Reason  string
	Message string
	// Type is "Normal" or "Warning" (anything else is kept as given).
	Type   string
	Action string

	// ReportingComponent is reportingComponent/reportingController, else
	// source.component. ReportingInstance is reportingInstance, else
	// source.host.
	ReportingComponent string
	ReportingInstance  string

	// Count is the number of occurrences so far: count (core/v1) or
	// series.count, and 1 when neither is set.
	Count int32
	// First is the first occurrence (firstTimestamp or eventTime); Last the
	// latest (lastTimestamp or series.lastObservedTime, else First).
	First time.Time
	Last  time.Time
	// Coarse says the times have whole-second resolution (the legacy
	// recorder's timestamps), so the true time lies in [t, t+1s).
	Coarse bool
	// Created is metadata.creationTimestamp.
	Created time.Time

	// TopLevel is the annotation topLevelSpan: "true".
	TopLevel bool
	// Traceparent is the W3C trace context from the Event's "traceparent"
	// annotation, if any.
	Traceparent string
}

// OwnerRef is one entry of metadata.ownerReferences.
type OwnerRef struct {
	APIVersion string
	Kind       string
	Name       string
	UID        string
	Controller bool
}

// Object is the metadata of any Kubernetes object, trimmed to what the
// engine reads.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        string
	// ResourceVersion is etcd's revision of this version of the object.
	ResourceVersion string
	Generation      int64
	Created         time.Time
	// Deleting is when the object's deletion was asked for:
	// metadata.deletionTimestamp (a deadline) minus
	// deletionGracePeriodSeconds. Zero when not being deleted.
	Deleting time.Time
	Owners   []OwnerRef
	// Traceparent is the annotation tracing.k8s.io/traceparent, if any.
	Traceparent string
	// Labels are the object's labels (live mode keeps only those a label
	// selector names).
	Labels map[string]string

	// SpecManager, SpecOperation and SpecTime describe the newest
	// managedFields entry that touches f:spec: who changed the spec last, how
	// (Update or Apply) and when (whole seconds). Zero when unknown.
	SpecManager   string
	SpecOperation string
	SpecTime      time.Time
	// OwnerManager is the manager of f:metadata.f:ownerReferences: the
	// controller that created the object on behalf of its owner.
	OwnerManager string

	// Status is a workload's rollout status (apps/v1 Deployments,
	// StatefulSets and DaemonSets, batch/v1 Jobs); nil for other kinds and
	// when the input did not carry it (metadata only).
	Status *WorkloadStatus
}

// WorkloadStatus is what a workload controller publishes about its rollout,
// trimmed to what kspan reads: the fields `kubectl rollout status` checks.
// Counts a kind does not have stay zero.
type WorkloadStatus struct {
	// ObservedGeneration is the generation the controller has acted on.
	ObservedGeneration int64
	// Desired is spec.replicas (1 when unset) of a Deployment or
	// StatefulSet, a DaemonSet's status.desiredNumberScheduled, a Job's
	// spec.completions (0 when unset).
	Desired int32
	// Partition is a StatefulSet's rolling update partition: pods with a
	// lower ordinal keep the old revision.
	Partition int32
	// Paused is a Deployment's spec.paused.
	Paused bool
	// Replicas, Updated, Ready and Available are status.replicas,
	// updatedReplicas, readyReplicas and availableReplicas (a DaemonSet's
	// currentNumberScheduled, updatedNumberScheduled, numberReady and
	// numberAvailable).
	Replicas, Updated, Ready, Available int32
	// CurrentRevision and UpdateRevision are a StatefulSet's.
	CurrentRevision, UpdateRevision string
	// Active, Succeeded and Failed count a Job's pods.
	Active, Succeeded, Failed int32
	Conditions                []Condition
}

// Condition is one of a workload's status conditions.
type Condition struct {
	Type, Status, Reason, Message string
	// Time is the later of lastUpdateTime and lastTransitionTime.
	Time time.Time
}

// Condition returns the condition of type typ, or nil.
func (s *WorkloadStatus) Condition(typ string) *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}

// Time is the occurrence time an Event record stands for: its latest one.
func (e *Event) Time() time.Time { return e.Last }
