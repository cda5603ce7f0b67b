package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

// imageRef is the image make image builds (hack/image.sh).
const imageRef = "localhost/kspan:dev"

// offsetImage is TestImage's Jaeger's (see offsetReplayGRPC).
const offsetImage = 3400

// TestImage runs the image make image built with podman against the local
// control plane as the chart runs it: under the chart's RBAC alone (a token
// of its ServiceAccount), as user 65532 on a read-only root file system,
// with -stream, exporting to Jaeger over OTLP/HTTP. It answers /healthz and
// /readyz once synced, and the traces of a Deployment rolled out meanwhile
// reach Jaeger as its -o otlp-json file has them (a mounted directory is
// the one place it may write).
func TestImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatal("podman is missing: make image installs it and builds " + imageRef)
	}
	if out, err := exec.Command(podman, "image", "exists", imageRef).CombinedOutput(); err != nil {
		t.Fatalf("no image %s (make image builds it): %v %s", imageRef, err, out)
	}
	ns := namespace(t, "image")
	id := applyChartRBAC(t, "img", ns)
	if err := os.Chmod(id.kubeconfig, 0o644); err != nil { // read by user 65532 in the container
		t.Fatal(err)
	}
	outDir := t.TempDir()
	if err := os.Chmod(outDir, 0o777); err != nil {
		t.Fatal(err)
	}
	j := startJaeger(t, offsetImage, "memory")
	port := freePort(t)

	name := fmt.Sprintf("kspan-e2e-%d", os.Getpid())
	args := []string{"--runtime", "runc", "run", "-d", "--name", name, "--read-only",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network=host",
		"-v", id.kubeconfig + ":/etc/kspan/kubeconfig:ro", "-v", outDir + ":/out",
		imageRef, "-kubeconfig", "/etc/kspan/kubeconfig", "-ui", "off", "-stream", "-log-format", "json",
		"-metrics-addr", fmt.Sprintf("127.0.0.1:%d", port), "-otlp-endpoint", j.httpURL(),
		"-o", "otlp-json", "-output-file", "/out/traces.jsonl",
		"-leader-elect", "-leader-elect-namespace", ns, "-leader-elect-name", "img-kspan",
		"-checkpoint", "configmap:" + ns + "/img-kspan-checkpoint"}
	if out, err := exec.Command(podman, args...).CombinedOutput(); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	logs := func() string {
		out, _ := exec.Command(podman, "logs", name).CombinedOutput()
		return string(out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the container's log:\n%s", tail([]byte(logs()), 40))
		}
		_ = exec.Command(podman, "rm", "-f", "-t", "10", name).Run()
	})

	inspect, err := exec.Command(podman, "inspect", "--format", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", name).Output()
	if err != nil || strings.TrimSpace(string(inspect)) != "65532:65532 true" {
		t.Errorf("the container runs as %q (user, read-only root), want 65532:65532 true: %v", inspect, err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, 60*time.Second, "/healthz and /readyz to answer 200", func() (bool, string) {
		var states []string
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(base + p)
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			states = append(states, fmt.Sprintf("%s %d", p, resp.StatusCode))
			if resp.StatusCode != http.StatusOK {
				return false, strings.Join(states, ", ")
			}
		}
		return true, ""
	})

	work := namespace(t, "image-work")
	if _, err := env.client.AppsV1().Deployments(work).Create(context.Background(), newDeployment(work, "web", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, work, "web")
	var file, got []span.Span
	waitFor(t, 60*time.Second, "Jaeger to hold the Deployment's traces as the file has them", func() (bool, string) {
		file = inNamespace(readOTLP(t, filepath.Join(outDir, "traces.jsonl")), work)
		started := 0
		for _, s := range file {
			if s.Name == "Pod.Started" {
				started++
			}
		}
		if started < 2 || len(reasons(newTraceSet(t, file).onObject("Deployment", "web"))) == 0 {
			return false, fmt.Sprintf("%d spans of %s in the file, %d pods started", len(file), work, started)
		}
		if bad := tracecheck.Check(file, nil); len(bad) > 0 {
			return false, "the file's traces are not whole yet: " + bad[0]
		}
		got = j.traces(t, file)
		d := diffSpans(file, got)
		return d == "", d
	})
	if l := logs(); strings.Contains(strings.ToLower(l), "forbidden") {
		t.Errorf("forbidden requests under the chart's RBAC:\n%s", grepLines(l, "forbidden"))
	}
	t.Logf("the image: %d spans of %s read back from Jaeger", len(got), work)
}

// freePort is a TCP port on 127.0.0.1 free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
