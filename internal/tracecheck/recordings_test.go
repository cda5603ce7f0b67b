package tracecheck

import (
	"bufio"
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// readRecording decodes a testdata folder's recording into records in
// observation order (objects read without a time first).
func readRecording(t *testing.T, dir string) []record.Record {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var recs []record.Record
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") || strings.HasSuffix(f, ".md") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := decode.Read(fh, f)
		fh.Close()
		recs = append(recs, got...)
	}
	at := func(r record.Record) int64 {
		if r.Inferred || (r.Object != nil && r.Observed.IsZero()) {
			return 0
		}
		return r.Observed.UnixNano()
	}
	rank := func(r record.Record) int {
		if r.Object != nil {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(recs, func(a, b record.Record) int {
		if c := cmp.Compare(at(a), at(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		if a.Event != nil {
			if c := cmp.Compare(parseRV(a.Event.ResourceVersion), parseRV(b.Event.ResourceVersion)); c != 0 {
				return c
			}
			return cmp.Compare(a.Event.Count, b.Event.Count)
		}
		return cmp.Compare(parseRV(a.Object.ResourceVersion), parseRV(b.Object.ResourceVersion))
	})
	return recs
}

// readSpans reads OTLP/JSON lines (the replay goldens).
func readSpans(t *testing.T, path string) []span.Span {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []span.Span
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		_, spans, err := otlp.ParseJSON(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, spans...)
	}
	return out
}

// TestRecordings judges the committed replay goldens of every testdata
// folder (or the OTLP/JSON file KSPAN_TRACECHECK_SPANS names, for the one
// folder KSPAN_TRACECHECK_DIR names; KSPAN_TRACECHECK_GOLDENS names another
// folder holding the goldens, such as an older commit's). The engine is not yet right, so this
// only logs what it finds unless KSPAN_TRACECHECK_STRICT is set.
func TestRecordings(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*"))
	if d := os.Getenv("KSPAN_TRACECHECK_DIR"); d != "" {
		dirs = []string{d}
	}
	for _, dir := range dirs {
		golden := filepath.Join(dir, "replay.otlp.golden")
		if g := os.Getenv("KSPAN_TRACECHECK_GOLDENS"); g != "" {
			golden = filepath.Join(g, filepath.Base(dir), "replay.otlp.golden")
		}
		if f := os.Getenv("KSPAN_TRACECHECK_SPANS"); f != "" {
			golden = f
		}
		if _, err := os.Stat(golden); err != nil {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rep := Verify(readSpans(t, golden), readRecording(t, dir))
			t.Logf("%d occurrences: %d checked, %d ambiguous, %d uncaused, %d unanchored, %d unrecorded; %d violations",
				rep.Occurrences, rep.Checked, rep.Ambiguous, rep.Uncaused, rep.Unanchored, rep.Unrecorded, len(rep.Violations))
			for _, l := range rep.Violations {
				t.Log(l)
			}
			if os.Getenv("KSPAN_TRACECHECK_STRICT") != "" && len(rep.Violations) > 0 {
				t.Fail()
			}
		})
	}
}
