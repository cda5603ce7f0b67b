package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kspan-project/kspan/internal/convert"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/rollout"
)

// value turns one decoded value into records: an object or Event, a List of
// them, or a watch event wrapper around one. raw is the value's JSON (needed
// for Lists only). obs is the observation time the format gives, zero when
// it gives none. nested says the value is inside a List, a wrapper or a
// capture line, where only objects may be.
func (d *decoder) value(w *wire, raw []byte, at where, obs time.Time, op record.Op, nested bool) {
	switch {
	case w.Kind == "" && w.APIVersion == "" && w.Object != nil:
		if nested {
			d.problem(at, errors.New("a watch event where an object should be"))
			return
		}
		d.watchEvent(w, at, obs)
	case w.Kind == "List" || strings.HasSuffix(w.Kind, "List") && w.Metadata.UID == "":
		if nested || raw == nil {
			d.problem(at, fmt.Errorf("a %s where an object should be", w.Kind))
			return
		}
		d.list(raw, at, obs)
	default:
		d.item(w, at, obs, op)
	}
}

// watchEvent decodes {"type":"ADDED","object":{...}}, as kubectl prints
// watch events with --output-watch-events.
func (d *decoder) watchEvent(w *wire, at where, obs time.Time) {
	var op record.Op
	switch w.Type {
	case "ADDED", "MODIFIED":
	case "DELETED":
		op = record.Delete
	case "BOOKMARK":
		return
	case "ERROR":
		var status struct{ Message, Reason string }
		if err := json.Unmarshal(w.Object, &status); err != nil || status.Message == "" {
			d.problem(at, fmt.Errorf("watch error: %s", w.Object))
			return
		}
		d.problem(at, fmt.Errorf("watch error: %s (%s)", status.Message, status.Reason))
		return
	default:
		d.problem(at, fmt.Errorf("watch event type %q, want ADDED, MODIFIED, DELETED, BOOKMARK or ERROR", w.Type))
		return
	}
	var inner wire
	if err := tolerate(json.Unmarshal(w.Object, &inner), &inner, w.Object, ""); err != nil {
		d.problem(at, fmt.Errorf("watch event object: %w", err))
		return
	}
	d.value(&inner, nil, at, obs, op, true)
}

// list decodes the items of a List, one at a time, so that each gets its own
// Source: its line (JSON) or its index (YAML).
func (d *decoder) list(raw []byte, at where, obs time.Time) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	ln := newLines(raw, at.line)
	if _, err := dec.Token(); err != nil { // the List's '{'
		d.problem(at, err)
		return
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			d.problem(at, err)
			return
		}
		if key != "items" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				d.problem(at, err)
				return
			}
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			d.problem(at, err)
			return
		}
		if tok == nil { // "items": null
			continue
		}
		if tok != json.Delim('[') {
			d.problem(at, fmt.Errorf("items: found %v, want an array", tok))
			return
		}
		for i := 0; dec.More(); i++ {
			start := skipSpaceComma(raw, int(dec.InputOffset()))
			iat := at
			if at.doc > 0 {
				iat.item = i + 1
			} else {
				iat.line = ln.at(start)
			}
			var w wire
			err := dec.Decode(&w)
			var te *json.UnmarshalTypeError
			if err != nil && !errors.As(err, &te) {
				d.problem(iat, err) // cannot happen: raw has been parsed before
				return
			}
			if err := tolerate(err, &w, raw[start:dec.InputOffset()], ""); err != nil {
				d.problem(iat, err)
				continue
			}
			d.value(&w, nil, iat, obs, record.Upsert, true)
		}
		if _, err := dec.Token(); err != nil { // ']'
			d.problem(at, err)
			return
		}
	}
}

func skipSpaceComma(data []byte, pos int) int {
	for pos < len(data) && (data[pos] == ',' || data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\r' || data[pos] == '\n') {
		pos++
	}
	return pos
}

// item makes the record of one Event or object. Without an observation time
// from the format, an Event is dated by its latest occurrence, an object by
// the zero time (known before any event needs it), and a deleted object by
// when it was deleted, as well as it says.
func (d *decoder) item(w *wire, at where, obs time.Time, op record.Op) {
	rec := record.Record{Observed: obs, Op: op, Source: at.String()}
	if isEvent(w) {
		e, err := w.event()
		if err != nil {
			d.problem(at, err)
			return
		}
		rec.Event = e
		if obs.IsZero() {
			rec.Observed = e.Last
		}
	} else {
		o, deleted, err := w.object()
		if err != nil {
			d.problem(at, err)
			return
		}
		rec.Object = o
		if obs.IsZero() && op == record.Delete {
			rec.Observed = deleted
		}
	}
	d.recs = append(d.recs, rec)
}

// isEvent tells Kubernetes Events from other kinds named Event (in custom
// API groups).
func isEvent(w *wire) bool {
	return w.Kind == "Event" && (w.APIVersion == "" || w.APIVersion == "v1" ||
		strings.HasPrefix(w.APIVersion, "events.k8s.io/"))
}

// describe names the object w for messages.
func (w *wire) describe() string {
	s := w.Kind
	if s == "" {
		s = "object without kind"
	}
	switch {
	case w.Metadata.Namespace != "":
		return s + " " + w.Metadata.Namespace + "/" + w.Metadata.Name
	case w.Metadata.Name != "":
		return s + " " + w.Metadata.Name
	}
	return s
}

// event normalizes an Event of either API: its fields, checked here (times
// that do not parse are errors naming the field), go into the typed Event of
// its API, which package convert turns into the record, as it does for live
// mode.
func (w *wire) event() (*record.Event, error) {
	m := &w.Metadata
	if m.UID == "" {
		return nil, fmt.Errorf("%s has no metadata.uid", w.describe())
	}
	var ts times
	om := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: types.UID(m.UID), ResourceVersion: m.ResourceVersion,
		CreationTimestamp: metav1.NewTime(ts.get("metadata.creationTimestamp", m.CreationTimestamp))}
	if a := m.Annotations; a.TopLevelSpan != "" || a.Traceparent != "" {
		om.Annotations = map[string]string{}
		if a.TopLevelSpan != "" {
			om.Annotations[convert.AnnotationTopLevel] = a.TopLevelSpan
		}
		if a.Traceparent != "" {
			om.Annotations[convert.AnnotationTraceparent] = a.Traceparent
		}
	}
	objRef := func(r *ref) corev1.ObjectReference {
		if r == nil {
			return corev1.ObjectReference{}
		}
		return corev1.ObjectReference{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
			UID: types.UID(r.UID), FieldPath: r.FieldPath}
	}
	var related *corev1.ObjectReference
	if w.Related != nil {
		r := objRef(w.Related)
		related = &r
	}
	eventTime := metav1.NewMicroTime(ts.get("eventTime", w.EventTime))
	var e *record.Event
	switch {
	case w.APIVersion == "v1":
		ev := &corev1.Event{ObjectMeta: om, InvolvedObject: objRef(w.InvolvedObject), Related: related,
			Reason: w.Reason, Message: w.Message, Type: w.Type, Action: w.Action,
			ReportingController: w.ReportingComponent, ReportingInstance: w.ReportingInstance,
			Source: corev1.EventSource{Component: w.Source.Component, Host: w.Source.Host}, Count: w.Count,
			FirstTimestamp: metav1.NewTime(ts.get("firstTimestamp", w.FirstTimestamp)),
			LastTimestamp:  metav1.NewTime(ts.get("lastTimestamp", w.LastTimestamp)),
			EventTime:      eventTime}
		if w.Series != nil {
			ev.Series = &corev1.EventSeries{Count: w.Series.Count,
				LastObservedTime: metav1.NewMicroTime(ts.get("series.lastObservedTime", w.Series.LastObservedTime))}
		}
		e = convert.EventFromCore(ev)
	case strings.HasPrefix(w.APIVersion, "events.k8s.io/"):
		ev := &eventsv1.Event{ObjectMeta: om, Regarding: objRef(w.Regarding), Related: related,
			Reason: w.Reason, Note: w.Note, Type: w.Type, Action: w.Action,
			ReportingController: w.ReportingController, ReportingInstance: w.ReportingInstance,
			DeprecatedSource:         corev1.EventSource{Component: w.DeprecatedSource.Component, Host: w.DeprecatedSource.Host},
			DeprecatedCount:          w.DeprecatedCount,
			DeprecatedFirstTimestamp: metav1.NewTime(ts.get("deprecatedFirstTimestamp", w.DeprecatedFirstTimestamp)),
			DeprecatedLastTimestamp:  metav1.NewTime(ts.get("deprecatedLastTimestamp", w.DeprecatedLastTimestamp)),
			EventTime:                eventTime}
		if w.Series != nil {
			ev.Series = &eventsv1.EventSeries{Count: w.Series.Count,
				LastObservedTime: metav1.NewMicroTime(ts.get("series.lastObservedTime", w.Series.LastObservedTime))}
		}
		e = convert.EventFromV1(ev, w.APIVersion)
	default:
		return nil, fmt.Errorf("%s has apiVersion %q, want v1 or events.k8s.io/v1", w.describe(), w.APIVersion)
	}
	if ts.err != nil {
		return nil, fmt.Errorf("%s: %w", w.describe(), ts.err)
	}
	return e, nil
}

// object trims any other object to its metadata. deleted is when it was
// deleted, as well as the object says: its deletionTimestamp, else the
// newest time it carries.
func (w *wire) object() (o *record.Object, deleted time.Time, err error) {
	m := &w.Metadata
	switch {
	case w.Kind == "":
		return nil, deleted, fmt.Errorf("%s: no kind", w.describe())
	case w.Kind == "PartialObjectMetadata":
		return nil, deleted, fmt.Errorf("%s: the object's real kind was not recorded", w.describe())
	case m.UID == "":
		return nil, deleted, fmt.Errorf("%s has no metadata.uid", w.describe())
	}
	var ts times
	o = &record.Object{
		APIVersion:      w.APIVersion,
		Kind:            w.Kind,
		Namespace:       m.Namespace,
		Name:            m.Name,
		UID:             m.UID,
		Generation:      m.Generation,
		ResourceVersion: m.ResourceVersion,
		Created:         ts.get("metadata.creationTimestamp", m.CreationTimestamp),
		Deleting:        deletionBegan(ts.get("metadata.deletionTimestamp", m.DeletionTimestamp), m.DeletionGracePeriodSeconds),
		Traceparent:     m.Annotations.ObjectTraceparent,
		Labels:          m.Labels,
	}
	if rollout.Tracked(w.APIVersion, w.Kind) && w.Status != nil {
		if o.Status, err = w.workloadStatus(&ts); err != nil {
			return nil, deleted, err
		}
	}
	if len(m.OwnerReferences) > 0 {
		o.Owners = make([]record.OwnerRef, len(m.OwnerReferences))
		for i, r := range m.OwnerReferences {
			o.Owners[i] = record.OwnerRef{APIVersion: r.APIVersion, Kind: r.Kind, Name: r.Name, UID: r.UID,
				Controller: r.Controller != nil && *r.Controller}
		}
	}
	newest := o.Created
	var ownerTime time.Time
	ownerFound := false
	for i := range m.ManagedFields {
		f := &m.ManagedFields[i]
		t := ts.get("metadata.managedFields.time", f.Time)
		if t.After(newest) {
			newest = t
		}
		// The newest spec writer wins; on equal (whole-second) times the
		// later entry does.
		if bool(f.FieldsV1.Spec) && !t.Before(o.SpecTime) {
			o.SpecManager, o.SpecOperation, o.SpecTime = f.Manager, f.Operation, t
		}
		// The oldest writer of ownerReferences is the one that created the
		// object for its owner (the garbage collector may write them later).
		if bool(f.FieldsV1.Metadata.OwnerReferences) && (!ownerFound || t.Before(ownerTime)) {
			o.OwnerManager, ownerTime, ownerFound = f.Manager, t, true
		}
	}
	if ts.err != nil {
		return nil, deleted, fmt.Errorf("%s: %w", w.describe(), ts.err)
	}
	deleted = o.Deleting
	if deleted.IsZero() {
		deleted = newest
	}
	return o, deleted, nil
}

// deletionBegan is when a deletion was asked for: deletionTimestamp is the
// deadline, that time plus the grace period.
// workloadStatus is the rollout status of a workload kind (w.Status is
// not nil), as convert.WorkloadStatus makes it of the typed object.
func (w *wire) workloadStatus(ts *times) (*record.WorkloadStatus, error) {
	st, sp := w.Status, w.Spec
	if sp == nil {
		sp = &wspec{}
	}
	s := &record.WorkloadStatus{ObservedGeneration: st.ObservedGeneration}
	switch w.Kind {
	case "DaemonSet":
		s.Desired, s.Replicas, s.Updated = st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.UpdatedNumberScheduled
		s.Ready, s.Available = st.NumberReady, st.NumberAvailable
	case "Job":
		if sp.Completions != nil {
			s.Desired = *sp.Completions
		}
		s.Active, s.Succeeded, s.Failed = st.Active, st.Succeeded, st.Failed
	default:
		s.Desired = 1
		if sp.Replicas != nil {
			s.Desired = *sp.Replicas
		}
		s.Replicas, s.Updated, s.Ready, s.Available = st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas
		s.CurrentRevision, s.UpdateRevision = st.CurrentRevision, st.UpdateRevision
		s.Paused = sp.Paused
		if ru := sp.UpdateStrategy.RollingUpdate; w.Kind == "StatefulSet" && ru != nil && ru.Partition != nil {
			s.Partition = *ru.Partition
		}
	}
	if len(st.Conditions) > 0 && string(st.Conditions) != "null" {
		var cs []wcondition
		if err := json.Unmarshal(st.Conditions, &cs); err != nil {
			return nil, fmt.Errorf("%s: status.conditions: %w", w.describe(), err)
		}
		for _, c := range cs {
			t := ts.get("status.conditions.lastTransitionTime", c.LastTransitionTime)
			if u := ts.get("status.conditions.lastUpdateTime", c.LastUpdateTime); u.After(t) {
				t = u
			}
			if u := ts.get("status.conditions.lastProbeTime", c.LastProbeTime); u.After(t) {
				t = u
			}
			s.Conditions = append(s.Conditions, record.Condition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, Time: t})
		}
	}
	return s, nil
}

func deletionBegan(deadline time.Time, graceSeconds int64) time.Time {
	if deadline.IsZero() || graceSeconds <= 0 {
		return deadline
	}
	return deadline.Add(-time.Duration(graceSeconds) * time.Second)
}
