package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
	"github.com/kspan-project/kspan/internal/tree"
)

// hostile builds a kubectl watch stream (one JSON object per line) of
// malformed and hostile input, with the names of the Events that must get
// a span.
type hostile struct {
	buf  bytes.Buffer
	want map[string]bool // event name -> must have a span
	rv   int
}

var base = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func (h *hostile) line(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	h.buf.Write(b)
	h.buf.WriteByte('\n')
}

func (h *hostile) raw(s string) { h.buf.WriteString(s + "\n") }

func (h *hostile) object(kind, apiVersion, name, uid string, owner map[string]any) {
	md := map[string]any{"name": name, "namespace": "default", "uid": uid, "generation": 1,
		"creationTimestamp": base.Format(time.RFC3339)}
	if owner != nil {
		md["ownerReferences"] = []any{owner}
	}
	h.line(map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md})
}

func ownerRef(kind, apiVersion, name, uid string) map[string]any {
	return map[string]any{"kind": kind, "apiVersion": apiVersion, "name": name, "uid": uid, "controller": true}
}

func (h *hostile) event(name, uid string, kind, objName, objUID, reason, msg string, at time.Time, count int, mustSpan bool) {
	h.rv++
	h.line(map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata": map[string]any{"name": name, "namespace": "default", "uid": uid, "resourceVersion": fmt.Sprint(h.rv)},
		"involvedObject": map[string]any{"kind": kind, "name": objName, "namespace": "default", "uid": objUID,
			"apiVersion": "v1"},
		"reason": reason, "message": msg, "type": "Normal", "count": count,
		"firstTimestamp": at.Format(time.RFC3339), "lastTimestamp": at.Format(time.RFC3339),
		"source": map[string]any{"component": "kubelet"},
	})
	if mustSpan {
		h.want[name] = true
	}
}

// TestHostileInput replays owner-reference cycles, an owner chain
// thousands deep, a message of megabytes, kinds no cluster serves,
// timestamps centuries away, Events with fields missing, malformed lines,
// duplicate UIDs and an event storm on one object. The replay goes on: it
// names each line it skipped, exports a span for every valid Event, stays
// within its bounds and counts what they cut.
func TestHostileInput(t *testing.T) {
	h := &hostile{want: map[string]bool{}}
	t0 := base.Add(time.Minute)

	// An owner chain 3000 deep: rs-0 is owned by rs-1, ... by rs-2999.
	for i := range 3000 {
		var owner map[string]any
		if i < 2999 {
			owner = ownerRef("ReplicaSet", "apps/v1", fmt.Sprintf("rs-%d", i+1), fmt.Sprintf("rs-uid-%d", i+1))
		}
		h.object("ReplicaSet", "apps/v1", fmt.Sprintf("rs-%d", i), fmt.Sprintf("rs-uid-%d", i), owner)
	}
	h.object("Pod", "v1", "deep-pod", "deep-pod-uid", ownerRef("ReplicaSet", "apps/v1", "rs-0", "rs-uid-0"))
	h.event("deep", "ev-deep", "Pod", "deep-pod", "deep-pod-uid", "Started", "Started container c", t0, 1, true)

	// A cycle: a owns b, b owns a.
	h.object("Widget", "example.com/v1", "a", "cyc-a", ownerRef("Widget", "example.com/v1", "b", "cyc-b"))
	h.object("Widget", "example.com/v1", "b", "cyc-b", ownerRef("Widget", "example.com/v1", "a", "cyc-a"))
	h.event("cycle", "ev-cycle", "Widget", "a", "cyc-a", "Reconciled", "reconciled", t0, 1, true)

	// A message of 3 MB, and a kind nothing serves.
	h.event("huge", "ev-huge", "Pod", "p", "pod-p", "BackOff", strings.Repeat("ö", 1_500_000), t0, 1, true)
	h.event("alien", "ev-alien", "FluxCapacitor", "doc", "fc-1", "Charged", "1.21 gigawatts", t0, 1, true)

	// Timestamps centuries away; they must not hold the others back.
	h.event("future", "ev-future", "Pod", "p", "pod-p", "Pulled", "from the future", base.AddDate(900, 0, 0), 1, true)
	h.event("past", "ev-past", "Pod", "p", "pod-p", "Pulled", "from the past", time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC), 1, true)

	// Missing fields: no involved object (still a span), no uid, no kind
	// (skipped and named), and lines that are not JSON at all.
	h.line(map[string]any{"apiVersion": "v1", "kind": "Event", "reason": "Orphan", "message": "no object",
		"metadata":      map[string]any{"name": "orphan", "namespace": "default", "uid": "ev-orphan"},
		"lastTimestamp": t0.Format(time.RFC3339)})
	h.want["orphan"] = true
	h.line(map[string]any{"apiVersion": "v1", "kind": "Event", "reason": "NoUID", "metadata": map[string]any{"name": "nouid"}})
	h.line(map[string]any{"metadata": map[string]any{"name": "nokind", "uid": "x"}})
	h.raw(`{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "cut`)

	// Two different Events with one UID: the second is a duplicate.
	h.event("dup-1", "ev-dup", "Pod", "p", "pod-p", "Created", "first", t0, 1, true)
	h.event("dup-2", "ev-dup", "Pod", "p", "pod-p", "Created", "second", t0, 1, false)

	// A crash loop: one Event counted up to 500.
	for c := 1; c <= 500; c++ {
		h.event("storm", "ev-storm", "Pod", "p", "pod-p", "BackOff", "Back-off restarting failed container", t0.Add(time.Duration(c)*time.Second), c, c == 1)
	}
	// An ordinary Event after all that is still decided as usual.
	h.event("after", "ev-after", "Pod", "p", "pod-p", "Killing", "Stopping container c", t0.Add(10*time.Minute), 1, true)

	path := filepath.Join(t.TempDir(), "hostile.json")
	if err := os.WriteFile(path, h.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var c collect
	var txt bytes.Buffer
	tr := sink.NewTree(&txt, tree.Options{Width: 120})
	res, err := Run(context.Background(), Options{Files: []string{path}, Engine: correlate.Config{MaxDepth: 50, MaxRepeats: 10},
		Sink: sink.Fanout{&c, tr}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("drawing the traces: %v", err)
	}

	if len(res.Problems) != 3 {
		t.Errorf("%d problems, want 3 (no uid, no kind, a cut line): %v", len(res.Problems), res.Problems)
	}
	for _, p := range res.Problems {
		if !strings.Contains(p.Source, "hostile.json:") {
			t.Errorf("problem %q does not name its file and line", p.Source)
		}
	}
	got := map[string]int{}
	for _, s := range c.spans {
		if n := s.Attr(span.KeyEventName); n != "" {
			got[n]++
		}
		if m := s.Attr(span.KeyEventMessage); len(m) > correlate.MaxMessage {
			t.Errorf("%s: message of %d bytes exported", s.Name, len(m))
		}
	}
	for name := range h.want {
		if got[name] == 0 {
			t.Errorf("no span for event %s", name)
		}
	}
	st := res.Stats
	if got["storm"] != 10 || st.Suppressed != 490 {
		t.Errorf("storm: %d spans, %d suppressed; want 10 and 490", got["storm"], st.Suppressed)
	}
	if got["dup-2"] != 0 || st.Duplicates == 0 {
		t.Errorf("a second Event with the same UID: %d spans, %d duplicates counted", got["dup-2"], st.Duplicates)
	}
	if st.DeepChains == 0 || st.Cycles == 0 || st.Truncated != 1 {
		t.Errorf("deep chains cut %d, cycles cut %d, messages truncated %d; want each counted", st.DeepChains, st.Cycles, st.Truncated)
	}
	if bad := tracecheck.Check(c.spans, nil); len(bad) > 0 {
		t.Errorf("trace check:\n  %s", strings.Join(bad, "\n  "))
	}
	if !strings.Contains(txt.String(), "FluxCapacitor.Charged") {
		t.Errorf("the tree does not show the unknown kind's event:\n%s", txt.String())
	}
}
