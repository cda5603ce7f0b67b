package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kspan-project/kspan/internal/record"
)

// objLog is the test's own account of a namespace, from its own watches:
// every version of its workloads and pods and every Event occurrence, in
// resourceVersion order (etcd's single order of writes). The scenarios'
// expectations are computed from it, never from kspan's output.
type objLog struct {
	mu   sync.Mutex
	objs []objVersion
	occs []occurrence
	seen map[string]bool // Event UID/count
}

// objVersion is one watched state of an object.
type objVersion struct {
	Kind, Name, UID string
	RV              int64
	Deleting        bool // deletionTimestamp set, or the DELETED watch event
	Generation      int64
	Replicas        int32  // spec.replicas; -1 for kinds without
	Owner           string // the controller owner's UID
}

// occurrence is one (Event UID, count): the Event state in which the count
// became Count.
type occurrence struct {
	UID             string
	Count           int32
	RV              int64
	Reason, Message string
	Type            string
	Object          record.Ref
}

func (o occurrence) String() string {
	return fmt.Sprintf("%s.%s %q #%d", o.Object.Kind, o.Reason, o.Message, o.Count)
}

// watchNamespace starts the watches of ns; they stop when test until ends
// (a parent of t, so that they see what happens after t's end).
func watchNamespace(t, until *testing.T, ns string) *objLog {
	t.Helper()
	l := &objLog{seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	until.Cleanup(cancel)
	c := env.client
	for kind, w := range map[string]func(context.Context, metav1.ListOptions) (watch.Interface, error){
		"Event":       c.CoreV1().Events(ns).Watch,
		"Pod":         c.CoreV1().Pods(ns).Watch,
		"Deployment":  c.AppsV1().Deployments(ns).Watch,
		"ReplicaSet":  c.AppsV1().ReplicaSets(ns).Watch,
		"StatefulSet": c.AppsV1().StatefulSets(ns).Watch,
		"DaemonSet":   c.AppsV1().DaemonSets(ns).Watch,
		"Job":         c.BatchV1().Jobs(ns).Watch,
		"CronJob":     c.BatchV1().CronJobs(ns).Watch,
	} {
		first, err := w(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		go l.follow(ctx, until, kind, w, first)
	}
	return l
}

// follow records a watch's changes, watching again from the last
// resourceVersion when the server ends the watch.
func (l *objLog) follow(ctx context.Context, t *testing.T, kind string, watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error), w watch.Interface) {
	last := ""
	for {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error || ev.Type == watch.Bookmark {
				continue
			}
			if m, err := meta.Accessor(ev.Object); err == nil {
				last = m.GetResourceVersion()
			}
			l.add(kind, ev)
		}
		if ctx.Err() != nil {
			return
		}
		var err error
		if w, err = watchFn(ctx, metav1.ListOptions{ResourceVersion: last}); err != nil {
			if ctx.Err() == nil {
				t.Errorf("watching %ss again from %s: %v", kind, last, err)
			}
			return
		}
	}
}

func (l *objLog) add(kind string, ev watch.Event) {
	m, err := meta.Accessor(ev.Object)
	if err != nil {
		return
	}
	rv, _ := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := ev.Object.(*corev1.Event); ok {
		n := e.Count
		if e.Series != nil {
			n = e.Series.Count
		}
		n = max(n, 1)
		k := fmt.Sprintf("%s/%d", e.UID, n)
		if ev.Type != watch.Deleted && !l.seen[k] {
			l.seen[k] = true
			io := e.InvolvedObject
			l.occs = append(l.occs, occurrence{UID: string(e.UID), Count: n, RV: rv, Reason: e.Reason, Message: e.Message, Type: e.Type,
				Object: record.Ref{Kind: io.Kind, Namespace: io.Namespace, Name: io.Name, UID: string(io.UID), FieldPath: io.FieldPath}})
		}
		return
	}
	v := objVersion{Kind: kind, Name: m.GetName(), UID: string(m.GetUID()), RV: rv, Generation: m.GetGeneration(),
		Deleting: m.GetDeletionTimestamp() != nil || ev.Type == watch.Deleted, Replicas: -1}
	if o := metav1.GetControllerOf(m); o != nil {
		v.Owner = string(o.UID)
	}
	switch o := ev.Object.(type) {
	case *appsv1.Deployment:
		v.Replicas = *o.Spec.Replicas
	case *appsv1.ReplicaSet:
		v.Replicas = *o.Spec.Replicas
	case *appsv1.StatefulSet:
		v.Replicas = *o.Spec.Replicas
	}
	l.objs = append(l.objs, v)
}

// occurrences in resourceVersion order.
func (l *objLog) occurrences() []occurrence {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.occs)
	slices.SortStableFunc(out, func(a, b occurrence) int { return int(a.RV - b.RV) })
	return out
}

// versions of objects of kind (all names when name is ""), in
// resourceVersion order.
func (l *objLog) versions(kind, name string) []objVersion {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []objVersion
	for _, v := range l.objs {
		if v.Kind == kind && (name == "" || v.Name == name) {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b objVersion) int { return int(a.RV - b.RV) })
	return out
}

// instances are the UIDs that had each name, oldest first.
func (l *objLog) instances(kind string) map[string][]string {
	out := map[string][]string{}
	for _, v := range l.versions(kind, "") {
		if !slices.Contains(out[v.Name], v.UID) {
			out[v.Name] = append(out[v.Name], v.UID)
		}
	}
	return out
}

// created is the resourceVersion of uid's first version.
func (l *objLog) created(uid string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first int64
	for _, v := range l.objs {
		if v.UID == uid && (first == 0 || v.RV < first) {
			first = v.RV
		}
	}
	return first
}

// deletionBegan is the resourceVersion at which uid's deletion began, 0 if
// it did not.
func (l *objLog) deletionBegan(uid string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first int64
	for _, v := range l.objs {
		if v.UID == uid && v.Deleting && (first == 0 || v.RV < first) {
			first = v.RV
		}
	}
	return first
}

// generationAt is uid's generation in its latest version stored no later
// than rv, ignoring the bump a deletion makes.
func (l *objLog) generationAt(uid string, rv int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var g, at int64
	for _, v := range l.objs {
		if v.UID == uid && !v.Deleting && v.RV <= rv && v.RV >= at {
			g, at = v.Generation, v.RV
		}
	}
	return g
}

// ownerAt is uid's controller owner's UID in its latest version stored
// before rv (an orphaned object has none).
func (l *objLog) ownerAt(uid string, rv int64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var o string
	var at int64
	for _, v := range l.objs {
		if v.UID == uid && v.RV < rv && v.RV >= at {
			o, at = v.Owner, v.RV
		}
	}
	return o
}

var scaledRS = regexp.MustCompile(`^(?:\(combined from similar events\): )?Scaled (up|down) replica set (\S+) from (\d+) to (\d+)$`)

// replicaSetSteps checks the causal model's scale steps: a ReplicaSet's
// "Created pod: P" is a direct child of the Deployment's "Scaled up replica
// set R from a to b" whose a->b change of R's spec.replicas is the latest
// before P was created; its "Deleted pod: P" of the latest scale-down before
// P's deletion began. The i-th a->b change of R is the i-th occurrence of
// that message. It returns how many scale steps each ReplicaSet had.
func (c *check) replicaSetSteps() map[string]int {
	l := c.r.log
	type step struct {
		from, to int32
		rv       int64
		ev       *occurrence
	}
	steps := map[string][]step{}
	prev := map[string]int32{}
	for _, v := range l.versions("ReplicaSet", "") {
		if v.Deleting || v.Replicas == prev[v.Name] {
			continue
		}
		steps[v.Name] = append(steps[v.Name], step{from: prev[v.Name], to: v.Replicas, rv: v.RV})
		prev[v.Name] = v.Replicas
	}
	occs := l.occurrences()
	used := map[int]bool{}
	count := map[string]int{}
	for rs, ss := range steps {
		count[rs] = len(ss)
		for i := range ss {
			s := &ss[i]
			for j, o := range occs {
				m := scaledRS.FindStringSubmatch(o.Message)
				if o.Reason != "ScalingReplicaSet" || m == nil || used[j] || m[2] != rs ||
					m[3] != strconv.Itoa(int(s.from)) || m[4] != strconv.Itoa(int(s.to)) {
					continue
				}
				used[j] = true
				s.ev = &occs[j]
				break
			}
			if s.ev == nil {
				c.errorf("%s: no ScalingReplicaSet event for %s's change from %d to %d", c.r.ns, rs, s.from, s.to)
			}
		}
	}
	latest := func(rs string, up bool, before int64) *occurrence {
		var ev *occurrence
		for _, s := range steps[rs] {
			if s.rv < before && (s.to > s.from) == up {
				ev = s.ev
			}
		}
		return ev
	}
	pods := l.instances("Pod")
	for _, o := range occs {
		if o.Object.Kind != "ReplicaSet" {
			continue
		}
		created, deleted := podOf(createdPod, o.Message), podOf(deletedPod, o.Message)
		pod := created + deleted
		if pod == "" || len(pods[pod]) == 0 {
			continue
		}
		uid := pods[pod][0]
		at, up := l.created(uid), true
		if deleted != "" {
			at, up = l.deletionBegan(uid), false
		}
		if want := latest(o.Object.Name, up, at); want != nil {
			c.parentIs(o, *want, "the latest step of "+o.Object.Name+" before "+pod+" was created or its deletion began")
		} else {
			c.errorf("%s: no scale step of %s before %s", c.r.ns, o.Object.Name, o)
		}
	}
	return count
}
