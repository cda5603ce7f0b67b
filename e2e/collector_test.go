package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

// offsetCollector and offsetCollectorHA are the Jaegers' of the Collector
// tests (see offsetReplayGRPC).
const (
	offsetCollector   = 3500
	offsetCollectorHA = 3600
)

// collectorBin is the distribution make collector builds
// (collector/otelcol-kspan/builder-config.yaml).
func collectorBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(env.root, ".cache", "otelcol-kspan", "otelcol-kspan")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the Collector distribution is missing (make collector builds it): %v", err)
	}
	return bin
}

// collectorProc is one run of the distribution.
type collectorProc struct {
	cmd *exec.Cmd
	log string
}

func startCollector(t *testing.T, config string) *collectorProc {
	t.Helper()
	p := startCollectorProc(t, config)
	waitFor(t, 60*time.Second, "the Collector to start watching", func() (bool, string) {
		b, _ := os.ReadFile(p.log)
		return bytes.Contains(b, []byte("watching events")), string(tail(b, 5))
	})
	return p
}

// startCollectorProc starts the distribution without waiting for anything.
func startCollectorProc(t *testing.T, config string) *collectorProc {
	t.Helper()
	p := &collectorProc{log: filepath.Join(t.TempDir(), "collector.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	p.cmd = exec.Command(collectorBin(t), "--config", config)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("the Collector's log:\n%s", tail(b, 40))
		}
	})
	return p
}

// stop sends SIGTERM: the receiver exports what it holds and saves its
// checkpoint.
func (p *collectorProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		b, _ := os.ReadFile(p.log)
		t.Fatalf("the Collector after SIGTERM: %v\n%s", err, tail(b, 30))
	}
}

// TestCollector runs the distribution (kspan's receiver, the batch
// processor, the OTLP/HTTP exporter, file_storage) against the cluster
// beside standalone kspan with the same settings, while a Deployment rolls
// out: the spans Jaeger holds for the namespace are standalone kspan's (the
// same IDs, parents, names, times, attributes). Then the Collector is
// stopped and started again on its storage while the Deployment rolls out
// anew: every Event occurrence of the namespace reached Jaeger exactly once
// across the two runs. Last, with the exporter's sending queue on the
// storage, it is killed (SIGKILL) while a third rollout's spans wait in the
// queue (Jaeger stopped) and started again: no occurrence is lost, and one
// sent twice has one span ID.
func TestCollector(t *testing.T) {
	j := startJaeger(t, offsetCollector, "badger")
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		t.Fatal(err)
	}
	metricsPort := freePort(t)
	// durable: the exporter's sending queue on the storage too, and no
	// batch processor (whose batches live in memory only), so that what the
	// receiver hands on survives a kill.
	// Runs that are not durable also write their spans to a file with the
	// contrib file exporter (OTLP/JSON lines).
	spansFile := func(run int) string { return filepath.Join(dir, fmt.Sprintf("spans-%d.jsonl", run)) }
	writeConfig := func(run int, durable bool) string {
		procs, queue, exporters := "[batch]", "", "[otlphttp, file]"
		if durable {
			procs, queue, exporters = "[]", "\n    sending_queue:\n      storage: file_storage\n      block_on_overflow: true\n      batch: {}", "[otlphttp]"
		}
		cfg := fmt.Sprintf(`extensions:
  file_storage:
    directory: %s
receivers:
  kspan:
    kubeconfig: %s
    hold: 2s
    linger: 3s
    cluster_name: e2e
    storage: file_storage
processors:
  batch:
    timeout: 200ms
exporters:
  otlphttp:
    endpoint: %s
    tls:
      insecure: true%s
  file:
    path: %s
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    traces:
      receivers: [kspan]
      processors: %s
      exporters: %s
`, storage, env.kubeconfig, j.httpURL(), queue, spansFile(run), metricsPort, procs, exporters)
		return writeFile(t, filepath.Join(dir, fmt.Sprintf("config-%d.yaml", run)), cfg)
	}

	standalone := startKspan(t)
	col := startCollector(t, writeConfig(1, false))
	ns := namespace(t, "e2e-collector")
	ctx := context.Background()
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, newDeployment(ns, "web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "web")
	_, evs := waitSpans(t, standalone, ns)

	var got []span.Span
	want := inNamespace(standalone.spans(t), ns)
	began := time.Now().Add(-time.Minute)
	defer func() {
		if t.Failed() {
			for _, s := range inNamespace(j.search(t, "kspan", began), ns) {
				t.Logf("in Jaeger: %s %s<-%s %s %s", s.TraceID, s.SpanID, s.Parent, s.Name, s.Attr(span.KeyObjectName))
			}
			for _, s := range want {
				t.Logf("standalone: %s %s<-%s %s %s", s.TraceID, s.SpanID, s.Parent, s.Name, s.Attr(span.KeyObjectName))
			}
		}
	}()
	waitFor(t, 60*time.Second, "Jaeger to hold standalone kspan's spans of the namespace, from the Collector", func() (bool, string) {
		if bad := tracecheck.Check(want, nil); len(bad) > 0 {
			want = inNamespace(standalone.spans(t), ns)
			return false, "standalone's traces are not whole yet: " + bad[0]
		}
		got = j.traces(t, want)
		d := sameSpans(want, got, liveSlack)
		return d == "", d
	})
	newTraceSet(t, got).check(evs)
	// The file exporter wrote the same spans.
	waitFor(t, 30*time.Second, "the file exporter to hold standalone kspan's spans of the namespace", func() (bool, string) {
		d := sameSpans(want, inNamespace(readSpansFile(t, spansFile(1)), ns), liveSlack)
		return d == "", d
	})
	// The receiver's telemetry: the Collector's own accepted-spans counter.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	_, _ = metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(metrics.String(), `otelcol_receiver_accepted_spans`) || !strings.Contains(metrics.String(), `receiver="kspan"`) {
		t.Errorf("the Collector's metrics lack the kspan receiver's accepted spans:\n%s", grepLines(metrics.String(), "receiver"))
	}

	// A restart on the same storage, with a second rollout while it is down.
	col.stop(t)
	updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	waitDeployment(t, ns, "web")
	col = startCollector(t, writeConfig(2, false))
	_, evs = waitSpans(t, standalone, ns)
	var both []span.Span
	waitFor(t, 60*time.Second, "Jaeger to hold every Event occurrence of the namespace once, from the two runs", func() (bool, string) {
		both = j.traces(t, inNamespace(standalone.spans(t), ns))
		return onceEach(both, evs)
	})
	// Events made while the Collector was down are read in its relist: it
	// dates one stamped to the whole second by that second, not by an
	// observation within it, as standalone kspan, watching, could.
	if d := sameSpans(inNamespace(standalone.spans(t), ns), both, time.Second+liveSlack); d != "" {
		t.Errorf("across the restart, Jaeger's spans differ from standalone kspan's: %s", d)
	}
	t.Logf("the Collector: %d spans of %s in two runs, each Event occurrence once, in Jaeger", len(both), ns)

	// A kill -9 with spans in the exporter's sending queue, on the storage:
	// nothing is lost. Jaeger is down during a third rollout (its spans
	// kept on disk), so the spans the receiver hands on wait in the queue;
	// once the receiver's checkpoint has recorded them (its storage file is
	// written after they were accepted), the Collector is killed and Jaeger
	// started again. Only the queue has those spans: the next run's
	// checkpoint says they were exported. What was delivered in the last
	// second before the kill may be sent again, under the same IDs.
	col.stop(t)
	col = startCollector(t, writeConfig(3, true))
	j.down(t)
	t0 := time.Now()
	updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.27" })
	waitDeployment(t, ns, "web")
	_, evs = waitSpans(t, standalone, ns)
	// The checkpoint is saved only when something was delivered since the
	// last save: a save after the last moment nothing was accepted yet (t0)
	// follows the first acceptance, and holds it.
	var accepted float64
	waitFor(t, 60*time.Second, "the receiver to hand on the third rollout's spans and its checkpoint to be saved after", func() (bool, string) {
		now := time.Now()
		// Run 3 relisted what runs 1 and 2 exported and skipped it: what
		// it accepts is the third rollout's.
		if accepted = metricSum(t, metricsPort, "otelcol_receiver_accepted_spans", `receiver="kspan"`); accepted == 0 {
			t0 = now
			return false, "no span accepted"
		}
		fi, err := receiverStorageFile(storage)
		if err != nil {
			return false, err.Error()
		}
		return fi.ModTime().After(t0), fmt.Sprintf("%v spans accepted; %s written %v, last seen none accepted %v", accepted, fi.Name(), fi.ModTime(), t0)
	})
	if err := col.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = col.cmd.Wait()
	j.up(t)
	startCollector(t, writeConfig(4, true))
	var all []span.Span
	waitFor(t, 60*time.Second, "Jaeger to hold every Event occurrence of the namespace after the kill", func() (bool, string) {
		all = j.traces(t, inNamespace(standalone.spans(t), ns))
		return noneLost(all, evs)
	})
	t.Logf("the Collector killed with %v spans queued: %d spans of %s in Jaeger, %d of them sent again", accepted, len(all), ns, len(all)-len(distinctSpans(all)))
}

// readSpansFile reads OTLP/JSON lines (the file exporter's format), as far
// as they are whole.
func readSpansFile(t *testing.T, path string) []span.Span {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []span.Span
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		_, spans, err := otlp.ParseJSON(line)
		if err != nil {
			continue // a line still being written
		}
		out = append(out, spans...)
	}
	return out
}

// metricSum adds up the samples of a metric that carry label on the
// Collector's Prometheus endpoint.
func metricSum(t *testing.T, port int, name, label string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	var sum float64
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, label) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			sum += v
		}
	}
	return sum
}

// receiverStorageFile is the file file_storage keeps the kspan receiver's
// client in (one file per component).
func receiverStorageFile(dir string) (os.FileInfo, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		if strings.HasPrefix(e.Name(), "receiver_kspan") {
			return e.Info()
		}
	}
	return nil, fmt.Errorf("no receiver_kspan file in %s: %v", dir, names)
}

// noneLost says whether spans hold every Event of evs up to its count and
// whether every copy of an occurrence (UID and count) is the same span:
// after a kill an occurrence may be sent twice, never under two IDs.
func noneLost(spans []span.Span, evs []*record.Event) (bool, string) {
	ids := map[string]span.ID{}
	spans = distinctSpans(spans)
	for _, s := range spans {
		if uid := s.Attr(span.KeyEventUID); uid != "" {
			k := fmt.Sprintf("%s/%d", uid, attrInt(s, span.KeyEventCount))
			if id, ok := ids[k]; ok && id != s.SpanID {
				return false, fmt.Sprintf("occurrence %s exported as two spans, %s and %s", k, id, s.SpanID)
			}
			ids[k] = s.SpanID
		}
	}
	return onceEach(spans, evs)
}

// distinctSpans keeps one of each span ID (a span sent twice is stored
// twice by Jaeger).
func distinctSpans(spans []span.Span) []span.Span {
	seen := map[span.ID]bool{}
	var out []span.Span
	for _, s := range spans {
		if !seen[s.SpanID] {
			seen[s.SpanID] = true
			out = append(out, s)
		}
	}
	return out
}

// onceEach says whether spans hold every Event of evs up to its count (as
// waitSpans counts) and no occurrence (UID and count) twice.
func onceEach(spans []span.Span, evs []*record.Event) (bool, string) {
	seen := map[string]int{}
	have := map[string]int64{}
	for _, s := range spans {
		if uid := s.Attr(span.KeyEventUID); uid != "" {
			n := attrInt(s, span.KeyEventCount)
			seen[fmt.Sprintf("%s/%d", uid, n)]++
			have[uid] = max(have[uid], n)
		}
	}
	for k, n := range seen {
		if n > 1 {
			return false, fmt.Sprintf("occurrence %s exported %d times", k, n)
		}
	}
	for _, ev := range evs {
		if have[ev.UID] < int64(min(ev.Count, 10)) {
			return false, fmt.Sprintf("%s.%s of %s (count %d) not exported", ev.Regarding.Kind, ev.Reason, ev.Regarding.Name, ev.Count)
		}
	}
	return true, ""
}

// liveSlack is how far apart two live processes may date the same span:
// an Event stamped to the whole second is dated within it by when each
// process observed it (see how-traces-are-built.md), and a rollout's
// outcome by when each saw the status that reported it.
const liveSlack = 250 * time.Millisecond

// sameSpans compares the spans two processes made of the same Events: the
// same trace and span IDs, parents, names, status, links and attributes
// (Jaeger may add its own), times within slack (and kspan.rollout.duration_ms likewise). It returns
// what differs, or "".
func sameSpans(want, got []span.Span, slack time.Duration) string {
	byID := map[span.ID]span.Span{}
	for _, s := range got {
		byID[s.SpanID] = s
	}
	var diffs []string
	near := func(a, b time.Time) bool { return a.Sub(b).Abs() <= slack }
	for _, w := range want {
		g, ok := byID[w.SpanID]
		switch {
		case !ok:
			diffs = append(diffs, "missing: "+structure(w))
			continue
		case g.TraceID != w.TraceID || g.Parent != w.Parent || g.Name != w.Name || g.Error != w.Error || g.StatusMessage != w.StatusMessage:
			diffs = append(diffs, fmt.Sprintf("%s, want %s", structure(g), structure(w)))
			continue
		case !near(g.Start, w.Start) || !near(g.End, w.End):
			diffs = append(diffs, fmt.Sprintf("times of %s: %v-%v, want %v-%v", structure(w), g.Start, g.End, w.Start, w.End))
		case len(g.Links) != len(w.Links):
			diffs = append(diffs, fmt.Sprintf("links of %s: %d, want %d", structure(w), len(g.Links), len(w.Links)))
		}
		wa, ga := w.AllAttrs(), g.AllAttrs()
		gm := map[string]span.Attr{}
		for _, a := range ga {
			gm[a.Key] = a
		}
		for _, a := range wa {
			b, ok := gm[a.Key]
			if a.Key == span.KeyRolloutDuration && ok && (b.Int-a.Int) <= slack.Milliseconds() && (a.Int-b.Int) <= slack.Milliseconds() {
				continue
			}
			if !ok || b != a {
				diffs = append(diffs, fmt.Sprintf("attribute %s of %s: %+v, want %+v", a.Key, structure(w), b, a))
			}
		}
	}
	if len(got) != len(want) {
		diffs = append(diffs, fmt.Sprintf("%d spans, want %d", len(got), len(want)))
	}
	if len(diffs) > 20 {
		diffs = append(diffs[:20], fmt.Sprintf("... %d more", len(diffs)-20))
	}
	return strings.Join(diffs, "\n")
}

// TestCollectorLeaderElection runs two Collectors whose kspan receivers
// hold one Lease (leader_election) and share one checkpoint
// (checkpoint_configmap): one watches and exports, the other stands by, so
// Jaeger gets every Event occurrence of a rollout once. Then the leader is
// stopped and the other takes over: it exports the next rollout and, from
// the shared checkpoint, nothing of the first again.
func TestCollectorLeaderElection(t *testing.T) {
	j := startJaeger(t, offsetCollectorHA, "memory")
	dir := t.TempDir()
	ns := namespace(t, "e2e-collector-ha")
	config := func(i int) string {
		cfg := fmt.Sprintf(`receivers:
  kspan:
    kubeconfig: %s
    hold: 2s
    linger: 3s
    cluster_name: e2e
    checkpoint_configmap: %s/kspan-receiver-checkpoint
    leader_election:
      namespace: %s
      name: kspan-receiver
      lease_duration: 6s
      renew_deadline: 4s
      retry_period: 1s
exporters:
  otlphttp:
    endpoint: %s
    tls:
      insecure: true
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [kspan]
      exporters: [otlphttp]
`, env.kubeconfig, ns, ns, j.httpURL())
		return writeFile(t, filepath.Join(dir, fmt.Sprintf("config-%d.yaml", i)), cfg)
	}
	standalone := startKspan(t)
	a := startCollectorProc(t, config(1))
	b := startCollectorProc(t, config(2))
	var leaders int
	waitFor(t, 60*time.Second, "one Collector to lead and watch, the other to stand by", func() (bool, string) {
		leaders = 0
		var logs []string
		for _, p := range []*collectorProc{a, b} {
			l, _ := os.ReadFile(p.log)
			if bytes.Contains(l, []byte("watching events")) {
				leaders++
			}
			logs = append(logs, string(tail(l, 5)))
		}
		return leaders == 1, strings.Join(logs, "\n---\n")
	})
	lease, err := env.client.CoordinationV1().Leases(ns).Get(context.Background(), "kspan-receiver", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("the Lease: %v", err)
	}
	if _, err := env.client.AppsV1().Deployments(ns).Create(context.Background(), newDeployment(ns, "web", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "web")
	_, evs := waitSpans(t, standalone, ns)
	waitFor(t, 60*time.Second, "Jaeger to hold every Event occurrence of the namespace once", func() (bool, string) {
		return onceEach(j.traces(t, inNamespace(standalone.spans(t), ns)), evs)
	})
	leading, standing := a, b
	if l, _ := os.ReadFile(b.log); bytes.Contains(l, []byte("watching events")) {
		leading, standing = b, a
	}
	// The leader stops (its receiver exports what it holds, saves the
	// checkpoint, releases the Lease); the other takes over, reads the
	// checkpoint and relists.
	leading.stop(t)
	waitFor(t, 60*time.Second, "the other Collector to take over", func() (bool, string) {
		l, _ := os.ReadFile(standing.log)
		return bytes.Contains(l, []byte("watching events")), string(tail(l, 5))
	})
	updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:1.26" })
	waitDeployment(t, ns, "web")
	_, evs = waitSpans(t, standalone, ns)
	waitFor(t, 60*time.Second, "Jaeger to hold every Event occurrence of the two rollouts once, from the two leaders", func() (bool, string) {
		return onceEach(j.traces(t, inNamespace(standalone.spans(t), ns)), evs)
	})
	if cm, err := env.client.CoreV1().ConfigMaps(ns).Get(context.Background(), "kspan-receiver-checkpoint", metav1.GetOptions{}); err != nil {
		t.Errorf("the shared checkpoint: %v", err)
	} else if len(cm.BinaryData) == 0 {
		t.Errorf("the shared checkpoint holds nothing")
	}
	for _, p := range []*collectorProc{a, b} {
		l, _ := os.ReadFile(p.log)
		if n := bytes.Count(l, []byte("watching events")); n > 1 {
			t.Errorf("a Collector started watching %d times:\n%s", n, tail(l, 20))
		}
	}
}

// writeFile writes text to path and returns path.
func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
