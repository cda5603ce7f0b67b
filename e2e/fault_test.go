package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kspan-project/kspan/internal/span"
)

// TestApiserverRestartMidBurst restarts kube-apiserver in the middle of a
// burst of rollouts, compacting etcd while it is down, so that kspan's
// watches break, cannot resume from their resourceVersion (410 Gone) and
// relist everything. Nothing is lost and the relist exports nothing twice.
func TestApiserverRestartMidBurst(t *testing.T) {
	ns := namespace(t, "apiserver-restart")
	dir := t.TempDir()
	out := filepath.Join(dir, "traces.jsonl")
	k := startReplica(t, dir, "kspan", out, "watching events")

	createDeployments(t, ns, "before", 5, 3)
	waitExportedIn(t, ns, 15, out)
	restart := exec.Command("bash", filepath.Join(env.root, "hack", "cluster.sh"), "restart-apiserver", env.dir)
	restart.Env = append(os.Environ(), "COMPACT=1")
	// From before the restart: the script returns once the apiserver is
	// ready, and kspan's watches may have come back (and listed) by then.
	restarted := time.Now()
	if b, err := restart.CombinedOutput(); err != nil {
		t.Fatalf("restarting the apiserver: %v\n%s", err, b)
	}
	waitFor(t, 30*time.Second, "the namespace's default service account after the restart", func() (bool, string) {
		_, err := env.client.Discovery().ServerVersion()
		return err == nil, ""
	})
	createDeployments(t, ns, "after", 3, 3)
	for _, d := range []string{"before-0", "before-4", "after-0", "after-2"} {
		waitDeployment(t, ns, d)
	}
	checkExactlyOnce(t, ns, out)
	// The watches could not resume from their resourceVersion (compacted
	// away): kspan listed again, as the apiserver's audit log shows.
	r := kspanRequests(t, restarted)
	t.Logf("kspan's requests after the restart: %+v", r)
	if r.relists == 0 {
		b, _ := os.ReadFile(k.log)
		t.Errorf("kspan did not relist after the compaction; its log:\n%s", tail(b, 30))
	}
	k.stop(t)
}

// TestHostileLiveEvents writes Events no controller would to the real
// apiserver: about a kind the cluster does not serve, with a message of
// 500 kB, dated far in the future and in the past, and one about an
// object in an owner-reference cycle. kspan exports each (the message cut
// to 4 kB), says what it could not watch, and goes on tracing.
func TestHostileLiveEvents(t *testing.T) {
	ns := namespace(t, "hostile")
	dir := t.TempDir()
	out := filepath.Join(dir, "traces.jsonl")
	k := startReplica(t, dir, "kspan", out, "watching events")
	ctx := context.Background()
	now := time.Now()
	mk := func(name, kind, apiVersion, uid, msg string, at time.Time) {
		t.Helper()
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: kind, APIVersion: apiVersion, Name: name, Namespace: ns, UID: types.UID(uid)},
			Reason:         "Hostile", Message: msg, Type: corev1.EventTypeWarning, Count: 1,
			FirstTimestamp: metav1.NewTime(at), LastTimestamp: metav1.NewTime(at),
			Source: corev1.EventSource{Component: "e2e"},
		}
		if _, err := env.client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("alien", "FluxCapacitor", "example.com/v1", "alien-uid", strings.Repeat("ö", 250_000), now)
	mk("future", "Pod", "v1", "future-uid", "from the future", now.AddDate(500, 0, 0))
	mk("past", "Pod", "v1", "past-uid", "from the past", time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC))
	// Two ConfigMaps that own each other.
	a, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "a", UID: a.UID, Controller: ptr(true)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "b", UID: b.UID, Controller: ptr(true)}}
	if _, err := env.client.CoreV1().ConfigMaps(ns).Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	mk("cycle", "ConfigMap", "v1", string(a.UID), "in a cycle", now)
	// And an ordinary workload afterwards still traces.
	createDeployments(t, ns, "after", 1, 2)
	waitDeployment(t, ns, "after-0")
	checkExactlyOnce(t, ns, out)
	for _, s := range readOTLP(t, out) {
		if m := s.Attr(span.KeyEventMessage); len(m) > 4096 {
			t.Errorf("%s: a message of %d bytes was exported", s.Name, len(m))
		}
		if s.Start.After(time.Now().Add(time.Hour)) || s.End.After(time.Now().Add(time.Hour)) || s.End.Year() < 1971 {
			t.Errorf("%s %s: exported spanning %v..%v", s.Name, s.Attr(span.KeyEventMessage), s.Start, s.End)
		}
	}
	k.waitLog(t, 10*time.Second, "FluxCapacitor")
	k.stop(t)
}
