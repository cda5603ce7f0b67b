package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/replay"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

// TestLive runs kspan against the cluster while the scenarios run in their
// own namespaces, in parallel, then stops it and checks what holds for the
// whole run.
func TestLive(t *testing.T) {
	p := startKspan(t)
	started := time.Now()
	eventsBefore := countEvents(t)
	t.Run("scenarios", func(t *testing.T) {
		for name, fn := range map[string]func(*testing.T, *kspanProc){
			"deployment-rollouts": testDeploymentRollouts,
			"statefulset":         testStatefulSet,
			"daemonset":           testDaemonSet,
			"job":                 testJob,
			"cronjob":             testCronJob,
			"bare-pod":            testBarePod,
			"deleted-owner":       testDeletedOwner,
			"unschedulable":       testUnschedulable,
			"custom-owner":        testCustomOwner,
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				fn(t, p)
			})
		}
	})
	t.Run("no-API-request-per-event", func(t *testing.T) {
		events := countEvents(t) - eventsBefore
		r := kspanRequests(t, started)
		t.Logf("while %d events were traced, kspan made %d requests: %d lists, %d watches, %d discovery, %d object GETs",
			events, r.total, r.lists, r.watches, r.discovery, r.objectGets)
		if events < 150 {
			t.Fatalf("only %d events: the scenarios did not run", events)
		}
		if r.objectGets != 0 || r.lists+r.discovery > events/3 {
			t.Errorf("kspan's requests grow with events: %+v for %d events", r, events)
		}
	})
	t.Run("metrics", func(t *testing.T) { testMetrics(t, p) })
	if dir := os.Getenv("KSPAN_E2E_RECORD"); dir != "" {
		recordScenarios(t, dir)
	}
	p.stop(t)
	t.Run("causes", func(t *testing.T) { testCauses(t, p) })
	t.Run("capture-replays-to-the-same-traces", func(t *testing.T) { testCaptureReplay(t, p) })
	if dir := os.Getenv("KSPAN_E2E_RECORD"); dir != "" {
		b, err := os.ReadFile(p.capture)
		if err == nil {
			err = os.MkdirAll(filepath.Join(dir, "live-capture"), 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "live-capture", "capture.jsonl"), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func countEvents(t *testing.T) int {
	t.Helper()
	l, err := env.client.CoreV1().Events("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

// recordScenarios saves each scenario's Events and objects as kubectl prints them,
// for the replay tests (KSPAN_E2E_RECORD=dir).
func recordScenarios(t *testing.T, dir string) {
	for ns, name := range map[string]string{"e2e-deploy": "live-deployment-rollouts", "e2e-sts": "live-statefulset",
		"e2e-ds": "live-daemonset", "e2e-job": "live-job", "e2e-cron": "live-cronjob", "e2e-pod": "live-bare-pod",
		"e2e-delete": "live-deleted-owner", "e2e-unsched": "live-unschedulable", "e2e-custom": "live-custom-owner"} {
		out := filepath.Join(dir, name)
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, args := range map[string][]string{
			"events.json":  {"get", "events", "-n", ns, "-o", "json"},
			"objects.json": {"get", "deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,pods", "-n", ns, "-o", "json"},
		} {
			b, err := exec.Command("kubectl", append([]string{"--kubeconfig", env.kubeconfig}, args...)...).Output()
			if err != nil {
				t.Fatalf("kubectl %v: %v", args, err)
			}
			if err := os.WriteFile(filepath.Join(out, file), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func testDeploymentRollouts(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-deploy")
	ctx := context.Background()
	d, err := env.client.AppsV1().Deployments(ns).Create(ctx, newDeployment(ns, "web", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := string(d.UID)
	waitDeployment(t, ns, "web")
	gens := []int64{1}
	step := func(change func(*appsv1.Deployment)) {
		gens = append(gens, updateDeployment(t, ns, "web", change))
		waitDeployment(t, ns, "web")
	}
	step(func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(5)) }) // scale up
	// Scale down through the scale subresource, as kubectl scale does: its
	// managedFields entry has no time.
	sc, err := env.client.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = 2
	if _, err := env.client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err = env.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gens = append(gens, d.Generation)
	waitDeployment(t, ns, "web")
	step(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" }) // rollout
	step(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.27" }) // right after
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)

	// Every generation is its own trace, with the ID kspan promises.
	byGen := map[int64]span.TraceID{}
	for _, g := range gens {
		id := span.TraceIDFor(uid, g)
		var root *span.Span
		for i := range spans {
			if spans[i].TraceID == id && spans[i].Parent.IsZero() {
				root = &spans[i]
			}
		}
		if root == nil {
			ts.fail("no trace for generation %d (ID %s)", g, id)
		}
		want := "Deployment.Update"
		if g == 1 {
			want = "Deployment.Create"
		}
		if root.Name != want {
			ts.fail("generation %d root is %s, want %s", g, root.Name, want)
		}
		byGen[g] = id
	}
	scaling := ts.where("ScalingReplicaSet", "")
	for _, s := range scaling {
		if s.TraceID == span.TraceIDFor(uid, 0) {
			ts.fail("scaling event outside any generation's trace")
		}
	}
	// Generation 1: 0 -> 3, three pods each under its creation.
	up := ts.one("ScalingReplicaSet", "to 3")
	if up.TraceID != byGen[1] {
		ts.fail("the first scale-up is not in generation 1's trace")
	}
	creates := ts.where("SuccessfulCreate", "Created pod:")
	var first []span.Span
	for _, c := range creates {
		if c.TraceID == byGen[1] {
			first = append(first, c)
		}
	}
	if len(first) != 3 {
		ts.fail("generation 1 has %d pod creations, want 3", len(first))
	}
	ts.mustDescend(first, up)
	for _, c := range first {
		ts.podLifecycle(strings.TrimPrefix(c.Attr(span.KeyEventMessage), "Created pod: "), c)
	}
	// Generation 2: scale up to 5.
	if s := ts.one("ScalingReplicaSet", "from 3 to 5"); s.TraceID != byGen[2] {
		ts.fail("scale-up to 5 is not in generation 2's trace")
	}
	// Generation 3: scale down; each pod killed under its deletion.
	down := ts.one("ScalingReplicaSet", "from 5 to 2")
	if down.TraceID != byGen[3] {
		ts.fail("scale-down is not in generation 3's trace")
	}
	for _, del := range ts.where("SuccessfulDelete", "Deleted pod:") {
		if del.TraceID != byGen[3] {
			continue
		}
		if !ts.descends(del, down) {
			ts.fail("%q does not descend from the scale-down", del.Attr(span.KeyEventMessage))
		}
		pod := strings.TrimPrefix(del.Attr(span.KeyEventMessage), "Deleted pod: ")
		for _, k := range ts.onObject("Pod", pod) {
			if k.Attr(span.KeyEventReason) == "Killing" && !ts.descends(k, del) {
				ts.fail("Killing of %s does not descend from its deletion", pod)
			}
		}
	}
	// Generations 4 and 5: each rollout scales a new ReplicaSet up and the old one down.
	for _, g := range gens[3:] {
		var ups, downs int
		for _, s := range scaling {
			if s.TraceID == byGen[g] {
				msg := strings.TrimPrefix(s.Attr(span.KeyEventMessage), "(combined from similar events): ")
				if strings.HasPrefix(msg, "Scaled up") {
					ups++
				} else {
					downs++
				}
			}
		}
		if ups == 0 || downs == 0 {
			ts.fail("generation %d's trace has %d scale-ups and %d scale-downs", g, ups, downs)
		}
	}
}

func testStatefulSet(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-sts")
	ctx := context.Background()
	if _, err := env.client.AppsV1().StatefulSets(ns).Create(ctx, newStatefulSet(ns, "db", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "statefulset ready", func() (bool, string) {
		s, err := env.client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return s.Status.ReadyReplicas == 2, fmt.Sprintf("%+v", s.Status)
	})
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	for _, pod := range []string{"db-0", "db-1"} {
		c := ts.one("SuccessfulCreate", "Pod "+pod+" in StatefulSet db successful")
		ts.podLifecycle(pod, c)
		if r := ts.root(c); r.Name != "StatefulSet.Create" {
			ts.fail("%s's creation is under %s, want StatefulSet.Create", pod, r.Name)
		}
	}
}

func testDaemonSet(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-ds")
	ctx := context.Background()
	if _, err := env.client.AppsV1().DaemonSets(ns).Create(ctx, newDaemonSet(ns, "agent"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "daemonset ready on every node", func() (bool, string) {
		d, err := env.client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.DesiredNumberScheduled == 3 && d.Status.NumberReady == 3, fmt.Sprintf("%+v", d.Status)
	})
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	creates := ts.where("SuccessfulCreate", "Created pod:")
	if len(creates) != 3 {
		ts.fail("%d pod creations, want one per node (3)", len(creates))
	}
	nodes := map[string]bool{}
	for _, c := range creates {
		pod := strings.TrimPrefix(c.Attr(span.KeyEventMessage), "Created pod: ")
		ts.podLifecycle(pod, c)
		for _, s := range ts.onObject("Pod", pod) {
			if s.Attr(span.KeyEventReason) == "Pulling" {
				nodes[s.Attr(span.KeyEventInstance)] = true
			}
		}
	}
	if len(nodes) != 3 || len(traceIDs(creates)) != 1 {
		ts.fail("pods pulled on %d nodes in %d traces, want 3 nodes in one trace", len(nodes), len(traceIDs(creates)))
	}
}

func testJob(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-job")
	ctx := context.Background()
	if _, err := env.client.BatchV1().Jobs(ns).Create(ctx, newJob(ns, "once"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "job succeeded", func() (bool, string) {
		j, err := env.client.BatchV1().Jobs(ns).Get(ctx, "once", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return j.Status.Succeeded == 1, fmt.Sprintf("%+v", j.Status)
	})
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	c := ts.one("SuccessfulCreate", "Created pod: once-")
	ts.podLifecycle(strings.TrimPrefix(c.Attr(span.KeyEventMessage), "Created pod: "), c)
	done := ts.one("Completed", "")
	if r := ts.root(c); r.Name != "Job.Create" || ts.root(done).SpanID != r.SpanID {
		ts.fail("job's creation and completion are not both under one Job.Create root")
	}
}

func testCronJob(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-cron")
	ctx := context.Background()
	if _, err := env.client.BatchV1().CronJobs(ns).Create(ctx, newCronJob(ns, "tick"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 180*time.Second, "two scheduled runs completed", func() (bool, string) {
		l, err := env.client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		done := 0
		for _, j := range l.Items {
			if j.Status.Succeeded == 1 {
				done++
			}
		}
		return done >= 2, fmt.Sprintf("%d jobs, %d succeeded", len(l.Items), done)
	})
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	runs := ts.where("SuccessfulCreate", "Created job ")
	if len(runs) < 2 || len(traceIDs(runs)) != len(runs) {
		ts.fail("%d runs in %d traces: want each run in a trace of its own", len(runs), len(traceIDs(runs)))
	}
	for _, run := range runs {
		job := strings.TrimPrefix(run.Attr(span.KeyEventMessage), "Created job ")
		if r := ts.root(run); r.Name != "CronJob.Run" {
			ts.fail("run %s is under %s, want CronJob.Run", job, r.Name)
		}
		ts.mustDescend(ts.onObject("Job", job), run)
		for _, c := range ts.where("SuccessfulCreate", "Created pod: "+job+"-") {
			ts.podLifecycle(strings.TrimPrefix(c.Attr(span.KeyEventMessage), "Created pod: "), c)
			ts.mustDescend([]span.Span{c}, run)
		}
	}
}

func testBarePod(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-pod")
	ctx := context.Background()
	if _, err := env.client.CoreV1().Pods(ns).Create(ctx, newPod(ns, "solo", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "pod running", func() (bool, string) {
		po, err := env.client.CoreV1().Pods(ns).Get(ctx, "solo", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return po.Status.Phase == "Running", string(po.Status.Phase)
	})
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	evSpans := ts.onObject("Pod", "solo")
	if len(evSpans) < 5 || len(traceIDs(evSpans)) != 1 {
		ts.fail("%d pod spans in %d traces, want its whole start in one", len(evSpans), len(traceIDs(evSpans)))
	}
	root := ts.root(evSpans[0])
	if root.Name != "Pod.Create" {
		ts.fail("root %s, want Pod.Create", root.Name)
	}
	for _, s := range evSpans {
		if s.Parent != root.SpanID {
			ts.fail("%s is not a direct child of the root: events on one object are siblings", s.Name)
		}
	}
}

func testDeletedOwner(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-delete")
	ctx := context.Background()
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, newDeployment(ns, "gone", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "gone")
	if err := env.client.AppsV1().Deployments(ns).Delete(ctx, "gone", metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	waitPodsGone(t, ns, "app=gone")
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	kills := ts.where("Killing", "")
	if len(kills) != 2 {
		ts.fail("%d Killing spans, want 2", len(kills))
	}
	for _, k := range kills {
		if r := ts.root(k); r.Name != "Deployment.Delete" {
			ts.fail("Killing of %s is under %s, want the Deployment's deletion", k.Attr(span.KeyObjectName), r.Name)
		}
		if k.Attr("k8s.deployment.name") != "gone" {
			ts.fail("Killing span lacks its deleted owners: %v", k.AllAttrs())
		}
	}
}

func testUnschedulable(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-unsched")
	ctx := context.Background()
	if _, err := env.client.CoreV1().Pods(ns).Create(ctx, newPod(ns, "stuck", map[string]string{"type": "no-such-node"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "a FailedScheduling event", func() (bool, string) {
		for _, e := range apiEvents(t, ns) {
			if e.Reason == "FailedScheduling" {
				return true, ""
			}
		}
		return false, "none yet"
	})
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	for _, s := range ts.where("FailedScheduling", "") {
		if !s.Error || s.Attr(span.KeyEventType) != "Warning" {
			ts.fail("FailedScheduling is not an ERROR span")
		}
		if r := ts.root(s); r.Name != "Pod.Create" {
			ts.fail("FailedScheduling is under %s, want Pod.Create", r.Name)
		}
	}
}

func testCustomOwner(t *testing.T, p *kspanProc) {
	ns := namespace(t, "e2e-custom")
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(env.rest)
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{
			"group": "example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(crdGVR).Delete(context.Background(), "widgets.example.com", metav1.DeleteOptions{})
	})
	wGVR := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	var w *unstructured.Unstructured
	waitFor(t, 30*time.Second, "the Widget API to be served", func() (bool, string) {
		var err error
		w, err = dyn.Resource(wGVR).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "shop"}, "spec": map[string]any{"size": 2},
		}}, metav1.CreateOptions{})
		return err == nil, fmt.Sprint(err)
	})
	d := newDeployment(ns, "shop-web", 2)
	d.OwnerReferences = []metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "Widget", Name: "shop", UID: w.GetUID(), Controller: ptr(true)}}
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "shop-web")
	spans, evs := waitSpans(t, p, ns)
	ts := newTraceSet(t, spans)
	ts.check(evs)
	up := ts.one("ScalingReplicaSet", "to 2")
	root := ts.root(up)
	if root.Name != "Widget.Create" || root.Attr(span.KeyObjectUID) != string(w.GetUID()) {
		ts.fail("the Deployment's scale-up is under %s, want the Widget's creation", root.Name)
	}
	if up.Attr("k8s.widget.name") != "shop" {
		ts.fail("span lacks k8s.widget.name: %v", up.AllAttrs())
	}
	for _, c := range ts.where("SuccessfulCreate", "Created pod:") {
		ts.podLifecycle(strings.TrimPrefix(c.Attr(span.KeyEventMessage), "Created pod: "), c)
	}
}

// testCauses checks every span of the live run against the causal model,
// computed by tracecheck from what kspan recorded (its capture: every Event
// state and object version it saw).
// Only the scenarios' namespaces: kspan also exports, as history, the Events
// of namespaces that tests before TestLive left behind, whose objects it
// never saw change.
func testCauses(t *testing.T, p *kspanProc) {
	ours := map[string]bool{}
	for _, ns := range liveNamespaces {
		ours[ns] = true
	}
	spans := slices.DeleteFunc(p.spans(t), func(s span.Span) bool { return !ours[s.Attr(span.KeyNamespace)] })
	recs := slices.DeleteFunc(captureRecords(t, p.capture), func(r record.Record) bool {
		switch {
		case r.Event != nil:
			return !ours[r.Event.Regarding.Namespace] && r.Event.Regarding.Namespace != ""
		case r.Object != nil:
			return !ours[r.Object.Namespace] && r.Object.Namespace != ""
		}
		return true
	})
	rep := tracecheck.Verify(spans, recs)
	t.Logf("causes: %d occurrences, %d checked, %d ambiguous, %d without a cause", rep.Occurrences, rep.Checked, rep.Ambiguous, rep.Uncaused)
	if rep.Occurrences < 150 {
		t.Errorf("only %d occurrences in the capture", rep.Occurrences)
	}
	if len(rep.Violations) > 0 {
		t.Errorf("causal check (%d):\n  %s", len(rep.Violations), strings.Join(rep.Violations, "\n  "))
	}
}

// captureRecords reads a kspan capture in replay's order.
func captureRecords(t *testing.T, path string) []record.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, problems := decode.Read(f, path)
	if len(problems) > 0 {
		t.Fatalf("reading the capture: %v", problems)
	}
	replay.Sort(recs)
	return recs
}

// liveNamespaces are TestLive's scenarios' namespaces.
var liveNamespaces = []string{"e2e-deploy", "e2e-sts", "e2e-ds", "e2e-job", "e2e-cron", "e2e-pod", "e2e-delete", "e2e-unsched", "e2e-custom"}

// testCaptureReplay replays the live run's capture with the same settings and
// expects the same spans: IDs, parents, names and times.
func testCaptureReplay(t *testing.T, p *kspanProc) {
	live := p.spans(t)
	out := t.TempDir() + "/replay.jsonl"
	args := append([]string{"replay", "-o", "otlp-json", "-output-file", out}, kspanFlags...)
	args = append(args, p.capture)
	if b, err := exec.Command(env.kspan, args...).CombinedOutput(); err != nil {
		t.Fatalf("replaying the capture: %v\n%s", err, tail(b, 30))
	}
	replayed := readOTLP(t, out)
	canon := func(ss []span.Span) []string {
		var l []string
		for _, s := range ss {
			l = append(l, fmt.Sprintf("%s %s<-%s %s %s %s", s.TraceID, s.SpanID, s.Parent, s.Name,
				s.Start.UTC().Format(time.RFC3339Nano), s.End.UTC().Format(time.RFC3339Nano)))
		}
		slices.Sort(l)
		return l
	}
	a, b := canon(live), canon(replayed)
	if len(a) < 100 {
		t.Fatalf("live run exported only %d spans", len(a))
	}
	if !slices.Equal(a, b) {
		var diff []string
		for _, x := range a {
			if !slices.Contains(b, x) {
				diff = append(diff, "live only:   "+x)
			}
		}
		for _, x := range b {
			if !slices.Contains(a, x) {
				diff = append(diff, "replay only: "+x)
			}
		}
		t.Fatalf("%d live spans, %d replayed; differences:\n%s", len(a), len(b), tail([]byte(strings.Join(diff, "\n")), 40))
	}
	t.Logf("capture replayed to the same %d spans", len(a))
}

// metricsGetter returns a GET of the running kspan's metrics server: the
// URL comes from its "serving metrics" log line.
func (p *kspanProc) metricsGetter(t *testing.T) func(path string) (int, string) {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`msg="serving metrics" url=(\S+)/metrics`).FindSubmatch(b)
	if m == nil {
		t.Fatal("kspan did not log where it serves metrics")
	}
	return func(path string) (int, string) {
		resp, err := http.Get(string(m[1]) + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
}

// testMetrics checks that the running kspan is ready and counts what it
// received: the URL comes from its "serving metrics" log line.
func testMetrics(t *testing.T, p *kspanProc) {
	get := p.metricsGetter(t)
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d: %s", code, body)
	}
	if _, body := get("/metrics"); !regexp.MustCompile(`(?m)^kspan_events_received_total\{api="[^"]+",type="Normal"\} [1-9]`).MatchString(body) {
		t.Errorf("/metrics counts no Normal events:\n%s", body)
	}
}
