package live

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
