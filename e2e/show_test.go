package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/span"
)

// TestKubectlPlugin installs kspan as kubectl-kspan on PATH and runs
// kubectl kspan deploy/NAME against the cluster after two rollouts of
// NAME beside another Deployment: the traces drawn are NAME's (both
// changes, each with its ReplicaSet scaled and pods created under it) and
// no other's; the tree names them; nothing was installed in the cluster.
func TestKubectlPlugin(t *testing.T) {
	ns := namespace(t, "kspan-plugin")
	ctx := context.Background()
	for _, name := range []string{"web", "other"} {
		if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, newDeployment(ns, name, 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitDeployment(t, ns, "web")
	updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	waitDeployment(t, ns, "web")
	waitDeployment(t, ns, "other")

	bin := t.TempDir()
	if err := os.Symlink(env.kspan, filepath.Join(bin, "kubectl-kspan")); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(kubectlBin, append([]string{"kspan"}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "KUBECONFIG="+env.kubeconfig)
		out, err := cmd.Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("kubectl kspan %s: %v\n%s\n%s", strings.Join(args, " "), err, tail(out, 20), msg)
		}
		return string(out)
	}

	var spans []span.Span
	sc := bufio.NewScanner(strings.NewReader(run("deploy/web", "-n", ns, "-o", "otlp-json")))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		_, ss, err := otlp.ParseJSON(sc.Bytes())
		if err != nil {
			t.Fatalf("kubectl kspan -o otlp-json: %v", err)
		}
		spans = append(spans, ss...)
	}
	roots := map[span.TraceID]span.Span{}
	scaled, created := map[span.TraceID]int{}, map[span.TraceID]int{}
	for _, s := range spans {
		if s.Attr(span.KeyNamespace) != ns {
			t.Errorf("span %s of namespace %q", s.Name, s.Attr(span.KeyNamespace))
		}
		if s.Attr("k8s.deployment.name") == "other" {
			t.Errorf("a span of the other Deployment: %s %s", s.Name, s.Attr(span.KeyObjectName))
		}
		switch {
		case s.Parent.IsZero():
			roots[s.TraceID] = s
		case s.Name == "Deployment.ScalingReplicaSet":
			scaled[s.TraceID]++
		case s.Name == "ReplicaSet.SuccessfulCreate":
			created[s.TraceID]++
		}
	}
	changes := 0
	for id, r := range roots {
		if r.Attr("k8s.deployment.name") == "web" && synthetic(r) && scaled[id] > 0 && created[id] > 0 {
			changes++
		}
	}
	if changes < 2 {
		for _, s := range spans {
			t.Logf("%s %s parent %s: %s %s", s.TraceID, s.SpanID, s.Parent, s.Name, s.Attr(span.KeyObjectName))
		}
		t.Fatalf("%d traces of a change of web with its scale-ups and pods created, want 2 (the creation and the image change) among %d spans", changes, len(spans))
	}

	tree := run("deploy/web", "-n", ns, "-color", "never", "-width", "120")
	t.Logf("kubectl kspan deploy/web -n %s:\n%s", ns, tree)
	if !strings.Contains(tree, "Deployment.ScalingReplicaSet") || !strings.Contains(tree, "web") || strings.Contains(tree, "other-") {
		t.Errorf("the tree does not draw web's rollouts alone:\n%s", tree)
	}
}

func synthetic(s span.Span) bool {
	a, ok := s.Find(span.KeySynthetic)
	return ok && a.Bool
}
