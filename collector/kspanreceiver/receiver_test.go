package kspanreceiver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/replay"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// goldens are the recorded scenarios the replay golden tests use (kspan's
// testdata/), each one or more files replayed together.
func goldens(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..", "testdata")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, d := range entries {
		files, _ := filepath.Glob(filepath.Join(root, d.Name(), "*"))
		files = slices.DeleteFunc(files, func(f string) bool {
			return strings.HasSuffix(f, ".golden") || strings.HasSuffix(f, ".md")
		})
		if d.IsDir() && len(files) > 0 {
			out[d.Name()] = files
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d captures under %s", len(out), root)
	}
	return out
}

// On every golden replay, the spans the receiver hands to the pipeline
// (its own sink, as ptrace) are standalone kspan's -o otlp-json spans: the
// same trace and span IDs, parents, names, times, status, attributes and
// links, under the same resources, with both service.name choices.
func TestSameSpansAsStandalone(t *testing.T) {
	total, replays := 0, 0
	defer func() { t.Logf("%d spans of %d replays compared", total, replays) }()
	for _, from := range []string{"fixed", "component"} {
		cfg := createDefaultConfig().(*Config)
		cfg.ClusterName, cfg.ServiceNameFrom = "golden", from
		for name, files := range goldens(t) {
			next := new(consumertest.TracesSink)
			r, err := newReceiver(receivertest.NewNopSettings(typeStr), cfg, next)
			if err != nil {
				t.Fatal(err)
			}
			var js bytes.Buffer
			standalone := sink.NewJSON(&js, nil, cfg.resource())
			if _, err := replay.Run(context.Background(), replay.Options{Files: files, Engine: r.engine,
				Sink: sink.Fanout{standalone, &consumerSink{r: r, res: cfg.resource()}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := parseLines(t, js.Bytes())
			total, replays = total+len(want), replays+1
			var got []resourced
			var m ptrace.JSONMarshaler
			for _, td := range next.AllTraces() {
				b, err := m.MarshalTraces(td)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, parseLines(t, append(b, '\n'))...)
			}
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%s): the receiver's %d spans differ from standalone kspan's %d%s", name, from, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

// resourced is a span with its resource's service.name.
type resourced struct {
	Service string
	Span    span.Span
}

func parseLines(t *testing.T, b []byte) []resourced {
	t.Helper()
	var out []resourced
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		// ParseJSON keeps the first resource's attributes: one request
		// per resource keeps each span's.
		for _, part := range splitResources(t, sc.Bytes()) {
			res, spans, err := otlp.ParseJSON(part)
			if err != nil {
				t.Fatal(err)
			}
			svc := ""
			for _, a := range res {
				if a.Key == span.KeyServiceName {
					svc = a.Str
				}
			}
			for _, s := range spans {
				s.Attrs = s.AllAttrs()
				s.Shared = nil
				out = append(out, resourced{svc, s})
			}
		}
	}
	return out
}

func firstDiff(got, want []resourced) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return "; first at " + got[i].Span.Name + ":\n got  " + spew(got[i]) + "\n want " + spew(want[i])
		}
	}
	return ""
}

func spew(r resourced) string {
	var b strings.Builder
	b.WriteString(r.Service + " " + r.Span.TraceID.String() + " " + r.Span.SpanID.String() + " " + r.Span.Name)
	return b.String()
}

// The receiver starts and shuts down as the Collector drives it; with a
// cluster it cannot reach it reports a fatal error rather than failing to
// start or hanging its shutdown.
func TestLifecycleWithoutCluster(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Kubeconfig = filepath.Join(t.TempDir(), "none")
	f := NewFactory()
	r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(typeStr), cfg, new(consumertest.TracesSink))
	if err != nil {
		t.Fatal(err)
	}
	host := &statusHost{Host: componenttest.NewNopHost(), events: make(chan error, 1)}
	if err := r.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	if err := <-host.events; err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Errorf("status: %v, want a fatal error naming the kubeconfig", err)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// memStorage is a storage extension whose client is a memClient.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	client *memClient
}

func (s *memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return s.client, nil
}

// With storage, the receiver reads the checkpoint from the extension's
// client when it starts to watch, and closes the client at shutdown.
func TestLifecycleWithStorage(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Kubeconfig = filepath.Join(t.TempDir(), "none")
	id := component.MustNewID("file_storage")
	cfg.Storage = &id
	st := &memStorage{client: &memClient{m: map[string][]byte{}}}
	r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(typeStr), cfg, new(consumertest.TracesSink))
	if err != nil {
		t.Fatal(err)
	}
	host := &statusHost{Host: extHost{componenttest.NewNopHost(), map[component.ID]component.Component{id: st}}, events: make(chan error, 1)}
	if err := r.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	if err := <-host.events; err == nil {
		t.Error("no fatal error for a cluster it cannot reach")
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if st.client.gets == 0 || st.client.closes != 1 {
		t.Errorf("the storage client: %d reads, closed %d times; want the checkpoint read and the client closed once", st.client.gets, st.client.closes)
	}
}

// extHost is a host with extensions.
type extHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h extHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// statusHost receives the receiver's status reports.
type statusHost struct {
	component.Host
	events chan error
}

func (h *statusHost) Report(ev *componentstatus.Event) {
	if ev.Status() == componentstatus.StatusFatalError {
		h.events <- ev.Err()
	}
}

// splitResources makes one request of each resourceSpans of line.
func splitResources(t *testing.T, line []byte) [][]byte {
	t.Helper()
	var req struct {
		ResourceSpans []json.RawMessage `json:"resourceSpans"`
	}
	if err := json.Unmarshal(line, &req); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	var out [][]byte
	for _, rs := range req.ResourceSpans {
		out = append(out, append(append([]byte(`{"resourceSpans":[`), rs...), "]}"...))
	}
	return out
}
