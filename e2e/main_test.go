package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// env is the running test environment.
var env struct {
	root       string // repository root
	dir        string // cluster state
	kubeconfig string
	rest       *rest.Config
	client     kubernetes.Interface
	kspan      string // the kspan binary under test
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	env.root = filepath.Dir(filepath.Dir(file))
	// KSPAN_E2E_DIR and PORT_OFFSET (read by hack/cluster.sh) let several
	// runs share a machine.
	env.dir = filepath.Join(env.root, ".cache", "e2e-cluster")
	if d := os.Getenv("KSPAN_E2E_DIR"); d != "" {
		env.dir = d
	}
	tmp, err := os.MkdirTemp("", "kspan-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	env.kspan = filepath.Join(tmp, "kspan")
	build := exec.Command("go", "build", "-o", env.kspan, "./cmd/kspan")
	build.Dir = env.root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building kspan: %v\n%s", err, out)
		return 1
	}
	fmt.Fprintln(os.Stderr, "e2e: starting the control plane (hack/cluster.sh up)")
	start := time.Now()
	up := exec.Command("bash", filepath.Join(env.root, "hack", "cluster.sh"), "up", env.dir)
	var upOut bytes.Buffer
	up.Stdout, up.Stderr = &upOut, &upOut
	if err := up.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: the control plane did not start: %v\n%s", err, upOut.Bytes())
		down()
		return 1
	}
	defer down()
	fmt.Fprintf(os.Stderr, "e2e: control plane ready in %.1fs\n", time.Since(start).Seconds())

	env.kubeconfig = filepath.Join(env.dir, "kubeconfig")
	env.rest, err = clientcmd.BuildConfigFromFlags("", env.kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL: kubeconfig:", err)
		return 1
	}
	env.rest.QPS, env.rest.Burst = 50, 100
	env.client = kubernetes.NewForConfigOrDie(env.rest)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := env.client.Discovery().ServerVersion(); err != nil || ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL: apiserver not reachable:", err)
		return 1
	}
	return m.Run()
}

func down() {
	out, err := exec.Command("bash", filepath.Join(env.root, "hack", "cluster.sh"), "down", env.dir).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stopping the control plane: %v\n%s", err, out)
	}
}
