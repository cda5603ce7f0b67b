package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/checkpoint"
	"github.com/kspan-project/kspan/internal/span"
)

// replica is one kspan process of a restart or leader test; several write
// to outputs the test reads together.
type replica struct {
	name string
	*kspanProc
}

// startReplica starts kspan writing its spans to out and its log to
// dir/name.log, and waits until its log says ready.
func startReplica(t *testing.T, dir, name, out, ready string, extra ...string) *replica {
	t.Helper()
	r := &replica{name: name, kspanProc: launchKspan(t, env.kubeconfig, out, filepath.Join(dir, name+".log"), extra...)}
	r.waitLog(t, 60*time.Second, ready)
	return r
}

// launchKspan starts kspan with kubeconfig, the suite's engine flags and
// extra ones, writing its spans to out and its log to log, without waiting
// for anything; the test's end kills it if it still runs.
func launchKspan(t *testing.T, kubeconfig, out, log string, extra ...string) *kspanProc {
	t.Helper()
	p := &kspanProc{out: out, log: log}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	args := append([]string{"-kubeconfig", kubeconfig, "-o", "otlp-json", "-output-file", out,
		"-log-level", "debug", "-metrics-addr", "127.0.0.1:0"}, kspanFlags...)
	p.cmd = exec.Command(env.kspan, append(args, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

func (r *replica) waitLog(t *testing.T, d time.Duration, s string) {
	t.Helper()
	waitFor(t, d, r.name+" to log "+s, func() (bool, string) {
		b, _ := os.ReadFile(r.log)
		return bytes.Contains(b, []byte(s)), string(b)
	})
}

func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Wait() // killed: the error says so
}

// exportedPairs reads the (Event UID, count) of every event span in the
// files, and how often each was exported.
func exportedPairs(t *testing.T, files ...string) (map[string]int, []span.Span) {
	t.Helper()
	pairs := map[string]int{}
	var all []span.Span
	for _, f := range files {
		spans := readOTLP(t, f)
		all = append(all, spans...)
		for _, s := range spans {
			if u := s.Attr(span.KeyEventUID); u != "" {
				pairs[fmt.Sprintf("%s/%d", u, attrInt(s, span.KeyEventCount))]++
			}
		}
	}
	return pairs, all
}

// checkExactlyOnce waits until every Event the apiserver holds in ns has a
// span in files, then checks that no occurrence, and no span, was exported
// twice, over everything the files hold (every namespace), and that every
// parent was exported.
func checkExactlyOnce(t *testing.T, ns string, files ...string) {
	t.Helper()
	var pairs map[string]int
	var all []span.Span
	waitFor(t, 120*time.Second, "a span for every event in "+ns, func() (bool, string) {
		pairs, all = exportedPairs(t, files...)
		var missing []string
		for _, e := range apiEvents(t, ns) {
			if pairs[fmt.Sprintf("%s/%d", e.UID, min(e.Count, 10))] == 0 {
				missing = append(missing, fmt.Sprintf("%s/%d %s.%s %q", e.UID, e.Count, e.Regarding.Kind, e.Reason, e.Message))
			}
		}
		return len(missing) == 0, strings.Join(missing, "\n")
	})
	var dups []string
	for p, n := range pairs {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s exported %d times", p, n))
		}
	}
	ids := map[span.ID]int{}
	for _, s := range all {
		ids[s.SpanID]++
	}
	for id, n := range ids {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("span %s exported %d times", id, n))
		}
	}
	if len(dups) > 0 {
		t.Errorf("%d duplicates:\n%s", len(dups), strings.Join(dups, "\n"))
	}
	for _, s := range all {
		if !s.Parent.IsZero() && ids[s.Parent] == 0 {
			t.Errorf("span %s %s (%s): parent %s never exported", s.SpanID, s.Name, s.Attr(span.KeyObjectName), s.Parent)
		}
	}
	t.Logf("%d occurrences, %d spans, each exported once; %d of them in %s", len(pairs), len(all), len(apiEvents(t, ns)), ns)
}

// waitSaved waits until the ConfigMap checkpoint holds every occurrence
// the files hold.
func waitSaved(t *testing.T, ns, name string, files ...string) {
	t.Helper()
	waitFor(t, 10*time.Second, "the checkpoint to hold every exported occurrence", func() (bool, string) {
		cm, err := env.client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		es, err := checkpoint.Decode(cm.BinaryData[checkpoint.ConfigMapKey])
		if err != nil {
			return false, err.Error()
		}
		set := checkpoint.NewSet(0)
		set.Merge(es)
		_, all := exportedPairs(t, files...)
		for _, s := range all {
			if u := s.Attr(span.KeyEventUID); u != "" {
				if _, ok := set.Exported(u, int32(attrInt(s, span.KeyEventCount))); !ok {
					return false, fmt.Sprintf("%s/%d not saved (%d entries)", u, attrInt(s, span.KeyEventCount), len(es))
				}
			}
		}
		return true, ""
	})
}

func createDeployments(t *testing.T, ns, prefix string, n int, replicas int32) {
	t.Helper()
	for i := range n {
		if _, err := env.client.AppsV1().Deployments(ns).Create(context.Background(),
			newDeployment(ns, fmt.Sprintf("%s-%d", prefix, i), replicas), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitExportedIn waits until the files hold at least n event spans of ns.
func waitExportedIn(t *testing.T, ns string, n int, files ...string) {
	t.Helper()
	waitFor(t, 90*time.Second, fmt.Sprintf("%d spans of %s exported", n, ns), func() (bool, string) {
		got := 0
		for _, f := range files {
			for _, s := range readOTLP(t, f) {
				if s.Attr(span.KeyNamespace) == ns && s.Attr(span.KeyEventUID) != "" {
					got++
				}
			}
		}
		return got >= n, fmt.Sprintf("%d spans", got)
	})
}

// TestRestartAfterKill kills kspan with SIGKILL in the middle of a burst of
// rollouts, changes the cluster while it is down, and starts it again on
// the same journal checkpoint: every Event the apiserver holds is exported
// exactly once over the two runs.
func TestRestartAfterKill(t *testing.T) {
	ns := namespace(t, "restart-kill")
	dir := t.TempDir()
	out := filepath.Join(dir, "traces.jsonl")
	ck := []string{"-checkpoint", "file:" + filepath.Join(dir, "checkpoint")}

	first := startReplica(t, dir, "first", out, "watching events", ck...)
	createDeployments(t, ns, "early", 4, 3)
	waitExportedIn(t, ns, 10, out)
	createDeployments(t, ns, "burst", 6, 3)
	waitExportedIn(t, ns, 30, out)
	first.kill(t) // mid-burst: events held, traces open, more coming
	atKill, _ := exportedPairs(t, out)

	// While kspan is down: a scale-up and a new Deployment.
	updateDeployment(t, ns, "early-0", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(5)) })
	createDeployments(t, ns, "down", 1, 2)
	waitDeployment(t, ns, "down-0")

	second := startReplica(t, dir, "second", out, "watching events", ck...)
	second.waitLog(t, 10*time.Second, "checkpoint loaded")
	for i := range 6 {
		waitDeployment(t, ns, fmt.Sprintf("burst-%d", i))
	}
	waitDeployment(t, ns, "early-0")
	checkExactlyOnce(t, ns, out)
	second.stop(t)
	b, _ := os.ReadFile(second.log)
	if bytes.Contains(b, []byte("exported_events=0")) {
		t.Errorf("the restarted kspan loaded an empty checkpoint:\n%s", tail(b, 20))
	}
	if !bytes.Contains(b, []byte("checkpointed=")) || bytes.Contains(b, []byte("checkpointed=0 ")) {
		t.Errorf("the restarted kspan skipped nothing as exported before:\n%s", tail(b, 20))
	}
	t.Logf("%d occurrences exported before the kill", len(atKill))
}

// TestLeaderChange runs two replicas under leader election with a
// ConfigMap checkpoint. The leader is stopped (SIGTERM, as in a rolling
// update or a drain) during a burst: the standby takes over once the
// leader has exported what it held and released the lease. Then the new
// leader is killed (SIGKILL) with a third replica standing by, which takes
// over within the lease duration and exports what happened meanwhile.
// Every Event is exported exactly once over the three.
func TestLeaderChange(t *testing.T) {
	ns := namespace(t, "leader-change")
	dir := t.TempDir()
	lease := 4 * time.Second
	args := []string{"-leader-elect", "-leader-elect-namespace", ns, "-leader-elect-name", "kspan",
		"-leader-elect-lease-duration", lease.String(), "-leader-elect-renew-deadline", "3s",
		"-leader-elect-retry-period", "500ms", "-checkpoint", "configmap:" + ns + "/kspan-checkpoint",
		"-checkpoint-interval", "500ms", "-stream"} // as the Helm chart deploys kspan
	outs := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.jsonl")}

	a := startReplica(t, dir, "a", outs[0], "leading", args...)
	a.waitLog(t, 60*time.Second, "watching events")
	b := startReplica(t, dir, "b", outs[1], "standing by", args...)

	createDeployments(t, ns, "burst", 8, 3)
	waitExportedIn(t, ns, 20, outs[0])
	a.stop(t) // graceful: flushes, saves the checkpoint, releases the lease
	b.waitLog(t, lease, "leading")
	createDeployments(t, ns, "after", 2, 2)
	for i := range 8 {
		waitDeployment(t, ns, fmt.Sprintf("burst-%d", i))
	}
	checkExactlyOnce(t, ns, outs[:2]...)

	c := startReplica(t, dir, "c", outs[2], "standing by", args...)
	// Let b save what it delivered, then kill it: no flush, no release.
	waitSaved(t, ns, "kspan-checkpoint", outs[:2]...)
	b.kill(t)
	killed := time.Now()
	createDeployments(t, ns, "leaderless", 1, 2) // while nobody leads
	c.waitLog(t, lease+3*time.Second, "leading")
	t.Logf("c took over %.1fs after b was killed (lease %v)", time.Since(killed).Seconds(), lease)
	waitDeployment(t, ns, "leaderless-0")
	checkExactlyOnce(t, ns, outs...)
	c.stop(t)
}
