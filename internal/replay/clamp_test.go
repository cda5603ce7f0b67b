package replay

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tree"
)

// TestTimesOutOfRange replays Events dated where OTLP cannot go: every
// output shows the same clamped times (none overflowed or unset), the
// spans are counted, and the warning comes once.
func TestTimesOutOfRange(t *testing.T) {
	h := &hostile{want: map[string]bool{}}
	years := []int{1, 1677, 1969, 2262, 2300, 9999}
	for i, y := range years {
		at := time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC)
		h.event(fmt.Sprintf("y%d", y), fmt.Sprintf("ev-%d", i), "Pod", fmt.Sprintf("p%d", i), fmt.Sprintf("pod-%d", i), "Pulled", "an odd date", at, 1, true)
	}
	h.event("now", "ev-now", "Pod", "q", "pod-q", "Pulled", "today", base, 1, true)
	path := filepath.Join(t.TempDir(), "dates.json")
	if err := os.WriteFile(path, h.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var js, txt, logs bytes.Buffer
	var c collect
	out := sink.Fanout{&c, sink.NewJSON(&js, nil, otlp.Resource{}), sink.NewTree(&txt, tree.Options{Width: 100})}
	res, err := Run(context.Background(), Options{Files: []string{path}, Engine: correlate.Defaults, Sink: out,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	clamped := 0
	for _, s := range c.spans {
		for _, tm := range []time.Time{s.Start, s.End} {
			if tm.Before(span.MinTime) || tm.After(span.MaxTime) {
				t.Errorf("%s: %v reached an output", s.Name, tm)
			}
		}
		if s.Attr(span.KeyClampedStart) != "" || s.Attr(span.KeyClampedEnd) != "" {
			clamped++
		}
	}
	if clamped == 0 || uint64(clamped) != res.ClampedTimes {
		t.Errorf("%d spans say they were clamped, %d counted; want the same, not 0", clamped, res.ClampedTimes)
	}
	if n := strings.Count(logs.String(), "outside what OTLP can carry"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	for line := range strings.Lines(js.String()) {
		_, spans, err := otlp.ParseJSON([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			if s.Start.IsZero() || s.End.IsZero() || s.Start.Before(span.MinTime) || s.End.After(span.MaxTime) {
				t.Errorf("OTLP/JSON %s: %v to %v", s.Name, s.Start, s.End)
			}
		}
	}
	if strings.Contains(txt.String(), "1677") || strings.Contains(txt.String(), "9999-") {
		t.Errorf("the tree shows unclamped dates:\n%s", txt.String())
	}
}
