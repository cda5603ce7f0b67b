package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ConfigMapKey is the binaryData key the checkpoint is saved under.
const ConfigMapKey = "exported"

// ConfigMap keeps the set in a ConfigMap, so that whichever replica leads
// next (on any node) continues from it. It is saved every interval and on
// shutdown: a replica killed without warning may leave up to one
// interval's deliveries unrecorded, which its successor exports again.
// Needs get, create and update on the ConfigMap.
type ConfigMap struct {
	Client          kubernetes.Interface
	Namespace, Name string

	rv     string // resourceVersion of the last read or write
	exists bool
}

var _ Store = (*ConfigMap)(nil)

// String implements Store.
func (s *ConfigMap) String() string { return "configmap:" + s.Namespace + "/" + s.Name }

// Synchronous implements Store: each save is a request to the apiserver.
func (s *ConfigMap) Synchronous() bool { return false }

// Load implements Store.
func (s *ConfigMap) Load(ctx context.Context) ([]Entry, error) {
	cm, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.rv, s.exists = "", false
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.rv, s.exists = cm.ResourceVersion, true
	es, err := Decode(cm.BinaryData[ConfigMapKey])
	if err != nil {
		return es, fmt.Errorf("configmap %s/%s key %s: %w", s.Namespace, s.Name, ConfigMapKey, err)
	}
	return es, nil
}

// Save implements Store. When another writer changed the ConfigMap since
// (a previous leader's last save), the two are merged.
func (s *ConfigMap) Save(ctx context.Context, _, all []Entry) error {
	for attempt := 0; ; attempt++ {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, ResourceVersion: s.rv,
				Labels: map[string]string{"app.kubernetes.io/name": "kspan", "app.kubernetes.io/component": "checkpoint"}},
			BinaryData: map[string][]byte{ConfigMapKey: Encode(all)},
		}
		var out *corev1.ConfigMap
		var err error
		if !s.exists {
			out, err = s.Client.CoreV1().ConfigMaps(s.Namespace).Create(ctx, cm, metav1.CreateOptions{})
		} else {
			out, err = s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
		}
		if err == nil {
			s.rv, s.exists = out.ResourceVersion, true
			return nil
		}
		if attempt >= 3 || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)) {
			return fmt.Errorf("saving configmap %s/%s: %w", s.Namespace, s.Name, err)
		}
		theirs, lerr := s.Load(ctx)
		if lerr != nil && !errors.Is(lerr, ErrTruncated) {
			return fmt.Errorf("saving configmap %s/%s: %w", s.Namespace, s.Name, lerr)
		}
		all = merge(all, theirs)
	}
}

// merge is the union of two entry lists, the higher count and later time
// winning, sorted by key.
func merge(a, b []Entry) []Entry {
	m := make(map[uint64]Entry, len(a)+len(b))
	for _, l := range [][]Entry{a, b} {
		for _, e := range l {
			if o, ok := m[e.Key]; ok {
				e = mergeEntry(e, o)
			}
			m[e.Key] = e
		}
	}
	out := make([]Entry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
