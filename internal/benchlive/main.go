package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kspan-project/kspan/internal/otlp"
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
	for bin, pkg := range map[string]string{kspanBin: "./cmd/kspan", baseBin: "./internal/benchlive/baseline"} {
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
	for _, p := range []*proc{base, ks} {
		if err := poll(ctx, p.path+" to watch", func() (bool, error) { return p.logContains("watching events"), p.exited() }); err != nil {
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
	fmt.Fprintf(w, "== live: %d Deployments × %d replicas, %d Events held by the apiserver (%d received by the baseline), %d cores %s, rolled out in %.0fs\n",
		o.deployments, o.replicas, len(events), received, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), rolled.Seconds())
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
	return nil
}

func report(w io.Writer, name string, k, b, r float64, target string, ok bool) {
	fmt.Fprintf(w, "%-44s %14.2f %14.2f %8.2f %s %s\n", name, k, b, r, target, verdict(ok))
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

// proc is a process under measurement.
type proc struct {
	path string
	cmd  *exec.Cmd
	log  string
	out  bytes.Buffer
	done chan error
}

func startProc(log, path string, args ...string) (*proc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	p := &proc{path: filepath.Base(path), log: log, done: make(chan error, 1)}
	p.cmd = exec.Command(path, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { p.done <- p.cmd.Wait(); f.Close() }()
	return p, nil
}

func (p *proc) logContains(s string) bool {
	b, _ := os.ReadFile(p.log)
	return bytes.Contains(b, []byte(s))
}

// exited is an error once the process has ended early.
func (p *proc) exited() error {
	if p.cmd.ProcessState != nil {
		return fmt.Errorf("%s exited (log: %s)", p.path, p.log)
	}
	return nil
}

// stop sends SIGTERM and waits; it returns the number the process printed.
func (p *proc) stop() (int64, error) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case err := <-p.done:
		if err != nil {
			return 0, fmt.Errorf("%s: %w (log: %s)", p.path, err, p.log)
		}
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("%s did not stop within 30s", p.path)
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(p.out.String()), 10, 64)
	return n, nil
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
	}
}

// usage reads a process's CPU seconds (user + system) and peak RSS (MB).
func usage(pid int, ticks float64) (cpu, rssMB float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces), from field 3.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc/PID/stat")
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			rssMB = kb / 1024
		}
	}
	return (ut + st) / ticks, rssMB, nil
}

// tailer reads kspan's output as it grows and notes when each span
// appeared.
type tailer struct {
	path string
	mu   sync.Mutex
	off  int64
	seen map[span.ID]time.Time
	all  []span.Span
}

func (t *tailer) run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		t.read()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (t *tailer) read() {
	f, err := os.Open(t.path)
	if err != nil {
		return
	}
	defer f.Close()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return
	}
	now := time.Now()
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return // an incomplete line is read again next time
		}
		t.off += int64(len(line))
		_, spans, perr := otlp.ParseJSON(line)
		if perr != nil {
			logf("output line at %d: %v", t.off, perr)
			continue
		}
		for _, s := range spans {
			if _, ok := t.seen[s.SpanID]; !ok {
				t.seen[s.SpanID] = now
				t.all = append(t.all, s)
			}
		}
	}
}

// missing lists the Events with no span for their latest count (at most
// kspan's -max-repeats, 10).
func (t *tailer) missing(events []corev1.Event) []string {
	t.read()
	t.mu.Lock()
	defer t.mu.Unlock()
	have := map[string]int64{}
	for _, s := range t.all {
		if u := s.Attr(span.KeyEventUID); u != "" {
			if a, ok := s.Find(span.KeyEventCount); ok {
				have[u] = max(have[u], a.Int)
			}
		}
	}
	var out []string
	for _, e := range events {
		c := e.Count
		if e.Series != nil {
			c = e.Series.Count
		}
		if have[string(e.UID)] < int64(min(max(c, 1), 10)) {
			out = append(out, string(e.UID))
		}
	}
	return out
}

// match is an Event span of an Event after start whose occurrence the
// harness saw.
type match struct {
	s       span.Span
	arrived time.Time // when the harness saw the occurrence
	out     time.Time // when the span appeared in kspan's output
	coarse  bool      // the Event has whole-second times only
}

// matches are the Event spans of Events after start that the harness saw.
func (t *tailer) matches(start time.Time, w *eventWatch) []match {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []match
	for _, s := range t.all {
		u := s.Attr(span.KeyEventUID)
		if u == "" || s.Start.Before(start) {
			continue
		}
		if at, ok := w.seen[occurrence(s)]; ok {
			out = append(out, match{s: s, arrived: at, out: t.seen[s.SpanID], coarse: w.coarse[u]})
		}
	}
	return out
}

// latencies are, for each match, the time from the Event reaching a
// watcher (the harness's own informer saw that count) to its span appearing
// in the output: the delay kspan adds, not the controllers' own delay in
// writing their Events.
func latencies(ms []match) []time.Duration {
	var out []time.Duration
	for _, m := range ms {
		out = append(out, m.out.Sub(m.arrived))
	}
	slices.Sort(out)
	return out
}

// writeLatencies writes, per match, its latency, its start less the
// harness's arrival, whether the Event is coarse, and its name: to look into
// the figures (latencies.tsv beside the outputs).
func writeLatencies(path string, ms []match) error {
	var b strings.Builder
	b.WriteString("latency_s\tstart_minus_arrival_s\tcoarse\tname\tarrival\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "%.3f\t%.3f\t%v\t%s\t%s\n", m.out.Sub(m.arrived).Seconds(), m.s.Start.Sub(m.arrived).Seconds(),
			m.coarse, m.s.Name, m.arrived.UTC().Format("15:04:05.000"))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// receiveLags are, for the matches that start at kspan's own observation
// (an Event with a whole-second time seen within that second: the span
// starts at the observation, a time with a fraction after the harness saw
// the Event), how much later kspan took the Event in than the harness did:
// the part of the latency that is not the hold.
func receiveLags(ms []match) []time.Duration {
	var out []time.Duration
	for _, m := range ms {
		s := m.s
		if m.coarse && s.Start.Nanosecond() != 0 && s.Start.Equal(s.End) && !s.Start.Before(m.arrived) {
			out = append(out, s.Start.Sub(m.arrived))
		}
	}
	slices.Sort(out)
	return out
}

// occurrence is "UID/count" of an Event span, as eventWatch keys them.
func occurrence(s span.Span) string {
	c, _ := s.Find(span.KeyEventCount)
	return fmt.Sprintf("%s/%d", s.Attr(span.KeyEventUID), c.Int)
}

// eventWatch notes when each (Event UID, count) first reached the harness.
type eventWatch struct {
	mu   sync.Mutex
	seen map[string]time.Time
	// coarse says an Event has no eventTime (whole-second times only).
	coarse map[string]bool
}

func watchEvents(ctx context.Context, client kubernetes.Interface) (*eventWatch, error) {
	w := &eventWatch{seen: map[string]time.Time{}, coarse: map[string]bool{}}
	note := func(o any) {
		e, ok := o.(*eventsv1.Event)
		if !ok {
			return
		}
		c := int32(1)
		if e.Series != nil && e.Series.Count > 1 {
			c = e.Series.Count
		} else if e.DeprecatedCount > 1 {
			c = e.DeprecatedCount
		}
		k := fmt.Sprintf("%s/%d", e.UID, c)
		w.mu.Lock()
		if _, ok := w.seen[k]; !ok {
			w.seen[k] = time.Now()
		}
		w.coarse[string(e.UID)] = e.EventTime.IsZero()
		w.mu.Unlock()
	}
	f := informers.NewSharedInformerFactory(client, 0)
	inf := f.Events().V1().Events().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: note, UpdateFunc: func(_, o any) { note(o) }}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, errors.New("the harness's event informer did not sync")
	}
	return w, nil
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(q*float64(len(d))))]
}
