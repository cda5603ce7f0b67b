package live

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// calls records what a store's handlers were called with, as "op name@rv".
type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) handlers() handlers {
	return handlers{
		add:    func(o any) { c.note("add", o) },
		update: func(old, o any) { c.note("update "+describe(old)+" ->", o) },
		del:    func(o any) { c.note("del", o) },
	}
}

func (c *calls) note(op string, o any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, op+" "+describe(o))
}

func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.got
	c.got = nil
	return got
}

func describe(o any) string {
	switch v := o.(type) {
	case cache.DeletedFinalStateUnknown:
		return "unknown(" + describe(v.Obj) + ")"
	case string:
		return "@" + v
	case metav1.Object:
		return v.GetName() + "@" + v.GetResourceVersion()
	}
	return fmt.Sprintf("%T", o)
}

func obj(name, rv string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
}

// TestStore: the handlers see each change once, an Added for a held key is
// an update, a relist passes on only what changed and deletes what is
// gone, and keep decides what old is.
func TestStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep func(any) any
		want [][]string
	}{
		{"objects", nil, [][]string{
			{"add a@1", "add b@1"},
			{"update a@1 -> a@2", "update a@2 -> a@3", "add c@1", "del b@2"},
			{"update a@3 -> a@4", "add d@1", "del unknown(c@1)"},
			nil,
		}},
		{"versions", keepVersion, [][]string{
			{"add a@1", "add b@1"},
			{"update @1 -> a@2", "update @2 -> a@3", "add c@1", "del b@2"},
			{"update @3 -> a@4", "add d@1", "del unknown(@1)"},
			nil,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c calls
			s := newStore(nil, tc.keep, c.handlers())
			select {
			case <-s.Synced():
				t.Fatal("synced before the first list")
			default:
			}
			check := func(step int, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if got := c.take(); !slices.Equal(got, tc.want[step]) {
					t.Errorf("step %d: handlers saw %q, want %q", step, got, tc.want[step])
				}
			}
			check(0, s.Replace([]any{obj("a", "1"), obj("b", "1")}, "1"))
			if !waitSynced(nil, s) {
				t.Fatal("not synced after the first list")
			}
			err := s.Update(obj("a", "2"))
			if err == nil {
				err = s.Add(obj("a", "3"))
			}
			if err == nil {
				err = s.Add(obj("c", "1"))
			}
			if err == nil {
				err = s.Delete(obj("b", "2"))
			}
			check(1, err)
			// a relist: a changed, c gone, d new.
			check(2, s.Replace([]any{obj("a", "4"), obj("d", "1")}, "9"))
			if n := s.Len(); n != 2 {
				t.Errorf("store holds %d objects, want 2", n)
			}
			// the same list again: nothing changed.
			check(3, s.Replace([]any{obj("a", "4"), obj("d", "1")}, "10"))
		})
	}
}

// fakeLW serves lists from a function, as a list or (with streams) as a
// watch-list stream, and hands each watch it opens to the test.
type fakeLW struct {
	streams bool
	list    func() *metav1.PartialObjectMetadataList
	watches chan *watch.FakeWatcher
}

func (f *fakeLW) IsWatchListSemanticsUnSupported() bool { return !f.streams }

func (f *fakeLW) ListWithContext(context.Context, metav1.ListOptions) (runtime.Object, error) {
	return f.list(), nil
}

func (f *fakeLW) WatchWithContext(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
	w := watch.NewFakeWithChanSize(100, false)
	if o.SendInitialEvents != nil && *o.SendInitialEvents {
		l := f.list()
		for i := range l.Items {
			w.Add(&l.Items[i])
		}
		end := obj("", l.ResourceVersion)
		end.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
		w.Action(watch.Bookmark, end)
	}
	f.watches <- w
	return w, nil
}

// TestWatcherRelists: a watch that expires (410 Gone) is followed by a
// relist, which passes on only what changed meanwhile, trimmed; the
// handlers run until the context ends and run returns then.
func TestWatcherRelists(t *testing.T) {
	t.Run("list", func(t *testing.T) { testWatcherRelists(t, false) })
	t.Run("stream", func(t *testing.T) { testWatcherRelists(t, true) })
}

func testWatcherRelists(t *testing.T, streams bool) {
	var mu sync.Mutex
	items := []metav1.PartialObjectMetadata{*obj("a", "1"), *obj("b", "1")}
	lw := &fakeLW{streams: streams, watches: make(chan *watch.FakeWatcher, 1), list: func() *metav1.PartialObjectMetadataList {
		mu.Lock()
		defer mu.Unlock()
		return &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: "5"}, Items: slices.Clone(items)}
	}}
	var c calls
	got := make(chan string, 100)
	h := c.handlers()
	on := handlers{
		add:    func(o any) { h.add(o); got <- "" },
		update: func(old, o any) { h.update(old, o); got <- "" },
		del:    func(o any) { h.del(o); got <- "" },
	}
	trim := trimMeta(schema.GroupVersionKind{Version: "v1", Kind: "Pod"})
	w := &watcher{name: "pods", lw: listWatch(lw, lw.ListWithContext, lw.WatchWithContext), example: &metav1.PartialObjectMetadata{}, store: newStore(trim, nil, on)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	await := func(n int, want ...string) {
		t.Helper()
		for range n {
			select {
			case <-got:
			case <-time.After(time.Minute):
				t.Fatalf("handlers saw %q, waiting for %q", c.take(), want)
			}
		}
		g := c.take()
		if len(want) > 1 && want[0] == "add a@1" {
			slices.Sort(g)
		}
		if !slices.Equal(g, want) {
			t.Errorf("handlers saw %q, want %q", g, want)
		}
	}
	// The initial adds come in list order, except from a watch-list stream:
	// client-go gathers its initial events in a store of its own and
	// replaces with that store's List, in no order.
	await(2, "add a@1", "add b@1")
	fw := <-lw.watches
	fw.Modify(obj("a", "6"))
	await(1, "update a@1 -> a@6")

	mu.Lock()
	items = []metav1.PartialObjectMetadata{*obj("a", "6"), *obj("c", "8")}
	mu.Unlock()
	fw.Error(&apierrors.NewResourceExpired("too old resource version").ErrStatus)
	await(2, "add c@8", "del unknown(b@1)")
	fw = <-lw.watches
	fw.Delete(obj("a", "9"))
	await(1, "del a@9")
	if k, _ := w.store.items["ns/c"].(*metav1.PartialObjectMetadata); k == nil || k.Kind != "Pod" {
		t.Errorf("stored %#v, want it trimmed (typed as a Pod)", w.store.items["ns/c"])
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("run did not return after its context ended")
	}
}
