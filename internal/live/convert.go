package live

import (
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/record"
)

// The conversions here produce exactly what package decode makes of the
// same objects' JSON (a test checks it), so that a capture replays to the
// traces the live run produced.

const (
	annTopLevel     = "topLevelSpan"
	annTraceparent  = "traceparent"
	annObjectTraces = "tracing.k8s.io/traceparent"
)

func eventFromV1(e *eventsv1.Event) *record.Event {
	r := &record.Event{
		UID: string(e.UID), Namespace: e.Namespace, Name: e.Name, API: "events.k8s.io/v1",
		ResourceVersion:    e.ResourceVersion,
		Regarding:          ref(e.Regarding),
		Reason:             e.Reason,
		Message:            e.Note,
		Type:               e.Type,
		Action:             e.Action,
		ReportingComponent: e.ReportingController,
		ReportingInstance:  e.ReportingInstance,
		Created:            e.CreationTimestamp.Time,
		TopLevel:           e.Annotations[annTopLevel] == "true",
		Traceparent:        e.Annotations[annTraceparent],
	}
	if e.Related != nil {
		rel := ref(*e.Related)
		r.Related = &rel
	}
	if r.ReportingComponent == "" {
		r.ReportingComponent = e.DeprecatedSource.Component
	}
	if r.ReportingInstance == "" {
		r.ReportingInstance = e.DeprecatedSource.Host
	}
	var seriesCount int32
	var seriesLast time.Time
	if e.Series != nil {
		seriesCount, seriesLast = e.Series.Count, e.Series.LastObservedTime.Time
	}
	setTimes(r, seriesCount, e.DeprecatedCount, seriesLast, e.DeprecatedFirstTimestamp.Time,
		e.DeprecatedLastTimestamp.Time, e.EventTime.Time)
	return r
}

func eventFromCore(e *corev1.Event) *record.Event {
	r := &record.Event{
		UID: string(e.UID), Namespace: e.Namespace, Name: e.Name, API: "v1",
		ResourceVersion:    e.ResourceVersion,
		Regarding:          ref(e.InvolvedObject),
		Reason:             e.Reason,
		Message:            e.Message,
		Type:               e.Type,
		Action:             e.Action,
		ReportingComponent: e.ReportingController,
		ReportingInstance:  e.ReportingInstance,
		Created:            e.CreationTimestamp.Time,
		TopLevel:           e.Annotations[annTopLevel] == "true",
		Traceparent:        e.Annotations[annTraceparent],
	}
	if e.Related != nil {
		rel := ref(*e.Related)
		r.Related = &rel
	}
	if r.ReportingComponent == "" {
		r.ReportingComponent = e.Source.Component
	}
	if r.ReportingInstance == "" {
		r.ReportingInstance = e.Source.Host
	}
	var seriesCount int32
	var seriesLast time.Time
	if e.Series != nil {
		seriesCount, seriesLast = e.Series.Count, e.Series.LastObservedTime.Time
	}
	setTimes(r, seriesCount, e.Count, seriesLast, e.FirstTimestamp.Time, e.LastTimestamp.Time, e.EventTime.Time)
	return r
}

// setTimes applies the normalization rules of record.Event.
func setTimes(r *record.Event, seriesCount, count int32, seriesLast, first, last, eventTime time.Time) {
	switch {
	case seriesCount > 0:
		r.Count = seriesCount
	case count > 0:
		r.Count = count
	default:
		r.Count = 1
	}
	r.First, r.Coarse = first, true
	if r.First.IsZero() {
		r.First, r.Coarse = eventTime, false
	}
	if r.First.IsZero() {
		r.First, r.Coarse = r.Created, true
	}
	switch {
	case !seriesLast.IsZero():
		r.Last, r.Coarse = seriesLast, false
	case !last.IsZero():
		r.Last, r.Coarse = last, true
	case !eventTime.IsZero():
		r.Last, r.Coarse = eventTime, false
	default:
		r.Last = r.First
	}
}

func ref(o corev1.ObjectReference) record.Ref {
	return record.Ref{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
		UID: string(o.UID), FieldPath: o.FieldPath}
}

// objectFromMeta converts trimmed metadata (see trimMeta) to a record.
func objectFromMeta(m *metav1.PartialObjectMetadata) *record.Object {
	o := &record.Object{
		APIVersion: m.APIVersion, Kind: m.Kind, Namespace: m.Namespace, Name: m.Name, UID: string(m.UID),
		Generation:  m.Generation,
		Created:     m.CreationTimestamp.Time,
		Traceparent: m.Annotations[annObjectTraces],
	}
	if m.DeletionTimestamp != nil {
		o.Deleting = m.DeletionTimestamp.Time
		if g := m.DeletionGracePeriodSeconds; g != nil && *g > 0 {
			o.Deleting = o.Deleting.Add(-time.Duration(*g) * time.Second)
		}
	}
	for _, r := range m.OwnerReferences {
		o.Owners = append(o.Owners, record.OwnerRef{APIVersion: r.APIVersion, Kind: r.Kind, Name: r.Name,
			UID: string(r.UID), Controller: r.Controller != nil && *r.Controller})
	}
	var ownerTime time.Time
	ownerFound := false
	for _, f := range m.ManagedFields {
		var t time.Time
		if f.Time != nil {
			t = f.Time.Time
		}
		spec, owners := touches(f.FieldsV1)
		if spec && !t.Before(o.SpecTime) {
			o.SpecManager, o.SpecOperation, o.SpecTime = f.Manager, string(f.Operation), t
		}
		if owners && (!ownerFound || t.Before(ownerTime)) {
			o.OwnerManager, ownerTime, ownerFound = f.Manager, t, true
		}
	}
	return o
}

// fieldsTop is the part of a managedFields entry kspan reads.
type fieldsTop struct {
	Spec     *json.RawMessage `json:"f:spec"`
	Metadata *struct {
		OwnerReferences *json.RawMessage `json:"f:ownerReferences"`
	} `json:"f:metadata"`
}

// touches says whether a managedFields entry covers the spec and the owner
// references.
func touches(f *metav1.FieldsV1) (spec, owners bool) {
	if f == nil {
		return false, false
	}
	raw := f.GetRawBytes()
	if len(raw) == 0 {
		return false, false
	}
	var ft fieldsTop
	if json.Unmarshal(raw, &ft) != nil {
		return false, false
	}
	return ft.Spec != nil, ft.Metadata != nil && ft.Metadata.OwnerReferences != nil
}
