package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
	"github.com/kspan-project/kspan/internal/tree"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

// captures are the recorded scenarios under testdata/, each one or more
// files replayed together.
func captures(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..", "testdata")
	out := map[string][]string{}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if !d.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(root, d.Name(), "*"))
		files = slices.DeleteFunc(files, func(f string) bool {
			return strings.HasSuffix(f, ".golden") || strings.HasSuffix(f, ".md")
		})
		if len(files) > 0 {
			out[d.Name()] = files
		}
	}
	if len(out) < 2 {
		t.Fatalf("found %d captures under %s", len(out), root)
	}
	return out
}

func replayTo(t *testing.T, files []string, out sink.Sink, cfg correlate.Config) Result {
	t.Helper()
	res, err := Run(context.Background(), Options{Files: files, Engine: cfg, Sink: out, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	return res
}

type collect struct{ spans []span.Span }

func (c *collect) Export(_ context.Context, s []span.Span) error {
	c.spans = append(c.spans, slices.Clone(s)...)
	return nil
}
func (c *collect) Close(context.Context) error { return nil }

func events(t *testing.T, files []string) []*record.Event {
	t.Helper()
	var evs []*record.Event
	for _, r := range readSorted(t, files) {
		if r.Event != nil {
			evs = append(evs, r.Event)
		}
	}
	return evs
}

func TestGoldenReplay(t *testing.T) {
	for name, files := range captures(t) {
		t.Run(name, func(t *testing.T) {
			var c collect
			var js bytes.Buffer
			replayTo(t, files, sink.Fanout{&c, sink.NewJSON(&js, nil, otlp.Fixed([]span.Attr{span.Str(span.KeyServiceName, "kspan")}))}, correlate.Config{})
			if bad := tracecheck.Check(c.spans, events(t, files)); len(bad) > 0 {
				t.Errorf("trace check:\n  %s", strings.Join(bad, "\n  "))
			}
			rep := tracecheck.Verify(c.spans, readSorted(t, files))
			t.Logf("causes: %d occurrences, %d checked, %d ambiguous, %d without a cause", rep.Occurrences, rep.Checked, rep.Ambiguous, rep.Uncaused)
			if len(rep.Violations) > 0 {
				t.Errorf("causal check (%d):\n  %s", len(rep.Violations), strings.Join(rep.Violations, "\n  "))
			}
			var txt bytes.Buffer
			if err := tree.RenderAll(&txt, c.spans, tree.Options{Width: 140}); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("..", "..", "testdata", name, "replay.tree.golden"), txt.Bytes())
			golden(t, filepath.Join("..", "..", "testdata", name, "replay.otlp.golden"), js.Bytes())

			// Files in another order: byte-identical output.
			rev := slices.Clone(files)
			slices.Reverse(rev)
			var js2 bytes.Buffer
			replayTo(t, rev, sink.NewJSON(&js2, nil, otlp.Fixed([]span.Attr{span.Str(span.KeyServiceName, "kspan")})), correlate.Config{})
			if !bytes.Equal(js.Bytes(), js2.Bytes()) {
				t.Errorf("files in reverse order give different output")
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/replay -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output; diff it with -update and git diff\n%s", path, got)
	}
}

// TestArrivalPermutations feeds each capture's records to the engine in
// shuffled orders, with a hold covering the disorder, and expects the same
// traces, IDs and parents as in timestamp order.
func TestArrivalPermutations(t *testing.T) {
	for name, files := range captures(t) {
		t.Run(name, func(t *testing.T) {
			recs := readSorted(t, files)
			want := canonical(feed(recs, correlate.Config{}))
			rng := rand.New(rand.NewPCG(7, 11))
			for i := range 20 {
				p := slices.Clone(recs)
				rng.Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
				if got := canonical(feed(p, correlate.Config{Hold: 24 * time.Hour})); got != want {
					t.Fatalf("arrival order %d gives different traces:\n--- timestamp order\n%s\n--- shuffled\n%s", i, want, got)
				}
			}
		})
	}
}

// TestStreamGivesTheSameTraces replays each capture with Config.Stream: the
// same traces, span IDs, parents and start times as whole-trace export,
// each span exported once, none stretched (a span ends no later than it
// does in the whole trace, a root at once or, a rollout's, at its outcome).
func TestStreamGivesTheSameTraces(t *testing.T) {
	for name, files := range captures(t) {
		t.Run(name, func(t *testing.T) {
			recs := readSorted(t, files)
			whole := feed(recs, correlate.Config{})
			streamed := feed(recs, correlate.Config{Stream: true})
			if a, b := canonical(whole), canonical(streamed); a != b {
				t.Fatalf("streamed traces differ:\n--- whole\n%s\n--- streamed\n%s", a, b)
			}
			ends := map[span.ID]time.Time{}
			for _, s := range whole {
				ends[s.SpanID] = s.End
			}
			seen := map[span.ID]bool{}
			for _, s := range streamed {
				if seen[s.SpanID] {
					t.Fatalf("span %s exported twice", s.SpanID)
				}
				seen[s.SpanID] = true
				if s.End.After(ends[s.SpanID]) {
					t.Errorf("%s ends at %v streamed, %v whole", s.Name, s.End, ends[s.SpanID])
				}
				if s.Attr(span.KeyEventUID) != "" {
					continue
				}
				// A root is an instant, a rollout's sent at its outcome
				// lasts until it.
				want := s.Start
				if d, ok := s.Find(span.KeyRolloutDuration); ok {
					want = s.Start.Add(time.Duration(d.Int) * time.Millisecond)
				}
				if d := s.End.Sub(want); d < 0 || d >= time.Millisecond { // the duration is in whole ms
					t.Errorf("streamed root %s (%s) ends at %v, want %v", s.Name, s.Attr(span.KeyRolloutOutcome), s.End, want)
				}
			}
		})
	}
}

// readSorted decodes the files' records in timestamp order.
func readSorted(t *testing.T, files []string) []record.Record {
	t.Helper()
	var recs []record.Record
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := decode.Read(fh, f)
		fh.Close()
		recs = append(recs, got...)
	}
	Sort(recs)
	return recs
}

func feed(recs []record.Record, cfg correlate.Config) []span.Span {
	var out []span.Span
	cfg.Out = correlate.ConsumerFunc(func(s []span.Span) error { out = append(out, s...); return nil })
	e := correlate.New(cfg)
	for _, r := range recs {
		e.Add(r, r.Observed)
	}
	e.Flush()
	return out
}

// canonical lists trace, span, parent, name and times, sorted. End times are
// left out: with a longer hold, traces are exported later and may cover more.
func canonical(spans []span.Span) string {
	lines := make([]string, len(spans))
	for i, s := range spans {
		lines[i] = s.TraceID.String() + " " + s.SpanID.String() + " <- " + s.Parent.String() + " " + s.Name + " " + s.Start.UTC().Format(time.RFC3339Nano)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestKspanV0DeletedPodDescendsFromScaleDown(t *testing.T) {
	var c collect
	replayTo(t, []string{filepath.Join("..", "..", "testdata", "kspan-v0", "deployment-2-pods.yaml")}, &c, correlate.Config{})
	byID := map[span.ID]span.Span{}
	var del span.Span
	for _, s := range c.spans {
		byID[s.SpanID] = s
		if s.Attr(span.KeyEventMessage) == "Deleted pod: px-7df978b9bf-jm22q" {
			del = s
		}
	}
	for p, ok := byID[del.Parent]; ok; p, ok = byID[p.Parent] {
		if p.Attr(span.KeyEventMessage) == "Scaled down replica set px-7df978b9bf to 1" {
			return
		}
	}
	t.Errorf("Deleted pod: px-7df978b9bf-jm22q does not descend from the scale-down")
}

// TestKubectlWatchStreamKeepsGenerationsApart replays the live run's capture
// turned into what `kubectl get -w -o json --output-watch-events` prints (no
// observation times): the Deployment's five spec changes, one of them a
// kubectl scale with no time in managedFields, are still five traces.
func TestKubectlWatchStreamKeepsGenerationsApart(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "live-capture", "capture.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	var uid string
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if i == 0 {
			continue // the capture header
		}
		var l struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace, Name, UID string
			} `json:"metadata"`
		}
		_ = json.Unmarshal(l.Object, &m)
		if m.Metadata.Namespace != "e2e-deploy" {
			continue
		}
		if m.Kind == "Deployment" {
			uid = m.Metadata.UID
		}
		fmt.Fprintf(&stream, "{\"type\":%q,\"object\":%s}\n", l.Type, l.Object)
	}
	path := filepath.Join(t.TempDir(), "watch.json")
	if err := os.WriteFile(path, stream.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var c collect
	replayTo(t, []string{path}, &c, correlate.Config{})
	if bad := tracecheck.Check(c.spans, events(t, []string{path})); len(bad) > 0 {
		t.Errorf("trace check:\n  %s", strings.Join(bad, "\n  "))
	}
	roots := map[span.TraceID]string{}
	for _, s := range c.spans {
		if s.Parent.IsZero() && s.Attr(span.KeyObjectUID) == uid {
			roots[s.TraceID] = s.Name
		}
	}
	for g := int64(1); g <= 5; g++ {
		if _, ok := roots[span.TraceIDFor(uid, g)]; !ok {
			t.Errorf("no trace for generation %d; roots: %v", g, roots)
		}
	}
}
