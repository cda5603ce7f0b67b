package decode

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// wire is every top-level field kspan reads from a Kubernetes object, an
// Event of either API, a List or a watch event wrapper, so one decoding pass
// serves them all; the kind decides which fields mean anything. Fields kspan
// does not name (spec, status, labels) are skipped without being stored.
type wire struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	// Spec and Status are read for the workload kinds (rollout.Tracked).
	Spec   *wspec   `json:"spec"`
	Status *wstatus `json:"status"`

	// Type is the watch event type in a wrapper, the Event type otherwise.
	Type string `json:"type"`
	// Object is the wrapped object of a watch event wrapper.
	Object json.RawMessage `json:"object"`

	// Event fields: core/v1 names, then events.k8s.io/v1 names.
	InvolvedObject     *ref   `json:"involvedObject"`
	Message            string `json:"message"`
	Source             source `json:"source"`
	FirstTimestamp     ktime  `json:"firstTimestamp"`
	LastTimestamp      ktime  `json:"lastTimestamp"`
	Count              int32  `json:"count"`
	ReportingComponent string `json:"reportingComponent"`

	Regarding                *ref   `json:"regarding"`
	Note                     string `json:"note"`
	DeprecatedSource         source `json:"deprecatedSource"`
	DeprecatedFirstTimestamp ktime  `json:"deprecatedFirstTimestamp"`
	DeprecatedLastTimestamp  ktime  `json:"deprecatedLastTimestamp"`
	DeprecatedCount          int32  `json:"deprecatedCount"`
	ReportingController      string `json:"reportingController"`

	// Both APIs.
	Related           *ref    `json:"related"`
	Reason            string  `json:"reason"`
	Action            string  `json:"action"`
	EventTime         ktime   `json:"eventTime"`
	Series            *series `json:"series"`
	ReportingInstance string  `json:"reportingInstance"`
}

// wspec is the part of a workload's spec a rollout's outcome depends on.
type wspec struct {
	Replicas       *int32 `json:"replicas"`
	Completions    *int32 `json:"completions"`
	Paused         bool   `json:"paused"`
	UpdateStrategy struct {
		RollingUpdate *struct {
			Partition *int32 `json:"partition"`
		} `json:"rollingUpdate"`
	} `json:"updateStrategy"`
}

// wstatus is a workload's status under every workload kind's names.
// Conditions are kept raw: other kinds' (a Pod's) are never parsed.
type wstatus struct {
	ObservedGeneration     int64           `json:"observedGeneration"`
	Replicas               int32           `json:"replicas"`
	UpdatedReplicas        int32           `json:"updatedReplicas"`
	ReadyReplicas          int32           `json:"readyReplicas"`
	AvailableReplicas      int32           `json:"availableReplicas"`
	CurrentRevision        string          `json:"currentRevision"`
	UpdateRevision         string          `json:"updateRevision"`
	DesiredNumberScheduled int32           `json:"desiredNumberScheduled"`
	CurrentNumberScheduled int32           `json:"currentNumberScheduled"`
	UpdatedNumberScheduled int32           `json:"updatedNumberScheduled"`
	NumberReady            int32           `json:"numberReady"`
	NumberAvailable        int32           `json:"numberAvailable"`
	Active                 int32           `json:"active"`
	Succeeded              int32           `json:"succeeded"`
	Failed                 int32           `json:"failed"`
	Conditions             json.RawMessage `json:"conditions"`
}

type wcondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason"`
	Message            string `json:"message"`
	LastUpdateTime     ktime  `json:"lastUpdateTime"`
	LastProbeTime      ktime  `json:"lastProbeTime"`
	LastTransitionTime ktime  `json:"lastTransitionTime"`
}

type meta struct {
	Name              string `json:"name"`
	Namespace         string `json:"namespace"`
	UID               string `json:"uid"`
	ResourceVersion   string `json:"resourceVersion"`
	Generation        int64  `json:"generation"`
	CreationTimestamp ktime  `json:"creationTimestamp"`
	DeletionTimestamp ktime  `json:"deletionTimestamp"`
	// DeletionGracePeriodSeconds turns deletionTimestamp (a deadline) back
	// into the time the deletion was asked for.
	DeletionGracePeriodSeconds int64             `json:"deletionGracePeriodSeconds"`
	Annotations                annotations       `json:"annotations"`
	Labels                     map[string]string `json:"labels"`
	OwnerReferences            []ownerRef        `json:"ownerReferences"`
	ManagedFields              []managedField    `json:"managedFields"`
}

// annotations holds only the annotations kspan reads; the others (often
// large, like kubectl's last-applied-configuration) are skipped.
type annotations struct {
	TopLevelSpan string `json:"topLevelSpan"`
	Traceparent  string `json:"traceparent"`
	// ObjectTraceparent is KEP-5915's annotation on objects.
	ObjectTraceparent string `json:"tracing.k8s.io/traceparent"`
}

type ownerRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Controller *bool  `json:"controller"`
}

type managedField struct {
	Manager   string   `json:"manager"`
	Operation string   `json:"operation"`
	Time      ktime    `json:"time"`
	FieldsV1  fieldsV1 `json:"fieldsV1"`
}

// fieldsV1 records only whether the two field sets kspan cares about are
// present; their contents are skipped.
type fieldsV1 struct {
	Spec     present `json:"f:spec"`
	Metadata struct {
		OwnerReferences present `json:"f:ownerReferences"`
	} `json:"f:metadata"`
}

// present is true when its key occurs with a non-null value.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = string(b) != "null"
	return nil
}

type ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	FieldPath  string `json:"fieldPath"`
}

type source struct {
	Component string `json:"component"`
	Host      string `json:"host"`
}

type series struct {
	Count            int32 `json:"count"`
	LastObservedTime ktime `json:"lastObservedTime"`
}

// ktime is a Kubernetes timestamp (metav1.Time, whole seconds, or
// metav1.MicroTime): RFC 3339, with null and "" meaning unset. Times are
// kept in UTC. A value that is not a timestamp does not fail the decoding:
// it is kept in bad, and only the fields an Event or object really uses are
// checked (a custom resource may have its own "lastTimestamp").
type ktime struct {
	time.Time
	bad string
}

func (t *ktime) UnmarshalJSON(b []byte) error {
	*t = ktime{}
	s := string(b)
	if s == "null" || s == `""` {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if v, err := time.Parse(time.RFC3339Nano, s[1:len(s)-1]); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	t.bad = s
	return nil
}

// times reads ktime fields and remembers the first bad one.
type times struct{ err error }

func (ts *times) get(field string, t ktime) time.Time {
	if t.bad != "" && ts.err == nil {
		ts.err = fmt.Errorf("%s is %s, not an RFC 3339 time", field, t.bad)
	}
	return t.Time
}

// tolerate filters the error of unmarshaling raw into w. The fields above
// that only Events use may have other types in other kinds (a custom
// resource's "source" or "count"); encoding/json then skips the field,
// decodes the rest and reports the first mismatch. Such a mismatch is
// ignored unless it concerns an Event, a wrapper or the metadata; as only the
// first one is reported, the metadata is then decoded again on its own to be
// sure it has none. prefix is "object." when raw is a capture line holding
// the object, else "".
func tolerate(err error, w *wire, raw []byte, prefix string) error {
	var te *json.UnmarshalTypeError
	if err == nil || !errors.As(err, &te) {
		return err
	}
	field, ok := strings.CutPrefix(te.Field, prefix)
	if !ok {
		return typeError(te, "capture line", te.Field)
	}
	if w.Kind == "" || isEvent(w) || field == "apiVersion" || field == "kind" ||
		field == "metadata" || strings.HasPrefix(field, "metadata.") {
		return typeError(te, w.describe(), field)
	}
	if prefix != "" {
		var line struct {
			Object typeAndMeta `json:"object"`
		}
		err = json.Unmarshal(raw, &line)
	} else {
		var m typeAndMeta
		err = json.Unmarshal(raw, &m)
	}
	if errors.As(err, &te) {
		return typeError(te, w.describe(), strings.TrimPrefix(te.Field, prefix))
	}
	return err
}

// typeError rewords encoding/json's message in the terms of the input.
func typeError(te *json.UnmarshalTypeError, what, field string) error {
	want := "a " + te.Type.String()
	switch te.Type.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := strings.CutPrefix(te.Value, "number "); ok && !strings.ContainsAny(n, ".eE") {
			return fmt.Errorf("%s: %s is %s, out of range (a %d-bit integer: %d to %d)", what, field, n,
				te.Type.Bits(), int64(-1)<<(te.Type.Bits()-1), uint64(1)<<(te.Type.Bits()-1)-1)
		}
		want = "an integer"
	case reflect.Bool:
		want = "a boolean"
	case reflect.Struct, reflect.Pointer, reflect.Map:
		want = "an object"
	case reflect.Slice:
		want = "an array"
	}
	return fmt.Errorf("%s: %s is a JSON %s, want %s", what, field, te.Value, want)
}

// typeAndMeta is the part of wire that every kind has.
type typeAndMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
}
