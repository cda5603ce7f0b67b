package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// kspanFlags are the engine settings of the live run and of the replay of
// its capture: a short hold and linger keep the tests quick.
var kspanFlags = []string{"-hold", "2s", "-linger", "3s", "-cluster-name", "e2e"}

// kspanProc is a kspan process watching the test cluster.
type kspanProc struct {
	cmd     *exec.Cmd
	out     string // OTLP/JSON output
	capture string
	log     string
}

// startKspan starts kspan with the suite's flags and any extra ones.
func startKspan(t *testing.T, extra ...string) *kspanProc {
	t.Helper()
	dir := t.TempDir()
	p := &kspanProc{out: filepath.Join(dir, "traces.jsonl"), capture: filepath.Join(dir, "capture.jsonl"), log: filepath.Join(dir, "kspan.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-kubeconfig", env.kubeconfig, "-o", "otlp-json", "-output-file", p.out,
		"-capture", p.capture, "-log-level", "debug", "-metrics-addr", "127.0.0.1:0"}, kspanFlags...)
	args = append(args, extra...)
	p.cmd = exec.Command(env.kspan, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil { // not stopped by the test
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	// Ready once it says it watches events.
	waitFor(t, 60*time.Second, "kspan to start watching", func() (bool, string) {
		b, _ := os.ReadFile(p.log)
		return bytes.Contains(b, []byte("watching events")), string(b)
	})
	return p
}

// stop sends SIGTERM and waits: kspan flushes what it holds and exits 0.
func (p *kspanProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(p.log)
			t.Fatalf("kspan exited with %v; log:\n%s", err, tail(b, 60))
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("kspan did not stop within 30s of SIGTERM")
	}
}

// spans reads every complete line of the output.
func (p *kspanProc) spans(t *testing.T) []span.Span {
	t.Helper()
	return readOTLP(t, p.out)
}

func readOTLP(t *testing.T, path string) []span.Span {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	lines = lines[:len(lines)-1] // the last is empty or still being written
	var all []span.Span
	for i, line := range lines {
		_, spans, err := otlp.ParseJSON(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		all = append(all, spans...)
	}
	return all
}

// inNamespace keeps the spans of traces that have a span in ns.
func inNamespace(spans []span.Span, ns string) []span.Span {
	traces := map[span.TraceID]bool{}
	for _, s := range spans {
		if s.Attr(span.KeyNamespace) == ns {
			traces[s.TraceID] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(spans), func(s span.Span) bool { return !traces[s.TraceID] })
}

// apiEvents lists the Events the apiserver holds in ns, as records.
func apiEvents(t *testing.T, ns string) []*record.Event {
	t.Helper()
	l, err := env.client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*record.Event, 0, len(l.Items))
	for i := range l.Items {
		e := &l.Items[i]
		c := e.Count
		if e.Series != nil {
			c = e.Series.Count
		}
		if c < 1 {
			c = 1
		}
		out = append(out, &record.Event{UID: string(e.UID), Reason: e.Reason, Message: e.Message, Count: c,
			Regarding: record.Ref{Kind: e.InvolvedObject.Kind, Name: e.InvolvedObject.Name}})
	}
	return out
}

// waitSpans waits until every Event the apiserver holds in ns has a span
// for its latest count, and returns the namespace's traces.
func waitSpans(t *testing.T, p *kspanProc, ns string) ([]span.Span, []*record.Event) {
	t.Helper()
	var spans []span.Span
	var evs []*record.Event
	waitFor(t, 90*time.Second, "a span for every event in "+ns, func() (bool, string) {
		spans = inNamespace(p.spans(t), ns)
		evs = apiEvents(t, ns)
		have := map[string]int64{}
		for _, s := range spans {
			if u := s.Attr(span.KeyEventUID); u != "" {
				have[u] = max(have[u], attrInt(s, span.KeyEventCount))
			}
		}
		var missing []string
		for _, e := range evs {
			if have[e.UID] < int64(min(e.Count, 10)) {
				missing = append(missing, fmt.Sprintf("%s.%s %q (count %d)", e.Regarding.Kind, e.Reason, e.Message, e.Count))
			}
		}
		return len(missing) == 0, strings.Join(missing, "\n")
	})
	return spans, evs
}

func attrInt(s span.Span, k string) int64 {
	a, _ := s.Find(k)
	return a.Int
}

// waitFor polls cond until it holds or the deadline passes; cond returns a
// description of what it saw, shown on failure.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last seen:\n%s", d, what, tail([]byte(seen), 40))
		}
		<-tick.C
	}
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// namespace creates a namespace for one test; it is deleted at the end.
func namespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the default service account in "+name, func() (bool, string) {
		_, err := env.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	return name
}
