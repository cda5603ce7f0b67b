package live

import (
	"context"
	"math"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// A watch lists and watches one resource with client-go's Reflector, which
// fills a store that calls kspan's handlers on the Reflector's own
// goroutine. kspan used shared informers before: their DeltaFIFO and
// per-handler listener add three goroutine hand-offs to every watch event
// (and the listener buffers without a bound while a handler blocks), and
// in the live benchmark those wake-ups were a large part of kspan's CPU.
// kspan needs neither what they add: nothing reads the cache but the
// handlers, and there is one handler per resource. The Reflector keeps
// what matters: paged lists, watch-list streams, bookmarks, relisting
// after 410 Gone, backoff.
type watcher struct {
	name    string
	lw      cache.ListerWatcher
	example runtime.Object
	store   *store
	// onError is told why a list or watch ended (then the watch restarts).
	onError cache.WatchErrorHandlerWithContext
}

// run lists and watches until ctx is done, backing off between attempts
// as a shared informer does (0.8 s doubling to 30 s, reset after 2 min of
// health).
func (w *watcher) run(ctx context.Context) {
	backoff := &wait.Backoff{
		Duration: 800 * time.Millisecond,
		Cap:      30 * time.Second,
		Steps:    int(math.Ceil(float64(30*time.Second) / float64(800*time.Millisecond))),
		Factor:   2,
		Jitter:   1,
	}
	r := cache.NewReflectorWithOptions(w.lw, w.example, w.store, cache.ReflectorOptions{Name: w.name, Backoff: backoff})
	delay := backoff.DelayWithReset(clock.RealClock{}, 2*time.Minute)
	_ = delay.Until(ctx, true, true, func(ctx context.Context) (bool, error) {
		if err := r.ListAndWatchWithContext(ctx); err != nil && w.onError != nil {
			w.onError(ctx, r, err)
		}
		return false, nil
	})
}

// listWatch is a ListerWatcher from a client's List and Watch, with the
// client's support for watch-list streams.
func listWatch(client any,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc:  list,
		WatchFuncWithContext: watchFn,
	}, client)
}

// handlers are what a store calls, each on the Reflector's goroutine, one
// at a time. A nil handler is not called. update's old is what keep made
// of the object's previous version; del's object is the final version
// seen, a cache.DeletedFinalStateUnknown (holding what keep made) when a
// relist found the object gone.
type handlers struct {
	add    func(obj any)
	update func(old, obj any)
	del    func(obj any)
}

// store is the cache.ReflectorStore behind a watch. It applies trim to
// every object first, remembers what keep makes of each object by key (to
// pass as old, and to skip the unchanged objects of a relist, which have
// the same resourceVersion), and calls the handlers. It holds one entry per
// object the apiserver serves, as an informer's cache does.
type store struct {
	trim cache.TransformFunc // nil: objects as served
	keep func(obj any) any   // nil: the trimmed object
	on   handlers

	mu     sync.Mutex
	items  map[string]any
	synced chan struct{}
	once   sync.Once
}

func newStore(trim cache.TransformFunc, keep func(any) any, on handlers) *store {
	return &store{trim: trim, keep: keep, on: on, items: map[string]any{}, synced: make(chan struct{})}
}

var (
	_ cache.ReflectorStore    = (*store)(nil)
	_ cache.TransformingStore = (*store)(nil)
)

// Transformer lets the Reflector trim what a watch-list stream holds
// before it hands the whole list to Replace (which trims again: trimming
// is idempotent).
func (s *store) Transformer() cache.TransformFunc { return s.trim }

// Synced is closed once the first list has been stored and handled.
func (s *store) Synced() <-chan struct{} { return s.synced }

// Len is how many objects the store holds.
func (s *store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func (s *store) prepare(obj any) (any, string, error) {
	if s.trim != nil {
		o, err := s.trim(obj)
		if err != nil {
			return nil, "", err
		}
		obj = o
	}
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return obj, key, err
}

func (s *store) kept(obj any) any {
	if s.keep != nil {
		return s.keep(obj)
	}
	return obj
}

// put stores obj and calls add or update. With relist, an object whose
// resourceVersion is the one stored is unchanged and not passed on.
func (s *store) put(obj any, key string, relist bool) {
	old, had := s.items[key]
	k := s.kept(obj)
	if relist && had && resourceVersion(old) != "" && resourceVersion(old) == resourceVersion(k) {
		return
	}
	s.items[key] = k
	switch {
	case had && s.on.update != nil:
		s.on.update(old, obj)
	case !had && s.on.add != nil:
		s.on.add(obj)
	}
}

// Add stores a new object (or a new version: as an informer, kspan treats
// an Added for a key it holds as an update).
func (s *store) Add(obj any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, key, err := s.prepare(obj)
	if err != nil {
		return err
	}
	s.put(obj, key, false)
	return nil
}

// Update stores a new version of an object.
func (s *store) Update(obj any) error { return s.Add(obj) }

// Delete forgets an object and calls del with its final version.
func (s *store) Delete(obj any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, key, err := s.prepare(obj)
	if err != nil {
		return err
	}
	delete(s.items, key)
	if s.on.del != nil {
		s.on.del(obj)
	}
	return nil
}

// Replace stores a full list: new and changed objects are added or
// updated, objects it no longer holds are deleted (as
// DeletedFinalStateUnknown, their final version unseen).
func (s *store) Replace(list []any, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]struct{}, len(list))
	var firstErr error
	for _, obj := range list {
		o, key, err := s.prepare(obj)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		seen[key] = struct{}{}
		s.put(o, key, true)
	}
	for key, old := range s.items {
		if _, ok := seen[key]; ok {
			continue
		}
		delete(s.items, key)
		if s.on.del != nil {
			s.on.del(cache.DeletedFinalStateUnknown{Key: key, Obj: old})
		}
	}
	s.once.Do(func() { close(s.synced) })
	return firstErr
}

// Resync does nothing: watches have no resync period.
func (s *store) Resync() error { return nil }

// resourceVersion is an object's, or the string keep made of it.
func resourceVersion(o any) string {
	switch v := o.(type) {
	case string:
		return v
	case metav1.Object:
		return v.GetResourceVersion()
	}
	return ""
}

// keepVersion keeps only an object's resourceVersion: enough to skip the
// unchanged objects of a relist, for a resource whose handlers never read
// an old version (Events).
func keepVersion(obj any) any { return resourceVersion(obj) }

// waitSynced waits until every store has had its first list, or done.
func waitSynced(done <-chan struct{}, stores ...*store) bool {
	for _, s := range stores {
		select {
		case <-s.synced:
		case <-done:
			return false
		}
	}
	return true
}
