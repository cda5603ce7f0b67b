package convert

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/record"
)

// The annotations an Event may carry to join or start a trace.
const (
	AnnotationTopLevel    = "topLevelSpan"
	AnnotationTraceparent = "traceparent"
)

// EventFromCore converts a core/v1 Event.
func EventFromCore(e *corev1.Event) *record.Event {
	p := parts{meta: &e.ObjectMeta, api: "v1", regarding: e.InvolvedObject, related: e.Related,
		reason: e.Reason, message: e.Message, typ: e.Type, action: e.Action,
		component: e.ReportingController, instance: e.ReportingInstance,
		sourceComponent: e.Source.Component, sourceHost: e.Source.Host,
		count: e.Count, first: e.FirstTimestamp.Time, last: e.LastTimestamp.Time, eventTime: e.EventTime.Time}
	if e.Series != nil {
		p.seriesCount, p.seriesLast = e.Series.Count, e.Series.LastObservedTime.Time
	}
	return p.record()
}

// EventFromV1 converts an events.k8s.io/v1 Event; api is its apiVersion
// (events.k8s.io/v1, or a later version of the same shape).
func EventFromV1(e *eventsv1.Event, api string) *record.Event {
	p := parts{meta: &e.ObjectMeta, api: api, regarding: e.Regarding, related: e.Related,
		reason: e.Reason, message: e.Note, typ: e.Type, action: e.Action,
		component: e.ReportingController, instance: e.ReportingInstance,
		sourceComponent: e.DeprecatedSource.Component, sourceHost: e.DeprecatedSource.Host,
		count: e.DeprecatedCount, first: e.DeprecatedFirstTimestamp.Time, last: e.DeprecatedLastTimestamp.Time,
		eventTime: e.EventTime.Time}
	if e.Series != nil {
		p.seriesCount, p.seriesLast = e.Series.Count, e.Series.LastObservedTime.Time
	}
	return p.record()
}

// parts are an Event's fields under either API's names.
type parts struct {
	meta                                             *metav1.ObjectMeta
	api                                              string
	regarding                                        corev1.ObjectReference
	related                                          *corev1.ObjectReference
	reason, message, typ, action                     string
	component, instance, sourceComponent, sourceHost string
	seriesCount, count                               int32
	seriesLast, first, last, eventTime               time.Time
}

func (p parts) record() *record.Event {
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
		TopLevel:           p.meta.Annotations[AnnotationTopLevel] == "true",
		Traceparent:        p.meta.Annotations[AnnotationTraceparent],
	}
	if p.related != nil {
		if rel := ref(*p.related); rel != (record.Ref{}) {
			r.Related = &rel
		}
	}
	if r.ReportingComponent == "" {
		r.ReportingComponent = p.sourceComponent
	}
	if r.ReportingInstance == "" {
		r.ReportingInstance = p.sourceHost
	}
	switch {
	case p.seriesCount > 0:
		r.Count = p.seriesCount
	case p.count > 0:
		r.Count = p.count
	default:
		r.Count = 1
	}
	setTimes(r, p.seriesLast, p.first, p.last, p.eventTime)
	return r
}

// setTimes applies the rules of record.Event: First is firstTimestamp
// (whole seconds), else eventTime (microseconds), else creationTimestamp;
// Last is series.lastObservedTime, else lastTimestamp, else eventTime,
// else First; Coarse says Last is in whole seconds. Mixed resolutions can
// put a truncated Last before a precise First: Last is then First.
func setTimes(r *record.Event, seriesLast, first, last, eventTime time.Time) {
	firstCoarse := true
	switch {
	case !first.IsZero():
		r.First = first
	case !eventTime.IsZero():
		r.First, firstCoarse = eventTime, false
	default:
		r.First = r.Created
	}
	switch {
	case !seriesLast.IsZero():
		r.Last = seriesLast
	case !last.IsZero():
		r.Last, r.Coarse = last, true
	case !eventTime.IsZero():
		r.Last = eventTime
	default:
		r.Last, r.Coarse = r.First, firstCoarse && !r.First.IsZero()
	}
	if r.Last.Before(r.First) {
		r.Last = r.First
	}
}

// ref converts an object reference.
func ref(o corev1.ObjectReference) record.Ref {
	return record.Ref{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
		UID: string(o.UID), FieldPath: o.FieldPath}
}
