package span

// Attribute keys. Names follow the OpenTelemetry semantic conventions where
// they exist (k8s.*) and the Collector's k8s_events receiver for events.
const (
	KeyEventUID         = "k8s.event.uid"
	KeyEventName        = "k8s.event.name"
	KeyEventReason      = "k8s.event.reason"
	KeyEventAction      = "k8s.event.action"
	KeyEventCount       = "k8s.event.count"
	KeyEventType        = "k8s.event.type"
	KeyEventMessage     = "k8s.event.message"
	KeyEventStartTime   = "k8s.event.start_time"
	KeyEventComponent   = "k8s.event.reporting_component"
	KeyEventInstance    = "k8s.event.reporting_instance"
	KeyObjectKind       = "k8s.object.kind"
	KeyObjectName       = "k8s.object.name"
	KeyObjectUID        = "k8s.object.uid"
	KeyObjectAPIVersion = "k8s.object.api_version"
	KeyObjectFieldPath  = "k8s.object.fieldpath"
	KeyObjectGeneration = "k8s.object.generation"
	KeyNamespace        = "k8s.namespace.name"
	KeyClusterName      = "k8s.cluster.name"
	KeyServiceName      = "service.name"

	// KeySynthetic marks the span kspan adds as the root of a trace: the
	// change (or episode of activity) of a root object, not an Event.
	KeySynthetic = "kspan.synthetic"
	// KeyChangeManager and KeyChangeOperation name who made the spec change
	// a root span stands for (from managedFields).
	KeyChangeManager   = "kspan.change.manager"
	KeyChangeOperation = "kspan.change.operation"
	// KeyLinkSource says which annotation a span link was read from.
	KeyLinkSource = "kspan.link.source"

	// The outcome of the rollout a change's root span stands for (a
	// Deployment, StatefulSet, DaemonSet or Job): complete, failed,
	// superseded, in_progress or unknown; the condition reason and message
	// that decided it; the replica counts its status gave last.
	KeyRolloutOutcome = "kspan.rollout.outcome"
	KeyRolloutReason  = "kspan.rollout.reason"
	KeyRolloutMessage = "kspan.rollout.message"
	// KeyRolloutDuration is from the spec change to the outcome, in
	// milliseconds (the root span may last longer: it covers what the
	// change caused after its outcome).
	KeyRolloutDuration  = "kspan.rollout.duration_ms"
	KeyRolloutDesired   = "kspan.rollout.replicas.desired"
	KeyRolloutUpdated   = "kspan.rollout.replicas.updated"
	KeyRolloutReady     = "kspan.rollout.replicas.ready"
	KeyRolloutAvailable = "kspan.rollout.replicas.available"
	// A Job's pods instead of replicas.
	KeyRolloutActive    = "kspan.rollout.pods.active"
	KeyRolloutSucceeded = "kspan.rollout.pods.succeeded"
	KeyRolloutFailed    = "kspan.rollout.pods.failed"
	// KeyLinkRelation names what a link between two rollouts' root spans
	// means: "superseded_by" (to the newer change) or "supersedes".
	KeyLinkRelation = "kspan.link.relation"
)
