package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// captureLines splits a capture into its header and its observation lines.
func captureLines(t *testing.T, path string) (header []byte, lines [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return all[0], all[1:]
}

func lineTime(t *testing.T, line []byte) time.Time {
	t.Helper()
	var l struct{ T time.Time }
	if err := json.Unmarshal(line, &l); err != nil {
		t.Fatal(err)
	}
	return l.T
}

func writeCapture(t *testing.T, name string, header []byte, lines [][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	data := append(append(slices.Clone(header), '\n'), bytes.Join(lines, []byte("\n"))...)
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func replayJSON(t *testing.T, files []string, window time.Duration) ([]byte, Result) {
	t.Helper()
	var js bytes.Buffer
	res, err := Run(context.Background(), Options{Files: files, Window: window, Engine: correlate.Config{},
		Sink: sink.NewJSON(&js, nil, otlp.Fixed([]span.Attr{span.Str(span.KeyServiceName, "kspan")})), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped > 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	return js.Bytes(), res
}

// A capture split into several files, or whose lines come out of order by
// less than the window, replays byte for byte as the capture does; with a
// window shorter than the disorder, the records that come too late are
// counted and still replayed.
func TestCaptureOrderedWithinWindow(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "live-capture", "capture.jsonl")
	header, lines := captureLines(t, src)
	want, res := replayJSON(t, []string{src}, 0)
	if res.OutOfWindow != 0 {
		t.Fatalf("the capture itself has %d records out of the window", res.OutOfWindow)
	}

	split := make([][][]byte, 3)
	for i, l := range lines {
		split[i%3] = append(split[i%3], l)
	}
	var files []string
	for i, part := range split {
		files = append(files, writeCapture(t, fmt.Sprintf("part%d.jsonl", i), header, part))
	}
	if got, _ := replayJSON(t, files, 0); !bytes.Equal(got, want) {
		t.Errorf("the capture split into three files replays differently")
	}

	// Each line moved by up to 20s of observation time: well inside the
	// default window of a minute.
	rng := rand.New(rand.NewPCG(3, 5))
	type keyed struct {
		at   time.Time
		line []byte
	}
	shuffled := make([]keyed, len(lines))
	for i, l := range lines {
		shuffled[i] = keyed{lineTime(t, l).Add(time.Duration(rng.Int64N(int64(20 * time.Second)))), l}
	}
	slices.SortStableFunc(shuffled, func(a, b keyed) int { return a.at.Compare(b.at) })
	var moved [][]byte
	displaced := 0
	for i, k := range shuffled {
		moved = append(moved, k.line)
		if !bytes.Equal(k.line, lines[i]) {
			displaced++
		}
	}
	if displaced < len(lines)/4 {
		t.Fatalf("only %d of %d lines moved", displaced, len(lines))
	}
	path := writeCapture(t, "shuffled.jsonl", header, moved)
	got, res := replayJSON(t, []string{path}, 0)
	if !bytes.Equal(got, want) {
		t.Errorf("the capture with lines out of order by less than the window replays differently")
	}
	if res.OutOfWindow != 0 {
		t.Errorf("%d records said to be out of the window", res.OutOfWindow)
	}

	_, short := replayJSON(t, []string{path}, time.Millisecond)
	if short.OutOfWindow == 0 {
		t.Errorf("a 1ms window over 20s of disorder: no record said to be out of it")
	}
	if short.Records != len(lines) {
		t.Errorf("replayed %d records of %d: out-of-window records must still be replayed", short.Records, len(lines))
	}
}

// The merger holds about a window of each capture, however long: memory
// does not grow with the input.
func TestMergerHoldsAWindow(t *testing.T) {
	var b strings.Builder
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b.WriteString(`{"kspan":"capture","version":1,"started":"2026-12-01T00:00:00Z"}` + "\n")
	const n = 20000 // one a second: five and a half hours
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		at := start.Add(time.Duration(i)*time.Second + time.Duration(rng.Int64N(int64(30*time.Second))))
		fmt.Fprintf(&b, `{"t":%q,"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c%d","namespace":"ns","uid":"u%d","resourceVersion":"%d"}}}`+"\n",
			at.Format(time.RFC3339Nano), i, i, i+1)
	}
	in := decode.Open(strings.NewReader(b.String()), "long.jsonl")
	m := newMerger([]*source{{}, {in: in}}, time.Minute)
	most, got := 0, 0
	var last time.Time
	for {
		r, ok := m.next(func(*source) {})
		if !ok {
			break
		}
		got++
		if r.Observed.Before(last) {
			t.Fatalf("record %d at %v released after one at %v", got, r.Observed, last)
		}
		last = r.Observed
		most = max(most, len(m.held))
	}
	if got != n || m.late != 0 {
		t.Fatalf("released %d of %d records, %d late", got, n, m.late)
	}
	// A minute of records one a second, plus the 30s of jitter.
	if most > 100 {
		t.Errorf("held up to %d records at once; a minute's window of one a second is about 90", most)
	}
}

// Standard input named twice is read once: the second "-" is empty, and a
// capture on it is not read by two readers at once.
func TestStdinNamedTwice(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "live-rolling-update", "capture.jsonl")
	want, _ := replayJSON(t, []string{src}, 0)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	res, err := Run(context.Background(), Options{Files: []string{"-", "-"}, Stdin: bytes.NewReader(data), Engine: correlate.Config{},
		Sink: sink.NewJSON(&js, nil, otlp.Fixed([]span.Attr{span.Str(span.KeyServiceName, "kspan")})), Log: slog.New(slog.DiscardHandler)})
	if err != nil || res.Skipped > 0 {
		t.Fatalf("%v, problems %v", err, res.Problems)
	}
	if !bytes.Equal(js.Bytes(), want) {
		t.Errorf("the capture on standard input, named twice, replays differently from the file")
	}
}
