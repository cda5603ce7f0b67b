package live

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/randfill"
)

// Updates that change nothing the engine reads (status, resourceVersion)
// are recognised after trimming; any change it reads is not.
func TestSameMeta(t *testing.T) {
	trim := trimMeta(schema.GroupVersionKind{Version: "v1", Kind: "Pod"})
	at := metav1.NewTime(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	later := metav1.NewTime(at.Add(time.Minute))
	pod := func(mod func(*metav1.PartialObjectMetadata)) any {
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u", ResourceVersion: "1",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "r", UID: "ru"}},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kube-controller-manager", Operation: "Update", Time: &at, FieldsType: "FieldsV1",
					FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:ownerReferences":{}},"f:spec":{}}`)},
			}}}
		mod(m)
		o, err := trim(m)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	base := pod(func(*metav1.PartialObjectMetadata) {})
	status := pod(func(m *metav1.PartialObjectMetadata) {
		m.ResourceVersion = "2"
		m.ManagedFields = append(m.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubelet", Operation: "Update", Time: &later,
			Subresource: "status", FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:status":{"f:phase":{}}}`)})
	})
	if !sameMeta(base, status) {
		t.Error("a status update is taken as a change")
	}
	for name, mod := range map[string]func(*metav1.PartialObjectMetadata){
		"generation": func(m *metav1.PartialObjectMetadata) { m.Generation = 2 },
		"deletion":   func(m *metav1.PartialObjectMetadata) { m.DeletionTimestamp = &later },
		"owners":     func(m *metav1.PartialObjectMetadata) { m.OwnerReferences = nil },
		"spec change": func(m *metav1.PartialObjectMetadata) {
			m.ManagedFields[0].Time = &later
		},
		"trace context": func(m *metav1.PartialObjectMetadata) {
			m.Annotations = map[string]string{annObjectTraces: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
		},
	} {
		if sameMeta(base, pod(mod)) {
			t.Errorf("a change of %s is taken as none", name)
		}
	}
	if sameMeta(base, "not an object") {
		t.Error("an unknown object is taken as unchanged")
	}
}

// TestSameMetaFields: a difference in any field of ObjectMeta, or of the
// owner references and managedFields entries in it, is a change, except
// the resourceVersion (and selfLink); equal copies are the same.
func TestSameMetaFields(t *testing.T) {
	f := randfill.NewWithSeed(7).NilChance(0).NumElements(1, 2)
	var base metav1.PartialObjectMetadata
	f.Fill(&base)
	at := metav1.NewTime(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	base.DeletionTimestamp = &at // randfill leaves *metav1.Time nil
	for i := range base.ManagedFields {
		base.ManagedFields[i].Time = &at
	}
	if !sameMeta(&base, base.DeepCopy()) {
		t.Fatal("a copy is taken as a change")
	}
	differ := func(name string, mod func(m *metav1.PartialObjectMetadata)) {
		t.Helper()
		c := base.DeepCopy()
		mod(c)
		if sameMeta(&base, c) {
			t.Errorf("a change of %s is taken as none", name)
		}
	}
	meta := reflect.TypeFor[metav1.ObjectMeta]()
	for i := range meta.NumField() {
		name := meta.Field(i).Name
		c := base.DeepCopy()
		v := reflect.ValueOf(&c.ObjectMeta).Elem().Field(i)
		v.SetZero()
		if name == "ResourceVersion" || name == "SelfLink" { // SelfLink: deprecated, never set
			if !sameMeta(&base, c) {
				t.Errorf("a new %s is taken as a change", name)
			}
			continue
		}
		differ(name, func(m *metav1.PartialObjectMetadata) { m.ObjectMeta = c.ObjectMeta })
	}
	differ("kind", func(m *metav1.PartialObjectMetadata) { m.Kind += "x" })
	for _, typ := range []reflect.Type{reflect.TypeFor[metav1.OwnerReference](), reflect.TypeFor[metav1.ManagedFieldsEntry]()} {
		for i := range typ.NumField() {
			differ(typ.Name()+"."+typ.Field(i).Name, func(m *metav1.PartialObjectMetadata) {
				var e reflect.Value
				if typ == reflect.TypeFor[metav1.OwnerReference]() {
					e = reflect.ValueOf(&m.OwnerReferences[0]).Elem()
				} else {
					e = reflect.ValueOf(&m.ManagedFields[0]).Elem()
				}
				e.Field(i).SetZero()
			})
		}
	}
	differ("FieldsV1.Raw", func(m *metav1.PartialObjectMetadata) { m.ManagedFields[0].FieldsV1 = metav1.NewFieldsV1("{}") })
}
