package live

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/restmapper"
	k8stesting "k8s.io/client-go/testing"
)

// authorizer answers SelfSubjectAccessReviews of a fake clientset from a
// set of allowed "verb resource.group" permissions, and records the reviews.
type authorizer struct {
	mu      sync.Mutex
	allowed map[string]bool
	err     error // answer every review with this error
	asked   []string
}

func (a *authorizer) install(c *fake.Clientset) {
	c.PrependReactor("create", "selfsubjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		r := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.err != nil {
			return true, nil, a.err
		}
		key := ra.Verb + " " + schema.GroupResource{Group: ra.Group, Resource: ra.Resource}.String()
		if ra.Namespace != "" {
			key += " in " + ra.Namespace
		}
		a.asked = append(a.asked, key)
		r.Status.Allowed = a.allowed[key]
		return true, r, nil
	})
}

func (a *authorizer) reviews() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.asked)
}

func allow(perms ...string) map[string]bool {
	m := map[string]bool{}
	for _, p := range perms {
		m[p] = true
	}
	return m
}

func TestCheckAccess(t *testing.T) {
	events := schema.GroupResource{Group: "events.k8s.io", Resource: "events"}
	pods := schema.GroupResource{Resource: "pods"}
	for _, tc := range []struct {
		name    string
		allowed map[string]bool
		gr      schema.GroupResource
		want    string // the error, "" for none
		denied  []string
	}{
		{"allowed", allow("list events.events.k8s.io", "watch events.events.k8s.io"), events, "", nil},
		{"no list", allow("watch events.events.k8s.io"), events, "missing permission: list events.events.k8s.io cluster-wide", []string{"list"}},
		{"no watch", allow("list events.events.k8s.io"), events, "missing permission: watch events.events.k8s.io cluster-wide", []string{"watch"}},
		{"core group, nothing", allow("list events.events.k8s.io"), pods, "missing permission: list, watch pods cluster-wide", []string{"list", "watch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset()
			a := &authorizer{allowed: tc.allowed}
			a.install(c)
			err := checkAccess(context.Background(), c, tc.gr, informerVerbs...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else {
				var missing *MissingPermissionError
				if !errors.As(err, &missing) || err.Error() != tc.want {
					t.Fatalf("error %v (%T), want %q", err, err, tc.want)
				}
				if !slices.Equal(missing.Verbs, tc.denied) || missing.Resource != tc.gr {
					t.Errorf("denied %v on %v, want %v on %v", missing.Verbs, missing.Resource, tc.denied, tc.gr)
				}
			}
			// Every verb is asked about, cluster-wide (no namespace).
			want := []string{"list " + tc.gr.String(), "watch " + tc.gr.String()}
			if got := a.reviews(); !slices.Equal(got, want) {
				t.Errorf("reviews %v, want %v", got, want)
			}
		})
	}

	t.Run("review fails", func(t *testing.T) {
		c := fake.NewClientset()
		boom := errors.New("connection refused")
		(&authorizer{err: boom}).install(c)
		err := checkAccess(context.Background(), c, pods, informerVerbs...)
		var missing *MissingPermissionError
		if !errors.Is(err, boom) || errors.As(err, &missing) {
			t.Fatalf("error %v, want one wrapping %v and not a missing permission", err, boom)
		}
	})
}

// syncBuffer is a log destination safe for the informers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func resources(gv string, rs ...metav1.APIResource) *metav1.APIResourceList {
	for i := range rs {
		rs[i].Verbs = metav1.Verbs{"list", "watch"}
		rs[i].Namespaced = true
	}
	return &metav1.APIResourceList{GroupVersion: gv, APIResources: rs}
}

// testSource is a source on fake clients whose discovery serves Pods,
// ReplicaSets and Events of both APIs (events.k8s.io/v1 unless coreOnly).
func testSource(t *testing.T, a *authorizer, coreOnly bool) (*source, *syncBuffer) {
	t.Helper()
	c := fake.NewClientset()
	a.install(c)
	c.Resources = []*metav1.APIResourceList{
		resources("v1", metav1.APIResource{Name: "pods", Kind: "Pod"}, metav1.APIResource{Name: "events", Kind: "Event"}),
		resources("apps/v1", metav1.APIResource{Name: "replicasets", Kind: "ReplicaSet"}),
	}
	if !coreOnly {
		c.Resources = append(c.Resources, resources("events.k8s.io/v1", metav1.APIResource{Name: "events", Kind: "Event"}))
	}
	logs := &syncBuffer{}
	mc := metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme())
	s := &source{
		log:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		client:   c,
		mapper:   restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Discovery())),
		meta:     mc,
		out:      make(chan item, 100),
		syncWait: time.Second,
		watched:  map[schema.GroupKind]bool{},
		pace:     newPacer(0),
	}
	t.Cleanup(s.watches.Wait) // after the test cancelled s.ctx
	return s, logs
}

// TestRunMissingEventsPermission: without list or watch on the Events API
// kspan reads, the source stops at once with an error naming it.
func TestRunMissingEventsPermission(t *testing.T) {
	for _, tc := range []struct {
		name     string
		coreOnly bool
		allowed  map[string]bool
		want     string
	}{
		{"events.k8s.io", false, allow("list events", "watch events", "watch events.events.k8s.io"),
			"missing permission: list events.events.k8s.io cluster-wide"},
		{"core", true, allow("list events.events.k8s.io", "watch events.events.k8s.io"),
			"missing permission: list, watch events cluster-wide"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := testSource(t, &authorizer{allowed: tc.allowed}, tc.coreOnly)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := s.run(ctx)
			var missing *MissingPermissionError
			if !errors.As(err, &missing) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want an error containing %q", err, tc.want)
			}
			if ctx.Err() != nil {
				t.Fatal("run did not return before its context ended")
			}
		})
	}
}

// TestEnsureDenied: a kind kspan may not list and watch is not watched, with
// one warning naming its resource and the ClusterRole; an allowed one is.
func TestEnsureDenied(t *testing.T) {
	a := &authorizer{allowed: allow("list pods", "watch pods", "list replicasets.apps")}
	s, logs := testSource(t, a, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.ctx = ctx

	rs := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	s.ensure(rs)
	s.ensure(rs) // remembered: asked once
	s.ensure(pod)
	if w, ok := s.watched[rs.GroupKind()]; !ok || w {
		t.Errorf("ReplicaSets: watched %v (known %v), want known and not watched", w, ok)
	}
	if !s.watched[pod.GroupKind()] {
		t.Error("Pods are not watched")
	}
	if n := s.kinds.Load(); n != 1 {
		t.Errorf("%d kinds watched, want 1", n)
	}
	want := []string{"list replicasets.apps", "watch replicasets.apps", "list pods", "watch pods"}
	if got := a.reviews(); !slices.Equal(got, want) {
		t.Errorf("reviews %v, want %v", got, want)
	}
	var warns []string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") {
			warns = append(warns, line)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "replicasets.apps") || !strings.Contains(warns[0], "ClusterRole") ||
		!strings.Contains(warns[0], "rbac.extraResources") || !strings.Contains(warns[0], "missing permission: watch replicasets.apps cluster-wide") {
		t.Errorf("want one warning naming replicasets.apps, the ClusterRole and rbac.extraResources; log:\n%s", logs)
	}
}
