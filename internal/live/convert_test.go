package live

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/kspan-project/kspan/internal/capture"
	"github.com/kspan-project/kspan/internal/convert"
	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
)

var base = time.Date(2026, 11, 23, 17, 38, 8, 0, time.UTC)

// viaCapture writes obj to a capture and decodes it back, as replay does.
func viaCapture(t *testing.T, obj any, typ string) record.Record {
	t.Helper()
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, capture.Header{Started: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(base.Add(time.Second), typ, obj); err != nil {
		t.Fatal(err)
	}
	recs, problems := decode.Read(&buf, "capture")
	if len(problems) > 0 || len(recs) != 1 {
		t.Fatalf("decoded %d records, problems %v", len(recs), problems)
	}
	return recs[0]
}

func TestEventConversionMatchesDecode(t *testing.T) {
	mt := func(t time.Time) metav1.Time { return metav1.NewTime(t) }
	legacy := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default", UID: "e1", ResourceVersion: "244", CreationTimestamp: mt(base)},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "p1", APIVersion: "v1", FieldPath: "spec.containers{nginx}"},
		Reason:         "BackOff", Message: "Back-off", Type: "Warning", Count: 4,
		FirstTimestamp: mt(base), LastTimestamp: mt(base.Add(40 * time.Second)),
		Source: corev1.EventSource{Component: "kubelet", Host: "node-0"},
	}
	newStyle := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.2", Namespace: "default", UID: "e2", ResourceVersion: "250", CreationTimestamp: mt(base), Annotations: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "topLevelSpan": "true"}},
		EventTime:           metav1.NewMicroTime(base.Add(82976 * time.Microsecond)),
		Series:              &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(base.Add(3 * time.Second))},
		ReportingController: "default-scheduler", ReportingInstance: "sched-1", Action: "Binding",
		Reason: "Scheduled", Note: "Successfully assigned", Type: "Normal",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "p1", APIVersion: "v1"},
	}
	coreNew := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.3", Namespace: "default", UID: "e3", CreationTimestamp: mt(base)},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "p1"},
		EventTime:           metav1.NewMicroTime(base.Add(82976 * time.Microsecond)),
		ReportingController: "default-scheduler", Reason: "Scheduled", Type: "Normal",
	}
	// A precise eventTime after a whole-second lastTimestamp: the truncated
	// Last would be before First, and is First instead, in every path.
	lastBeforeFirst := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.4", Namespace: "default", UID: "e4", CreationTimestamp: mt(base)},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "p1"},
		FirstTimestamp: mt(base.Add(5 * time.Second)), LastTimestamp: mt(base.Add(2 * time.Second)), Count: 2,
		Reason: "Pulled", Type: "Normal", Source: corev1.EventSource{Component: "kubelet", Host: "node-0"},
	}
	legacy.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}
	coreNew.TypeMeta, lastBeforeFirst.TypeMeta = legacy.TypeMeta, legacy.TypeMeta
	newStyle.TypeMeta = metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}
	for _, c := range []struct {
		obj  any
		conv func() *record.Event
	}{
		{legacy, func() *record.Event { return convert.EventFromCore(legacy) }},
		{newStyle, func() *record.Event { return convert.EventFromV1(newStyle, "events.k8s.io/v1") }},
		{coreNew, func() *record.Event { return convert.EventFromCore(coreNew) }},
		{lastBeforeFirst, func() *record.Event { return convert.EventFromCore(lastBeforeFirst) }},
	} {
		if _, err := trimEvent(c.obj); err != nil {
			t.Fatal(err)
		}
		got := c.conv()
		if got.Last.Before(got.First) {
			t.Errorf("%s: Last %v before First %v", got.Name, got.Last, got.First)
		}
		for format, rec := range viaEveryFormat(t, c.obj) {
			want := rec.Event
			if want == nil || !reflect.DeepEqual(normTimes(got), normTimes(want)) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("live conversion differs from decoding %s:\nlive   %s\ndecode %s", format, g, w)
			}
		}
	}
}

// viaEveryFormat writes obj in every format replay reads and decodes it
// back: a capture, kubectl's JSON and YAML, and a watch stream.
func viaEveryFormat(t *testing.T, obj any) map[string]record.Record {
	t.Helper()
	js, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]record.Record{"capture": viaCapture(t, obj, capture.Added)}
	for format, data := range map[string][]byte{
		"kubectl JSON": js,
		"kubectl YAML": y,
		"watch stream": []byte(`{"type":"ADDED","object":` + string(js) + "}\n"),
	} {
		recs, problems := decode.Read(bytes.NewReader(data), format)
		if len(problems) > 0 || len(recs) != 1 {
			t.Fatalf("%s: decoded %d records, problems %v", format, len(recs), problems)
		}
		out[format] = recs[0]
	}
	return out
}

func TestObjectConversionMatchesDecode(t *testing.T) {
	ts := func(s int) *metav1.Time { x := metav1.NewTime(base.Add(time.Duration(s) * time.Second)); return &x }
	yes := true
	grace := int64(30)
	m := &metav1.PartialObjectMetadata{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-abc", Namespace: "default", UID: "r1", Generation: 3, ResourceVersion: "9",
			CreationTimestamp: *ts(0), Labels: map[string]string{"app": "web"},
			DeletionTimestamp: ts(60), DeletionGracePeriodSeconds: &grace,
			Annotations:     map[string]string{"tracing.k8s.io/traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "big": "x"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "d1", Controller: &yes}},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Time: ts(0),
					FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:ownerReferences":{"k:{\"uid\":\"d1\"}":{}}},"f:spec":{"f:replicas":{}}}`)},
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Time: ts(5), Subresource: "status",
					FieldsV1: metav1.NewFieldsV1(`{"f:status":{"f:replicas":{}}}`)},
				{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, Time: ts(9), Subresource: "scale",
					FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:replicas":{}}}`)},
			},
		},
	}
	full := objectFromMeta(withKind(m))
	trimmed, err := trimMeta(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"})(m)
	if err != nil {
		t.Fatal(err)
	}
	tm := trimmed.(*metav1.PartialObjectMetadata)
	if len(tm.ManagedFields) != 2 || tm.Labels != nil || len(tm.Annotations) != 1 {
		t.Errorf("trim kept %d managedFields, labels %v, annotations %v", len(tm.ManagedFields), tm.Labels, tm.Annotations)
	}
	got := objectFromMeta(tm)
	full.Labels = nil // kept only when a selector names them (below)
	if !reflect.DeepEqual(got, full) {
		t.Errorf("trimming changed what the engine reads:\ntrimmed %+v\nfull    %+v", got, full)
	}
	withLabels, err := trimMeta(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, "app", "tier")(m)
	if err != nil {
		t.Fatal(err)
	}
	if l := withLabels.(*metav1.PartialObjectMetadata).Labels; !reflect.DeepEqual(l, map[string]string{"app": "web"}) {
		t.Errorf("with a selector on app and tier, trim kept labels %v, want app=web only", l)
	}
	if !got.Deleting.Equal(base.Add(30 * time.Second)) {
		t.Errorf("deletion began at %v, want the deadline minus the grace period", got.Deleting)
	}
	if got.SpecManager != "kubectl" || got.OwnerManager != "kube-controller-manager" || got.Generation != 3 {
		t.Errorf("managedFields summary: %+v", got)
	}
	want := viaCapture(t, tm, capture.Modified).Object
	if !reflect.DeepEqual(normObj(got), normObj(want)) {
		t.Errorf("live conversion differs from decode:\nlive   %+v\ndecode %+v", got, want)
	}
}

func withKind(m *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	c := m.DeepCopy()
	c.APIVersion, c.Kind = "apps/v1", "ReplicaSet"
	return c
}

// normTimes drops monotonic clock readings and locations, which
// reflect.DeepEqual would otherwise compare.
func normTimes(e *record.Event) *record.Event {
	c := *e
	c.First, c.Last, c.Created = c.First.UTC(), c.Last.UTC(), c.Created.UTC()
	return &c
}

func normObj(o *record.Object) *record.Object {
	c := *o
	c.Created, c.SpecTime, c.Deleting = c.Created.UTC(), c.SpecTime.UTC(), c.Deleting.UTC()
	return &c
}

// The key scanner of managedFields agrees with encoding/json.
func TestTouchesScansLikeJSON(t *testing.T) {
	for _, raw := range []string{
		`{"f:spec":{"f:replicas":{}}}`,
		`{"f:metadata":{"f:labels":{".":{},"f:app":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"d1\"}":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{}}}}}}}`,
		`{"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{}}},"f:phase":{}}}`,
		`{"f:metadata":{"f:annotations":{"f:x\"f:spec":{}}}}`,
		` { "f:metadata" : { "f:ownerReferences" : [ 1, "a}" ] } , "f:status" : null } `,
		`{}`, `[]`, `not json`, `{"f:spec":`, `{"a":tru`,
	} {
		f := metav1.NewFieldsV1(raw)
		spec, owners := touches(f)
		var ft fieldsTop
		var wantSpec, wantOwners bool
		if json.Unmarshal([]byte(raw), &ft) == nil {
			wantSpec, wantOwners = ft.Spec != nil, ft.Metadata != nil && ft.Metadata.OwnerReferences != nil
		}
		if spec != wantSpec || owners != wantOwners {
			t.Errorf("touches(%s) = %v, %v; encoding/json says %v, %v", raw, spec, owners, wantSpec, wantOwners)
		}
	}
}
