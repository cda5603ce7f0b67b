package live

import (
	"context"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/kspan-project/kspan/internal/convert"
)

// workloadWatch returns the list-watch of a workload kind read with its
// rollout status (apps/v1 Deployments, StatefulSets, DaemonSets, batch/v1
// Jobs), in protobuf, or nil for any other kind, which is read as metadata
// only.
func (s *source) workloadWatch(gvk schema.GroupVersionKind) (cache.ListerWatcher, runtime.Object) {
	ns := metav1.NamespaceAll
	switch gvk {
	case appsv1.SchemeGroupVersion.WithKind("Deployment"):
		c := s.client.AppsV1().Deployments(ns)
		return listWatch(s.client, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }, c.Watch), &appsv1.Deployment{}
	case appsv1.SchemeGroupVersion.WithKind("StatefulSet"):
		c := s.client.AppsV1().StatefulSets(ns)
		return listWatch(s.client, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }, c.Watch), &appsv1.StatefulSet{}
	case appsv1.SchemeGroupVersion.WithKind("DaemonSet"):
		c := s.client.AppsV1().DaemonSets(ns)
		return listWatch(s.client, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }, c.Watch), &appsv1.DaemonSet{}
	case batchv1.SchemeGroupVersion.WithKind("Job"):
		c := s.client.BatchV1().Jobs(ns)
		return listWatch(s.client, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }, c.Watch), &batchv1.Job{}
	}
	return nil, nil
}

// trimWorkload keeps of a workload what trimMeta keeps of any object, the
// spec fields its rollout status is read against (replicas, paused, the
// partition, completions) and its status: the pod template and the rest of
// the spec go.
func trimWorkload(gvk schema.GroupVersionKind, labelKeys ...string) cache.TransformFunc {
	trim := trimMeta(gvk, labelKeys...)
	meta := func(om *metav1.ObjectMeta) (metav1.TypeMeta, metav1.ObjectMeta) {
		m, _ := trim(&metav1.PartialObjectMetadata{ObjectMeta: *om})
		pm := m.(*metav1.PartialObjectMetadata)
		return pm.TypeMeta, pm.ObjectMeta
	}
	return func(o any) (any, error) {
		switch x := o.(type) {
		case *appsv1.Deployment:
			out := &appsv1.Deployment{Status: x.Status}
			out.TypeMeta, out.ObjectMeta = meta(&x.ObjectMeta)
			out.Spec.Replicas, out.Spec.Paused = x.Spec.Replicas, x.Spec.Paused
			return out, nil
		case *appsv1.StatefulSet:
			out := &appsv1.StatefulSet{Status: x.Status}
			out.TypeMeta, out.ObjectMeta = meta(&x.ObjectMeta)
			out.Spec.Replicas = x.Spec.Replicas
			out.Spec.UpdateStrategy.Type = x.Spec.UpdateStrategy.Type
			if ru := x.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
				out.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ru.Partition}
			}
			return out, nil
		case *appsv1.DaemonSet:
			out := &appsv1.DaemonSet{Status: x.Status}
			out.TypeMeta, out.ObjectMeta = meta(&x.ObjectMeta)
			return out, nil
		case *batchv1.Job:
			out := &batchv1.Job{Status: x.Status}
			out.TypeMeta, out.ObjectMeta = meta(&x.ObjectMeta)
			out.Spec.Completions = x.Spec.Completions
			out.Status.UncountedTerminatedPods = nil
			return out, nil
		}
		return o, nil
	}
}

// metaOf is the metadata view of an object a watch holds: itself when read
// as metadata, else (a workload read with its status) its trimmed type and
// object metadata.
func metaOf(o any) (*metav1.PartialObjectMetadata, bool) {
	switch x := o.(type) {
	case *metav1.PartialObjectMetadata:
		return x, true
	case *appsv1.Deployment:
		return &metav1.PartialObjectMetadata{TypeMeta: x.TypeMeta, ObjectMeta: x.ObjectMeta}, true
	case *appsv1.StatefulSet:
		return &metav1.PartialObjectMetadata{TypeMeta: x.TypeMeta, ObjectMeta: x.ObjectMeta}, true
	case *appsv1.DaemonSet:
		return &metav1.PartialObjectMetadata{TypeMeta: x.TypeMeta, ObjectMeta: x.ObjectMeta}, true
	case *batchv1.Job:
		return &metav1.PartialObjectMetadata{TypeMeta: x.TypeMeta, ObjectMeta: x.ObjectMeta}, true
	}
	return nil, false
}

// sameObject reports whether two trimmed versions of an object differ only
// in their resourceVersion: the same metadata (sameMeta) and, for a
// workload, the same rollout status.
func sameObject(a, b any) bool {
	x, ok1 := metaOf(a)
	y, ok2 := metaOf(b)
	if !ok1 || !ok2 || !sameMeta(x, y) {
		return false
	}
	if _, metaOnly := a.(*metav1.PartialObjectMetadata); metaOnly {
		return true // no status: most updates (a pod's) stop here
	}
	return reflect.DeepEqual(convert.WorkloadStatus(a), convert.WorkloadStatus(b))
}
