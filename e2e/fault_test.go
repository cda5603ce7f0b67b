package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
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
	if b, err := restart.CombinedOutput(); err != nil {
		t.Fatalf("restarting the apiserver: %v\n%s", err, b)
	}
	restarted := time.Now()
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
