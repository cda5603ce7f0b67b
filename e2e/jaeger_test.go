package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

// Each Jaeger of these tests has its own ports (hack/jaeger.sh's
// PORT_OFFSET: OTLP gRPC 4317+offset, HTTP 4318+offset, query 16686+offset),
// clear of the default ones a developer's Jaeger or demo may hold.
const (
	offsetReplayGRPC = 3000
	offsetReplayHTTP = 3100
	offsetLive       = 3200
	offsetOutage     = 3300
)

// jaeger is one Jaeger v2 started by hack/jaeger.sh.
type jaeger struct {
	dir     string
	offset  int
	storage string // memory, or badger to keep spans across a restart
}

// startJaeger starts a Jaeger for the test and stops it at the end. A
// Jaeger that cannot start fails the test: never a skip.
func startJaeger(t *testing.T, offset int, storage string) *jaeger {
	t.Helper()
	j := &jaeger{dir: t.TempDir(), offset: offset, storage: storage}
	j.up(t)
	t.Cleanup(func() { j.down(t) })
	return j
}

func (j *jaeger) script(verb string) ([]byte, error) {
	cmd := exec.Command("bash", filepath.Join(env.root, "hack", "jaeger.sh"), verb, j.dir)
	cmd.Env = append(os.Environ(), "PORT_OFFSET="+strconv.Itoa(j.offset), "STORAGE="+j.storage)
	return cmd.CombinedOutput()
}

func (j *jaeger) up(t *testing.T) {
	t.Helper()
	if out, err := j.script("up"); err != nil {
		log, _ := os.ReadFile(filepath.Join(j.dir, "jaeger.log"))
		t.Fatalf("FAIL: Jaeger did not start (hack/jaeger.sh up, PORT_OFFSET=%d): %v\n%s\njaeger.log:\n%s",
			j.offset, err, out, tail(log, 40))
	}
}

func (j *jaeger) down(t *testing.T) {
	t.Helper()
	if out, err := j.script("down"); err != nil {
		t.Errorf("stopping Jaeger: %v\n%s", err, out)
	}
}

func (j *jaeger) grpcAddr() string { return fmt.Sprintf("127.0.0.1:%d", 4317+j.offset) }
func (j *jaeger) httpURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", 4318+j.offset) }
func (j *jaeger) queryURL() string { return fmt.Sprintf("http://127.0.0.1:%d", 16686+j.offset) }

// trace reads one trace back through the query API, whose
// /api/v3/traces/ID answers OTLP/JSON; nil when Jaeger has no such trace.
func (j *jaeger) trace(t *testing.T, id span.TraceID) []span.Span {
	t.Helper()
	resp, err := http.Get(j.queryURL() + "/api/v3/traces/" + id.String())
	if err != nil {
		t.Fatalf("Jaeger query API: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Jaeger query API: %s: %s", resp.Status, body)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("Jaeger query API answer: %v", err)
	}
	_, spans, err := otlp.ParseJSON(r.Result)
	if err != nil {
		t.Fatalf("Jaeger query API answer: %v", err)
	}
	return spans
}

// traces reads back every trace that the given spans belong to.
func (j *jaeger) traces(t *testing.T, spans []span.Span) []span.Span {
	t.Helper()
	seen := map[span.TraceID]bool{}
	var out []span.Span
	for _, s := range spans {
		if !seen[s.TraceID] {
			seen[s.TraceID] = true
			out = append(out, j.trace(t, s.TraceID)...)
		}
	}
	return out
}

// structure is what must survive the trip through Jaeger: IDs, parent,
// name, start (microseconds, the least any Jaeger storage keeps), status.
// The end is checked apart (endKept): Jaeger stores a start and a duration
// in microseconds, so an end comes back rounded by up to one microsecond.
func structure(s span.Span) string {
	return fmt.Sprintf("%s %s<-%s %s %d error=%v", s.TraceID, s.SpanID, s.Parent, s.Name,
		s.Start.UnixMicro(), s.Error)
}

// endKept reports whether got's end is want's, to the microsecond.
func endKept(want, got span.Span) bool {
	d := got.End.UnixMicro() - want.End.UnixMicro()
	return d >= -1 && d <= 1
}

// attrsKept reports the attributes of want that got lacks or changed.
func attrsKept(want, got span.Span) []string {
	have := map[string]span.Attr{}
	for _, a := range got.AllAttrs() {
		have[a.Key] = a
	}
	var bad []string
	for _, a := range want.AllAttrs() {
		if h, ok := have[a.Key]; !ok || h != a {
			bad = append(bad, fmt.Sprintf("%s: %+v, want %+v", a.Key, h, a))
		}
	}
	return bad
}

// diffSpans compares what kspan wrote to its -o otlp-json file with what
// Jaeger returned: the same spans, by structure and attributes, each once.
// It returns the differences, "" for none.
func diffSpans(file, got []span.Span) string {
	want := map[string]span.Span{}
	for _, s := range file {
		want[structure(s)] = s
	}
	var diff []string
	seen := map[string]bool{}
	for _, g := range got {
		k := structure(g)
		w, ok := want[k]
		switch {
		case !ok:
			diff = append(diff, "only in Jaeger: "+k)
		case seen[k]:
			diff = append(diff, "twice in Jaeger: "+k)
		default:
			if !endKept(w, g) {
				diff = append(diff, fmt.Sprintf("end of %s: %d µs, want %d", k, g.End.UnixMicro(), w.End.UnixMicro()))
			}
			for _, b := range attrsKept(w, g) {
				diff = append(diff, "attribute of "+k+": "+b)
			}
		}
		seen[k] = true
	}
	for k := range want {
		if !seen[k] {
			diff = append(diff, "not in Jaeger: "+k)
		}
	}
	slices.Sort(diff)
	return strings.Join(diff, "\n")
}

// exportFigures are the exporter's counters, from kspan's last log line
// "otlp export stopped" (-log-format json).
type exportFigures struct {
	Sent             int `json:"sent"`
	Requests         int `json:"requests"`
	Retried          int `json:"retried"`
	Dropped          int `json:"dropped"`
	DroppedQueueFull int `json:"dropped_queue_full"`
	DroppedRejected  int `json:"dropped_rejected"`
	DroppedShutdown  int `json:"dropped_shutdown"`
}

func readExportFigures(t *testing.T, log string) exportFigures {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
			exportFigures
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "otlp export stopped" {
			return line.exportFigures
		}
	}
	t.Fatalf("kspan logged no export figures; log:\n%s", tail(b, 40))
	return exportFigures{}
}

// logHas reports whether kspan's log holds a message.
func logHas(p *kspanProc, msg string) bool {
	b, _ := os.ReadFile(p.log)
	return bytes.Contains(b, []byte(`"msg":"`+msg))
}

// replayInputs are every recorded capture under testdata.
func replayInputs(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"live-*/*.json", "real-cluster/*.json", "kspan-v0/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(env.root, "testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d captures under testdata", len(files))
	}
	return files
}

// TestJaegerReplay replays every recorded capture to Jaeger over each
// protocol, with the -o otlp-json file beside it, and reads the traces back:
// the same spans, parents, names, times and attributes as the file.
func TestJaegerReplay(t *testing.T) {
	files := replayInputs(t)
	for _, c := range []struct {
		name   string
		offset int
		args   func(*jaeger) []string
	}{
		{"grpc", offsetReplayGRPC, func(j *jaeger) []string {
			return []string{"-otlp-protocol", "grpc", "-otlp-endpoint", j.grpcAddr(), "-otlp-insecure"}
		}},
		{"http", offsetReplayHTTP, func(j *jaeger) []string {
			// -stream: each trace reaches Jaeger in several batches; each
			// span under its reporting component as service.name.
			return []string{"-otlp-endpoint", j.httpURL(), "-otlp-compression", "gzip", "-stream", "-service-name-from", "component"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := startJaeger(t, c.offset, "memory")
			out := filepath.Join(t.TempDir(), "traces.jsonl")
			args := append([]string{"replay", "-o", "otlp-json", "-output-file", out, "-cluster-name", "e2e",
				"-log-format", "json", "-otlp-batch-size", "50"}, c.args(j)...)
			b, err := exec.Command(env.kspan, append(args, files...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("kspan replay: %v\n%s", err, tail(b, 30))
			}
			log := filepath.Join(t.TempDir(), "kspan.log")
			if err := os.WriteFile(log, b, 0o644); err != nil {
				t.Fatal(err)
			}
			want := readOTLP(t, out)
			if len(want) < 200 {
				t.Fatalf("the replay exported only %d spans", len(want))
			}
			fig := readExportFigures(t, log)
			if fig.Sent != len(want) || fig.Dropped != 0 || fig.Requests < len(want)/50 {
				t.Fatalf("exporter figures %+v for %d spans", fig, len(want))
			}
			var got []span.Span
			waitFor(t, 30*time.Second, "Jaeger to hold every span of the file", func() (bool, string) {
				got = j.traces(t, want)
				d := diffSpans(want, got)
				return d == "", d
			})
			ts := newTraceSet(t, got)
			ts.check(nil)
			byComponent := slices.Contains(args, "component")
			checkServices(t, j, want, byComponent)
			t.Logf("%s: %d spans in %d requests read back from Jaeger as written to the file", c.name, fig.Sent, fig.Requests)
		})
	}
}

// TestJaegerLive runs kspan against the cluster, exporting over gRPC to
// Jaeger beside its file with -stream (as the Helm chart deploys it: each
// span sent once decided), while a Deployment
// is created and scaled in its own namespace; the namespace's traces read
// back from Jaeger are the file's and pass the structural checks.
func TestJaegerLive(t *testing.T) {
	j := startJaeger(t, offsetLive, "memory")
	p := startKspan(t, "-otlp-protocol", "grpc", "-otlp-endpoint", j.grpcAddr(), "-otlp-insecure", "-log-format", "json",
		"-stream")
	ns := namespace(t, "e2e-jaeger-live")
	ctx := context.Background()
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, newDeployment(ns, "web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "web")
	updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(5)) })
	waitDeployment(t, ns, "web")
	_, evs := waitSpans(t, p, ns)

	var file, got []span.Span
	waitFor(t, 30*time.Second, "Jaeger to hold the namespace's traces", func() (bool, string) {
		file = inNamespace(p.spans(t), ns)
		if bad := tracecheck.Check(file, nil); len(bad) > 0 {
			return false, "the file's traces are not whole yet: " + bad[0]
		}
		got = j.traces(t, file)
		d := diffSpans(file, got)
		return d == "", d
	})
	newTraceSet(t, got).check(evs)
	p.stop(t)
	fig := readExportFigures(t, p.log)
	if fig.Dropped != 0 || fig.Sent < len(file) {
		t.Errorf("exporter figures %+v; the namespace alone has %d spans", fig, len(file))
	}
	t.Logf("live over gRPC: %d spans of %s read back from Jaeger; exporter sent %d in %d requests",
		len(got), ns, fig.Sent, fig.Requests)
}

// TestJaegerOutage stops Jaeger for 30 seconds in the middle of a burst of
// events: the exporter keeps what fits in its queue (100 spans) and retries,
// drops and counts the rest, and once Jaeger is back delivers what it kept.
// Jaeger keeps spans on disk (badger), so what was sent before the outage
// is still there: Jaeger must then hold exactly the spans the exporter
// counted as sent, all of them from the file, each once, and the counts
// must add up to every span the engine exported.
func TestJaegerOutage(t *testing.T) {
	const queue, outage = 100, 30 * time.Second
	j := startJaeger(t, offsetOutage, "badger")
	p := startKspan(t, "-otlp-endpoint", j.httpURL(), "-otlp-queue-size", strconv.Itoa(queue),
		"-otlp-batch-size", "20", "-log-format", "json")
	ns := namespace(t, "e2e-jaeger-outage")
	ctx := context.Background()

	// Before: a one-pod Deployment, exported while Jaeger is up.
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, newDeployment(ns, "before", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "before")
	waitSpans(t, p, ns)
	waitFor(t, 30*time.Second, "Jaeger to hold the spans before the outage", func() (bool, string) {
		file := inNamespace(p.spans(t), ns)
		d := diffSpans(file, j.traces(t, file))
		return d == "", d
	})

	// The outage: Jaeger down for 30s while a 30-pod Deployment starts.
	j.down(t)
	down := time.Now()
	fault := time.NewTimer(outage)
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, newDeployment(ns, "burst", 30), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "burst")
	waitSpans(t, p, ns)
	waitFor(t, outage, "the exporter to retry and to drop what does not fit", func() (bool, string) {
		return logHas(p, "otlp export failed") && logHas(p, "otlp export queue full"), "no retry or queue-full warning in the log"
	})
	if d := time.Since(down); d > outage {
		t.Logf("the burst took %v to be exported: the outage lasts that long", d.Round(time.Second))
	}
	<-fault.C // the fault's length, not a wait for a condition
	j.up(t)
	up := time.Now()
	t.Logf("Jaeger was down for %v", up.Sub(down).Round(100*time.Millisecond))
	waitFor(t, 60*time.Second, "the exporter to recover", func() (bool, string) {
		return logHas(p, "otlp export recovered"), "no recovery in the log"
	})
	p.stop(t)

	fig := readExportFigures(t, p.log)
	all := p.spans(t)
	var got []span.Span
	waitFor(t, 30*time.Second, "Jaeger to hold every span the exporter sent", func() (bool, string) {
		got = j.traces(t, all)
		return len(got) >= fig.Sent, fmt.Sprintf("%d of the %d spans sent", len(got), fig.Sent)
	})
	burst := 0
	for _, s := range got {
		if s.Attr(span.KeyNamespace) == ns && !s.Start.Before(down) {
			burst++
		}
	}
	t.Logf("outage figures: the engine exported %d spans; the exporter sent %d in %d requests, retried %d requests, "+
		"dropped %d (queue full %d, rejected %d, unsent at shutdown %d); Jaeger holds %d, %d of them from the burst",
		len(all), fig.Sent, fig.Requests, fig.Retried, fig.Dropped, fig.DroppedQueueFull, fig.DroppedRejected,
		fig.DroppedShutdown, len(got), burst)

	if fig.Sent+fig.Dropped != len(all) {
		t.Errorf("sent %d + dropped %d != %d spans exported by the engine", fig.Sent, fig.Dropped, len(all))
	}
	if fig.Retried == 0 || fig.DroppedQueueFull == 0 || fig.DroppedRejected != 0 || fig.DroppedShutdown != 0 {
		t.Errorf("want retries and queue-full drops only: %+v", fig)
	}
	if len(got) != fig.Sent {
		t.Errorf("Jaeger holds %d spans, the exporter sent %d", len(got), fig.Sent)
	}
	// Everything in Jaeger is in the file, once, unchanged.
	var missing int
	for _, l := range strings.Split(diffSpans(all, got), "\n") {
		if strings.HasPrefix(l, "not in Jaeger: ") {
			missing++
		} else if l != "" {
			t.Errorf("%s", l)
		}
	}
	if missing != fig.Dropped {
		t.Errorf("%d spans of the file are not in Jaeger; %d were counted as dropped", missing, fig.Dropped)
	}
	// What the queue held through the outage arrived (the counts above say
	// it was all of it); the queue was full, so that is most of a queue.
	if burst < queue/2 {
		t.Errorf("only %d spans of the burst reached Jaeger; the queue holds %d", burst, queue)
	}
}

// checkServices compares the services Jaeger lists with what the spans
// were sent under: kspan alone, or with byComponent kspan (for the roots)
// and every reporting component among the spans.
func checkServices(t *testing.T, j *jaeger, spans []span.Span, byComponent bool) {
	t.Helper()
	want := []string{"kspan"}
	if byComponent {
		for _, s := range spans {
			if c := s.Attr(span.KeyEventComponent); c != "" && !slices.Contains(want, c) {
				want = append(want, c)
			}
		}
		if len(want) < 4 {
			t.Fatalf("only %d reporting components among %d spans: %v", len(want)-1, len(spans), want)
		}
	}
	slices.Sort(want)
	resp, err := http.Get(j.queryURL() + "/api/v3/services")
	if err != nil {
		t.Fatalf("Jaeger services: %v", err)
	}
	defer resp.Body.Close()
	var got struct{ Services []string }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Jaeger services: %s, %v", resp.Status, err)
	}
	slices.Sort(got.Services)
	if !slices.Equal(got.Services, want) {
		t.Errorf("Jaeger lists services %q, want %q", got.Services, want)
	}
}

// search returns the spans of the traces Jaeger finds for service that
// started after since (the query API's FindTraces, at most 1000 traces).
func (j *jaeger) search(t *testing.T, service string, since time.Time) []span.Span {
	t.Helper()
	q := url.Values{}
	q.Set("query.service_name", service)
	q.Set("query.start_time_min", since.UTC().Format(time.RFC3339Nano))
	q.Set("query.start_time_max", time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
	q.Set("query.search_depth", "1000")
	resp, err := http.Get(j.queryURL() + "/api/v3/traces?" + q.Encode())
	if err != nil {
		t.Fatalf("Jaeger query API: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	dec := json.NewDecoder(resp.Body)
	var out []span.Span
	for {
		var r struct {
			Result json.RawMessage `json:"result"`
		}
		if err := dec.Decode(&r); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("Jaeger query API answer: %v", err)
		}
		if len(r.Result) == 0 {
			continue
		}
		for _, part := range splitResourceSpans(t, r.Result) {
			_, spans, err := otlp.ParseJSON(part)
			if err != nil {
				t.Fatalf("Jaeger query API answer: %v", err)
			}
			out = append(out, spans...)
		}
	}
}

// splitResourceSpans makes one request of each resourceSpans of b (ParseJSON
// reads every resource's spans; this keeps the same for any layout).
func splitResourceSpans(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var req struct {
		ResourceSpans []json.RawMessage `json:"resourceSpans"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var out [][]byte
	for _, rs := range req.ResourceSpans {
		out = append(out, append(append([]byte(`{"resourceSpans":[`), rs...), "]}"...))
	}
	return out
}
