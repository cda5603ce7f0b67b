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

// eventParts are an Event's fields under either API's names.
type eventParts struct {
	meta                                             *metav1.ObjectMeta
	api                                              string
	regarding                                        corev1.ObjectReference
	related                                          *corev1.ObjectReference
	reason, message, typ, action                     string
	component, instance, sourceComponent, sourceHost string
	series                                           *time.Time
	seriesCount, count                               int32
	first, last, eventTime                           time.Time
}

func (p eventParts) record() *record.Event {
	r := &record.Event{
		UID: string(p.meta.UID), Namespace: p.meta.Namespace, Name: p.meta.Name, API: p.api,
		ResourceVersion:    p.meta.ResourceVersion,
		Regarding:          ref(p.regarding),
		Reason:             p.reason,
		Message:            p.message,
		Type:               p.typ,
		Action:             p.action,
		ReportingComponent: p.component,
		ReportingInstance:  p.instance,
		Created:            p.meta.CreationTimestamp.Time,
		TopLevel:           p.meta.Annotations[annTopLevel] == "true",
		Traceparent:        p.meta.Annotations[annTraceparent],
	}
	if p.related != nil {
		rel := ref(*p.related)
		r.Related = &rel
	}
	if r.ReportingComponent == "" {
		r.ReportingComponent = p.sourceComponent
	}
	if r.ReportingInstance == "" {
		r.ReportingInstance = p.sourceHost
	}
	var seriesLast time.Time
	if p.series != nil {
		seriesLast = *p.series
	}
	setTimes(r, p.seriesCount, p.count, seriesLast, p.first, p.last, p.eventTime)
	return r
}

func eventFromV1(e *eventsv1.Event) *record.Event {
	p := eventParts{meta: &e.ObjectMeta, api: "events.k8s.io/v1", regarding: e.Regarding, related: e.Related,
		reason: e.Reason, message: e.Note, typ: e.Type, action: e.Action,
		component: e.ReportingController, instance: e.ReportingInstance,
		sourceComponent: e.DeprecatedSource.Component, sourceHost: e.DeprecatedSource.Host,
		count: e.DeprecatedCount, first: e.DeprecatedFirstTimestamp.Time, last: e.DeprecatedLastTimestamp.Time,
		eventTime: e.EventTime.Time}
	if e.Series != nil {
		p.seriesCount, p.series = e.Series.Count, &e.Series.LastObservedTime.Time
	}
	return p.record()
}

func eventFromCore(e *corev1.Event) *record.Event {
	p := eventParts{meta: &e.ObjectMeta, api: "v1", regarding: e.InvolvedObject, related: e.Related,
		reason: e.Reason, message: e.Message, typ: e.Type, action: e.Action,
		component: e.ReportingController, instance: e.ReportingInstance,
		sourceComponent: e.Source.Component, sourceHost: e.Source.Host,
		count: e.Count, first: e.FirstTimestamp.Time, last: e.LastTimestamp.Time, eventTime: e.EventTime.Time}
	if e.Series != nil {
		p.seriesCount, p.series = e.Series.Count, &e.Series.LastObservedTime.Time
	}
	return p.record()
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
		ResourceVersion: m.ResourceVersion,
		Generation:      m.Generation,
		Created:         m.CreationTimestamp.Time,
		Traceparent:     m.Annotations[annObjectTraces],
		Labels:          m.Labels,
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
	// Every update of an object carries all its entries, and a spec entry
	// (a pod's containers) is large: scan its top keys rather than decode it.
	ok := objectKeys(raw, func(k string, v []byte) bool {
		switch k {
		case "f:spec":
			spec = true
		case "f:metadata":
			return objectKeys(v, func(k string, _ []byte) bool {
				owners = owners || k == "f:ownerReferences"
				return true
			})
		}
		return true
	})
	if ok {
		return spec, owners
	}
	var ft fieldsTop
	if json.Unmarshal(raw, &ft) != nil {
		return false, false
	}
	return ft.Spec != nil, ft.Metadata != nil && ft.Metadata.OwnerReferences != nil
}

// objectKeys calls fn with each key of the JSON object b (escapes left as
// they are) and its raw value, until fn returns false. It reports false
// when b is not an object it can scan, or fn did.
func objectKeys(b []byte, fn func(key string, val []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end := skipString(b, i)
		if end < 0 {
			return false
		}
		key := string(b[i+1 : end-1])
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 || !fn(key, b[i:vend]) {
			return false
		}
		i = skipSpace(b, vend)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return true
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
