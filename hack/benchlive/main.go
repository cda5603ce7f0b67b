package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kspan-project/kspan/internal/span"
)

type options struct {
	root, dir             string
	deployments, replicas int
	nodes, portOffset     int
	hold                  time.Duration
	timeout               time.Duration
	kspanFlags            string
	clockTicks            float64
	otelcolK8sEvents      string
	otelcolKspan          string
}

func main() {
	var o options
	flag.StringVar(&o.root, "repo", ".", "the kspan repository")
	flag.StringVar(&o.dir, "dir", ".cache/bench-live", "state folder (cluster, binaries, outputs)")
	flag.IntVar(&o.deployments, "deployments", 100, "Deployments rolled out")
	flag.IntVar(&o.replicas, "replicas", 10, "replicas of each")
	flag.IntVar(&o.nodes, "nodes", 12, "kwok nodes (110 pods each)")
	flag.IntVar(&o.portOffset, "port-offset", 400, "PORT_OFFSET of the cluster")
	flag.DurationVar(&o.hold, "hold", 5*time.Second, "kspan's -hold (the latency target is hold + 2s)")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up after this long")
	flag.StringVar(&o.kspanFlags, "kspan-flags", "", "more kspan flags, space-separated")
	flag.Float64Var(&o.clockTicks, "clock-ticks", 100, "the kernel's USER_HZ (/proc/PID/stat units)")
	flag.StringVar(&o.otelcolK8sEvents, "otelcol-k8sevents", "", "a Collector with the contrib k8s_events receiver, to compare kspan's receiver with")
	flag.StringVar(&o.otelcolKspan, "otelcol-kspan", "", "the Collector distribution with kspan's receiver (make collector)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchlive:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, w io.Writer) error {
	root, err := filepath.Abs(o.root)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, o.dir)
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return err
	}
	kspanBin, baseBin := filepath.Join(dir, "bin", "kspan"), filepath.Join(dir, "bin", "baseline")
	for bin, pkg := range map[string]string{kspanBin: "./cmd/kspan", baseBin: "./hack/benchlive/baseline"} {
		// Both built as the Dockerfile builds kspan's image.
		if err := sh(root, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-tags", "grpcnotrace", "-ldflags", "-s -w", "-o", bin, pkg); err != nil {
			return err
		}
	}
	cluster := filepath.Join(dir, "cluster")
	env := []string{fmt.Sprintf("PORT_OFFSET=%d", o.portOffset), fmt.Sprintf("KWOK_NODES=%d", o.nodes)}
	logf("starting the control plane (%d kwok nodes)", o.nodes)
	if err := sh(root, env, "bash", "hack/cluster.sh", "up", cluster); err != nil {
		return err
	}
	defer func() {
		if err := sh(root, nil, "bash", "hack/cluster.sh", "down", cluster); err != nil {
			logf("stopping the control plane: %v", err)
		}
	}()
	kubeconfig := filepath.Join(cluster, "kubeconfig")
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	const ns = "bench"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := poll(ctx, "the default service account", func() (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return err
	}

	base, err := startProc(filepath.Join(dir, "baseline.log"), baseBin, kubeconfig)
	if err != nil {
		return err
	}
	defer base.kill()
	out := filepath.Join(dir, "traces.jsonl")
	os.Remove(out)
	args := []string{"-kubeconfig", kubeconfig, "-o", "otlp-json", "-output-file", out, "-ui", "off",
		"-metrics-addr", "off", "-hold", o.hold.String()}
	args = append(args, strings.Fields(o.kspanFlags)...)
	ks, err := startProc(filepath.Join(dir, "kspan.log"), kspanBin, args...)
	if err != nil {
		return err
	}
	defer ks.kill()
	cols, err := startCollectors(o, dir, kubeconfig)
	if err != nil {
		return err
	}
	defer stopCollectors(cols)
	for _, p := range []*proc{base, ks} {
		if err := poll(ctx, p.path+" to watch", func() (bool, error) { return p.logContains("watching events"), p.exited() }); err != nil {
			return err
		}
	}
	for _, c := range cols {
		if err := poll(ctx, c.name+" to watch", func() (bool, error) { return c.p.logContains(c.ready), c.p.exited() }); err != nil {
			return err
		}
	}
	if len(cols) > 0 {
		// The k8s_events receiver drops Events dated before it started,
		// and Events are dated to the second: the burst starts a second
		// after the last Collector was ready.
		ready := time.Now()
		if err := poll(ctx, "a second past the Collectors' start", func() (bool, error) { return time.Since(ready) > time.Second, nil }); err != nil {
			return err
		}
	}
	tail := &tailer{path: out, seen: map[span.ID]time.Time{}}
	watch, err := watchEvents(ctx, client)
	if err != nil {
		return err
	}
	tailCtx, stopTail := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { tail.run(tailCtx) })
	defer func() { stopTail(); wg.Wait() }()

	// CPU per Event is what each process spent over the burst: start-up
	// (kspan's discovery, access reviews and first lists) is reported
	// apart, as is the whole.
	kcpu0, _, err := usage(ks.cmd.Process.Pid, o.clockTicks)
	if err != nil {
		return err
	}
	bcpu0, _, err := usage(base.cmd.Process.Pid, o.clockTicks)
	if err != nil {
		return err
	}
	for _, c := range cols {
		if c.cpu0, _, err = usage(c.p.cmd.Process.Pid, o.clockTicks); err != nil {
			return err
		}
	}
	start := time.Now()
	logf("rolling out %d Deployments of %d replicas", o.deployments, o.replicas)
	if err := rollOut(ctx, client, ns, o.deployments, int32(o.replicas)); err != nil {
		return err
	}
	rolled := time.Since(start)
	logf("rolled out in %.0fs; waiting for a span for every Event", rolled.Seconds())
	var events []corev1.Event
	if err := poll(ctx, "a span for every Event", func() (bool, error) {
		l, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		events = l.Items
		return len(tail.missing(events)) == 0, ks.exited()
	}); err != nil {
		logf("%d Events still without a span", len(tail.missing(events)))
	}
	missing := len(tail.missing(events))
	kcpu, krss, err := usage(ks.cmd.Process.Pid, o.clockTicks)
	if err != nil {
		return err
	}
	bcpu, brss, err := usage(base.cmd.Process.Pid, o.clockTicks)
	if err != nil {
		return err
	}
	var rows []collectorRow
	for _, c := range cols {
		// Each Collector gets two minutes more to deliver every Event; one
		// that does not is reported incomplete, its CPU not compared.
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := poll(pctx, c.name+" to deliver every Event", func() (bool, error) { return c.delivered(events) })
		cancel()
		if err != nil {
			logf("%v", err)
		}
		cpu, rss, err := usage(c.p.cmd.Process.Pid, o.clockTicks)
		if err != nil {
			return err
		}
		have, items := c.sink.covered()
		rows = append(rows, collectorRow{name: c.name, cpu: cpu - c.cpu0, rss: rss, items: items, undeliver: len(uncovered(events, have, c.series))})
	}
	if len(rows) > 0 {
		rows = append(rows, collectorRow{name: "standalone kspan", cpu: kcpu - kcpu0, rss: krss, items: int64(len(tail.all)), undeliver: missing})
	}
	received, err := base.stop()
	if err != nil {
		return err
	}
	if _, err := ks.stop(); err != nil {
		return err
	}
	ms := tail.matches(start, watch)
	lat := latencies(ms)
	if err := writeLatencies(filepath.Join(dir, "latencies.tsv"), ms); err != nil {
		return err
	}

	n := float64(len(events))
	fmt.Fprintf(w, "== live: %d Deployments × %d replicas, %d Events held by the apiserver (%d received by the baseline), %d cores (%s) %s, rolled out in %.0fs\n",
		o.deployments, o.replicas, len(events), received, runtime.NumCPU(), cpuModel(), time.Now().UTC().Format("2006-01-02"), rolled.Seconds())
	fmt.Fprintf(w, "%-44s %14s %14s %8s %s\n", "figure", "kspan", "baseline", "ratio", "target")
	fmt.Fprintf(w, "%-44s %14.2f %14.2f %8.2f\n", "CPU seconds, whole run", kcpu, bcpu, kcpu/bcpu)
	fmt.Fprintf(w, "%-44s %14.2f %14.2f\n", "of which start-up, before the burst", kcpu0, bcpu0)
	kb, bb := kcpu-kcpu0, bcpu-bcpu0
	report(w, "CPU seconds over the burst", kb, bb, kb/bb, "≤ 1.5×", kb/bb <= 1.5)
	fmt.Fprintf(w, "%-44s %14.1f %14.1f\n", "CPU µs per Event", kb/n*1e6, bb/n*1e6)
	report(w, "peak RSS MB", krss, brss, krss-brss, "≤ baseline + 30 MB", krss-brss <= 30)
	p50, p99 := quantile(lat, 0.5), quantile(lat, 0.99)
	target := o.hold + 2*time.Second
	fmt.Fprintf(w, "%-44s %14s %14s %8s %s %s\n", "Event-to-export latency p50, p99", p50.Round(10*time.Millisecond), p99.Round(10*time.Millisecond), "",
		"p99 ≤ "+target.String(), verdict(p99 <= target))
	if lags := receiveLags(ms); len(lags) > 0 {
		fmt.Fprintf(w, "%-44s %14s %14s %8s (%d Events; the rest is the hold)\n", "of which kspan's receive lag p50, p99",
			quantile(lags, 0.5).Round(10*time.Millisecond), quantile(lags, 0.99).Round(10*time.Millisecond), "", len(lags))
	}
	fmt.Fprintf(w, "%-44s %14d %14s %8s %s %s\n", "Events without a span", missing, "", "", "0", verdict(missing == 0))
	reportCollectors(w, rows, len(events))
	return nil
}

func report(w io.Writer, name string, k, b, r float64, target string, ok bool) {
	fmt.Fprintf(w, "%-44s %14.2f %14.2f %8.2f %s %s\n", name, k, b, r, target, verdict(ok))
}

// cpuModel is the machine's processor as /proc/cpuinfo names it.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown processor"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown processor"
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[benchlive %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func sh(dir string, env []string, name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Dir, c.Stdout, c.Stderr = dir, os.Stderr, os.Stderr
	c.Env = append(os.Environ(), env...)
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func poll(ctx context.Context, what string, cond func() (bool, error)) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

func rollOut(ctx context.Context, client kubernetes.Interface, ns string, n int, replicas int32) error {
	for i := range n {
		name := fmt.Sprintf("app-%03d", i)
		l := map[string]string{"app": name}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: l},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25"}}}}},
		}
		if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return poll(ctx, "every Deployment available", func() (bool, error) {
		l, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, d := range l.Items {
			if d.Status.AvailableReplicas == replicas && d.Status.ObservedGeneration >= d.Generation {
				ready++
			}
		}
		return ready == n, nil
	})
}
