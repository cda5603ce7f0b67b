package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kspan-project/kspan/internal/capture"
	"github.com/kspan-project/kspan/internal/convert"
	"github.com/kspan-project/kspan/internal/record"
)

// item is one change an informer saw, with the object as served (trimmed)
// for the capture. The engine goroutine stamps its observation time.
type item struct {
	rec record.Record
	typ string
	raw any
}

// defaultKinds are watched from the start, so owner walks of the common
// workloads are answered before the first event needs them. Any other kind
// is watched when an event or an owner reference first names it.
var defaultKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Pod"},
	{Version: "v1", Kind: "ReplicationController"},
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Group: "apps", Version: "v1", Kind: "DaemonSet"},
	{Group: "batch", Version: "v1", Kind: "Job"},
	{Group: "batch", Version: "v1", Kind: "CronJob"},
}

// source runs the watches.
type source struct {
	log      *slog.Logger
	client   kubernetes.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	meta     metadata.Interface
	out      chan<- item
	syncWait time.Duration
	status   *Status // may be nil
	// labelKeys are the labels kept on cached objects (a selector's).
	labelKeys []string

	mu      sync.Mutex
	ctx     context.Context
	watches sync.WaitGroup
	watched map[schema.GroupKind]bool // true: watched; false: cannot be
	kinds   atomic.Int64              // kinds watched
	// EventsAPI is the API group version events are read from.
	eventsAPI string
	// pace paces the watches' connections once the caches have synced.
	pace *pacer
}

func newSource(cfg *rest.Config, out chan<- item, status *Status, log *slog.Logger, pace *pacer) (*source, error) {
	if pace.wait > 0 {
		// Otherwise client-go's own dialer, and its shared transports.
		cfg = rest.CopyConfig(cfg)
		cfg.Dial = pace.dial()
	}
	// Events in protobuf, as the metadata client reads objects: decoding
	// the Event watch was the largest part of kspan's CPU left in the live
	// benchmark, and protobuf decodes several times faster than JSON.
	pc := rest.CopyConfig(cfg)
	pc.ContentType = runtime.ContentTypeProtobuf
	pc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := kubernetes.NewForConfig(pc)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating metadata client: %w", err)
	}
	return &source{
		log:      log,
		client:   client,
		mapper:   restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
		meta:     mc,
		out:      out,
		syncWait: time.Minute,
		status:   status,
		watched:  map[schema.GroupKind]bool{},
		pace:     pace,
	}, nil
}

// run starts the watches and blocks until ctx is done. It returns early
// only when the cluster cannot be used at all (no Events API, no access).
func (s *source) run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()

	api, err := s.detectEventsAPI()
	if err != nil {
		return err
	}
	s.eventsAPI = api
	events := schema.GroupResource{Resource: "events"}
	if api == "events.k8s.io/v1" {
		events.Group = "events.k8s.io"
	}
	if err := checkAccess(ctx, s.client, events, informerVerbs...); err != nil {
		var missing *MissingPermissionError
		if errors.As(err, &missing) {
			return fmt.Errorf("%w: kspan cannot watch Events without it (grant it in kspan's ClusterRole)", err)
		}
		s.log.Warn("cannot check access to events; watching them anyway", "resource", events.String(), "error", err)
	}
	var first []*watcher
	for _, gvk := range defaultKinds {
		if w := s.ensure(gvk); w != nil {
			first = append(first, w)
		}
	}
	syncCtx, cancel := context.WithTimeout(ctx, s.syncWait)
	for _, w := range first {
		if !waitSynced(syncCtx.Done(), w.store) && ctx.Err() == nil {
			s.log.Warn("object cache did not sync in time; owner walks may miss objects", "resource", w.name)
		}
	}
	cancel()

	var lw cache.ListerWatcher
	var example runtime.Object
	if api == "events.k8s.io/v1" {
		c := s.client.EventsV1().Events(metav1.NamespaceAll)
		lw, example = listWatch(s.client, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }, c.Watch), &eventsv1.Event{}
	} else {
		c := s.client.CoreV1().Events(metav1.NamespaceAll)
		lw, example = listWatch(s.client, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }, c.Watch), &corev1.Event{}
	}
	ev := &watcher{name: "events", lw: lw, example: example, onError: s.watchError("events"),
		store: newStore(trimEvent, keepVersion, handlers{
			add:    func(o any) { s.event(o, capture.Added) },
			update: func(_, o any) { s.event(o, capture.Modified) },
		})}
	s.start(ev)
	s.log.Info("watching events", "api", api, "kinds", s.kinds.Load())
	if waitSynced(ctx.Done(), ev.store) {
		s.status.SetSynced()
		s.pace.on.Store(true)
	}
	<-ctx.Done()
	s.watches.Wait()
	return nil
}

// start runs w until the source's context is done. The caller holds s.mu
// or is run itself.
func (s *source) start(w *watcher) {
	s.watches.Add(1)
	go func() {
		defer s.watches.Done()
		w.run(s.ctx)
	}()
}

// detectEventsAPI prefers events.k8s.io/v1 and falls back to core/v1.
func (s *source) detectEventsAPI() (string, error) {
	rl, err := s.client.Discovery().ServerResourcesForGroupVersion("events.k8s.io/v1")
	if err == nil {
		for _, r := range rl.APIResources {
			if r.Name == "events" {
				return "events.k8s.io/v1", nil
			}
		}
	} else if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("discovering the Events API: %w", err)
	}
	return "v1", nil
}

func (s *source) watchError(what string) cache.WatchErrorHandlerWithContext {
	return func(ctx context.Context, _ *cache.Reflector, err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.status.watchRestarted()
		if apierrors.IsForbidden(err) {
			s.log.Error("kspan may not list or watch "+what, "error", err)
			return
		}
		s.log.Warn("watch interrupted; relisting", "what", what, "error", err)
	}
}

func (s *source) send(it item) {
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	select {
	case s.out <- it:
	case <-ctx.Done():
	}
}

func (s *source) event(o any, typ string) {
	var ev *record.Event
	switch e := o.(type) {
	case *eventsv1.Event:
		ev = convert.EventFromV1(e, "events.k8s.io/v1")
	case *corev1.Event:
		ev = convert.EventFromCore(e)
	default:
		return
	}
	if gv, err := schema.ParseGroupVersion(ev.Regarding.APIVersion); err == nil && ev.Regarding.Kind != "" {
		s.ensure(gv.WithKind(ev.Regarding.Kind))
	}
	s.send(item{rec: record.Record{Event: ev}, typ: typ, raw: o})
}

func (s *source) object(o any, typ string) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	m, ok := metaOf(o)
	if !ok {
		return
	}
	for _, r := range m.OwnerReferences {
		if gv, err := schema.ParseGroupVersion(r.APIVersion); err == nil {
			s.ensure(gv.WithKind(r.Kind))
		}
	}
	op := record.Upsert
	if typ == capture.Deleted {
		op = record.Delete
	}
	obj := objectFromMeta(m)
	obj.Status = convert.WorkloadStatus(o)
	s.send(item{rec: record.Record{Op: op, Object: obj}, typ: typ, raw: o})
}

// ensure starts a metadata watch for gvk's kind unless there is one, and
// returns the watch it started.
func (s *source) ensure(gvk schema.GroupVersionKind) *watcher {
	gk := gvk.GroupKind()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.watched[gk]; done || s.ctx == nil {
		return nil
	}
	mapping, err := s.mapper.RESTMapping(gk, gvk.Version)
	if err != nil {
		s.mapper.Reset() // a CRD created since discovery
		mapping, err = s.mapper.RESTMapping(gk, gvk.Version)
	}
	if err != nil {
		s.watched[gk] = false
		s.log.Info("kind not served: its objects are not tracked (events about it are still traced)", "kind", gvk.String(), "error", err)
		return nil
	}
	gr := mapping.Resource.GroupResource()
	if err := checkAccess(s.ctx, s.client, gr, informerVerbs...); err != nil {
		var missing *MissingPermissionError
		switch {
		case errors.As(err, &missing):
			s.watched[gk] = false
			s.log.Warn("kspan may not watch "+gr.String()+": its objects are not tracked and owner walks through them degrade; "+
				"add it to kspan's ClusterRole (rbac.extraResources in the Helm chart)",
				"resource", gr.String(), "kind", gvk.String(), "error", err)
			return nil
		case s.ctx.Err() != nil:
			return nil // stopping
		default:
			s.log.Warn("cannot check access; watching anyway", "resource", gr.String(), "error", err)
		}
	}
	s.watched[gk] = true
	real := mapping.GroupVersionKind
	trim := trimMeta(real, s.labelKeys...)
	lw, example := s.workloadWatch(real)
	if lw != nil {
		trim = trimWorkload(real, s.labelKeys...)
	} else {
		c := s.meta.Resource(mapping.Resource).Namespace(metav1.NamespaceAll)
		lw = listWatch(s.meta, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) }, c.Watch)
		example = &metav1.PartialObjectMetadata{}
	}
	w := &watcher{
		name:    mapping.Resource.String(),
		lw:      lw,
		example: example,
		onError: s.watchError(mapping.Resource.Resource),
		store: newStore(trim, nil, handlers{
			add: func(o any) { s.object(o, capture.Added) },
			update: func(old, o any) {
				if sameObject(old, o) {
					s.status.skippedUnchanged()
					return
				}
				s.object(o, capture.Modified)
			},
			del: func(o any) { s.object(o, capture.Deleted) },
		}),
	}
	s.kinds.Add(1)
	s.start(w)
	s.log.Debug("watching object metadata", "kind", real.String(), "resource", mapping.Resource.String())
	return w
}

// sameMeta reports whether two cached versions of an object differ only in
// their resourceVersion. Both went through trimMeta, so that is what the
// engine reads: most updates (a pod's status, a ReplicaSet's counts) change
// nothing of it, and are not passed on (Status.UnchangedUpdates counts
// them). A relist's updates of unchanged objects are skipped the same way.
// It compares field by field (every field of ObjectMeta but
// resourceVersion and the selfLink no apiserver sets, TestSameMetaFields
// checks): equality.Semantic's
// reflection cost 5% of kspan's CPU in the live benchmark.
func sameMeta(a, b any) bool {
	x, ok1 := a.(*metav1.PartialObjectMetadata)
	y, ok2 := b.(*metav1.PartialObjectMetadata)
	if !ok1 || !ok2 {
		return false
	}
	xm, ym := &x.ObjectMeta, &y.ObjectMeta
	return x.TypeMeta == y.TypeMeta &&
		xm.Name == ym.Name && xm.GenerateName == ym.GenerateName && xm.Namespace == ym.Namespace &&
		xm.UID == ym.UID && xm.Generation == ym.Generation &&
		xm.CreationTimestamp.Equal(&ym.CreationTimestamp) && xm.DeletionTimestamp.Equal(ym.DeletionTimestamp) &&
		samePtr(xm.DeletionGracePeriodSeconds, ym.DeletionGracePeriodSeconds) &&
		maps.Equal(xm.Labels, ym.Labels) && maps.Equal(xm.Annotations, ym.Annotations) &&
		slices.EqualFunc(xm.OwnerReferences, ym.OwnerReferences, sameOwner) &&
		slices.Equal(xm.Finalizers, ym.Finalizers) &&
		slices.EqualFunc(xm.ManagedFields, ym.ManagedFields, sameManaged)
}

func sameOwner(a, b metav1.OwnerReference) bool {
	return a.APIVersion == b.APIVersion && a.Kind == b.Kind && a.Name == b.Name && a.UID == b.UID &&
		samePtr(a.Controller, b.Controller) && samePtr(a.BlockOwnerDeletion, b.BlockOwnerDeletion)
}

func sameManaged(a, b metav1.ManagedFieldsEntry) bool {
	return a.Manager == b.Manager && a.Operation == b.Operation && a.APIVersion == b.APIVersion &&
		a.Time.Equal(b.Time) && a.FieldsType == b.FieldsType && a.Subresource == b.Subresource &&
		(a.FieldsV1 == nil) == (b.FieldsV1 == nil) && (a.FieldsV1 == nil || a.FieldsV1.Equal(*b.FieldsV1))
}

func samePtr[T comparable](a, b *T) bool {
	return a == b || a != nil && b != nil && *a == *b
}

// trimEvent drops what the engine never reads and sets the type fields, so
// the capture says which API an event came from.
func trimEvent(o any) (any, error) {
	switch e := o.(type) {
	case *eventsv1.Event:
		e.ManagedFields = nil
		e.APIVersion, e.Kind = "events.k8s.io/v1", "Event"
	case *corev1.Event:
		e.ManagedFields = nil
		e.APIVersion, e.Kind = "v1", "Event"
	}
	return o, nil
}

// trimMeta keeps only the metadata the engine reads: identity, generation,
// the labels named by labelKeys,
// times, owner references, the trace-context annotation, and the two
// managedFields entries that say who changed the spec last and who set the
// owner references, with their field sets cut down to that.
func trimMeta(gvk schema.GroupVersionKind, labelKeys ...string) cache.TransformFunc {
	apiVersion := gvk.GroupVersion().String()
	return func(o any) (any, error) {
		m, ok := o.(*metav1.PartialObjectMetadata)
		if !ok {
			return o, nil
		}
		out := &metav1.PartialObjectMetadata{
			TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: gvk.Kind},
			ObjectMeta: metav1.ObjectMeta{
				Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
				Generation: m.Generation, CreationTimestamp: m.CreationTimestamp,
				DeletionTimestamp: m.DeletionTimestamp, DeletionGracePeriodSeconds: m.DeletionGracePeriodSeconds,
				OwnerReferences: m.OwnerReferences,
			},
		}
		if tp := m.Annotations[annObjectTraces]; tp != "" {
			out.Annotations = map[string]string{annObjectTraces: tp}
		}
		for _, k := range labelKeys {
			if v, ok := m.Labels[k]; ok {
				if out.Labels == nil {
					out.Labels = map[string]string{}
				}
				out.Labels[k] = v
			}
		}
		spec, owner := -1, -1
		var specT, ownerT time.Time
		for i, f := range m.ManagedFields {
			var t time.Time
			if f.Time != nil {
				t = f.Time.Time
			}
			sp, ow := touches(f.FieldsV1)
			if sp && (spec < 0 || !t.Before(specT)) {
				spec, specT = i, t
			}
			if ow && (owner < 0 || t.Before(ownerT)) {
				owner, ownerT = i, t
			}
		}
		for i, f := range m.ManagedFields {
			var raw string
			switch {
			case i == spec && i == owner:
				raw = `{"f:metadata":{"f:ownerReferences":{}},"f:spec":{}}`
			case i == spec:
				raw = `{"f:spec":{}}`
			case i == owner:
				raw = `{"f:metadata":{"f:ownerReferences":{}}}`
			default:
				continue
			}
			f.FieldsV1 = metav1.NewFieldsV1(raw)
			out.ManagedFields = append(out.ManagedFields, f)
		}
		return out, nil
	}
}
