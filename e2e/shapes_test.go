package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/replay"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

// shape is one workload shape of TestShapes: a scenario in its own
// namespace, recorded (KSPAN_E2E_RECORD=dir) as dir/<folder>/capture.jsonl.
type shape struct {
	ns, folder string
	run        func(*shapeRun)
}

var shapes = []shape{
	{"shape-rolling", "live-rolling-update", testRollingUpdate},
	{"shape-sts-recreate", "live-sts-recreate", testStatefulSetRecreate},
	{"shape-pod-recreate", "live-pod-recreate", testBarePodRecreate},
	{"shape-undo", "live-rollout-undo", testRolloutUndo},
	{"shape-pause", "live-pause-resume", testPauseResume},
	{"shape-scale", "live-scale-during-rollout", testScaleDuringRollout},
	{"shape-sts-partition", "live-sts-partition", testStatefulSetPartition},
	{"shape-sts-ondelete", "live-sts-ondelete", testStatefulSetOnDelete},
	{"shape-ds-update", "live-daemonset-update", testDaemonSetUpdate},
	{"shape-cron-delete", "live-cronjob-deleted", testCronJobDeleted},
	{"shape-cron-forbid", "live-cronjob-forbid", testCronJobForbid},
	{"shape-cron-replace", "live-cronjob-replace", testCronJobReplace},
	{"shape-unsched-gap", "live-unschedulable-gap", testUnschedulableGap},
	{"shape-evict", "live-node-evictions", testNodeEvictions},
	{"shape-cascade", "live-delete-cascades", testDeleteCascades},
	{"shape-ns-delete", "live-namespace-deleted", testNamespaceDeleted},
	{"shape-crash", "live-crash-loop", testCrashLoop},
	{"shape-backoff", "live-job-backoff-limit", testJobBackoffLimit},
}

// shapeWindow is the dedicated kspan's -window: short, so that a scenario
// can outlast it (testUnschedulableGap).
const shapeWindow = "20s"

// TestShapes runs workload shapes that stress how causes are found (rolling
// updates in several steps, objects recreated under one name, rollbacks,
// paused rollouts, CronJob concurrency, quiet gaps longer than the window)
// against a kspan of their own, in parallel, each in its own namespace.
func TestShapes(t *testing.T) {
	p := startKspan(t, "-window", shapeWindow)
	top := t
	var mu sync.Mutex
	logs := map[string]*objLog{}
	t.Run("scenarios", func(t *testing.T) {
		for _, sh := range shapes {
			t.Run(sh.folder, func(t *testing.T) {
				t.Parallel()
				r := &shapeRun{T: t, p: p, ns: namespace(t, sh.ns), log: watchNamespace(t, top, sh.ns)}
				mu.Lock()
				logs[sh.ns] = r.log
				mu.Unlock()
				sh.run(r)
			})
		}
	})
	t.Run("rollout-metrics", func(t *testing.T) { rolloutMetrics(t, p) })
	p.stop(t)
	t.Run("final-output", func(t *testing.T) {
		for _, sh := range shapes {
			if l := logs[sh.ns]; l != nil {
				finalOutput(t, sh.ns, inNamespace(p.spans(t), sh.ns), l.occurrences())
			}
		}
	})
	t.Run("capture-replays-to-the-same-traces", func(t *testing.T) { shapesReplaySame(t, p) })
	if dir := os.Getenv("KSPAN_E2E_RECORD"); dir != "" {
		for _, sh := range shapes {
			b := captureSlice(t, p.capture, sh.ns)
			out := filepath.Join(dir, sh.folder)
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, "capture.jsonl"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// finalOutput checks a namespace's spans in kspan's whole output, once it
// has flushed everything: each is of an occurrence the test saw, and the
// structural checks hold (nothing was exported twice, late or wrong after
// the scenario's own checks).
func finalOutput(t *testing.T, ns string, spans []span.Span, occs []occurrence) {
	seen := map[string]bool{}
	evs := make([]*record.Event, 0, len(occs))
	for _, o := range occs {
		seen[fmt.Sprintf("%s/%d", o.UID, o.Count)] = true
		evs = append(evs, &record.Event{UID: o.UID, Reason: o.Reason, Message: o.Message, Type: o.Type, Count: o.Count, Regarding: o.Object})
	}
	var bad []string
	for _, s := range spans {
		if u := s.Attr(span.KeyEventUID); u != "" && !seen[fmt.Sprintf("%s/%d", u, attrInt(s, span.KeyEventCount))] {
			bad = append(bad, "a span for an occurrence the test never saw: "+describe(s))
		}
	}
	bad = append(bad, tracecheck.Check(spans, evs)...)
	if len(bad) > 0 {
		t.Errorf("%s, kspan's final output:\n  %s", ns, strings.Join(bad, "\n  "))
	}
}

// shapeRun is one running scenario.
type shapeRun struct {
	*testing.T
	p   *kspanProc
	ns  string
	log *objLog
}

// captureSlice is the capture's header line and the complete lines whose
// object is in namespace ns or is cluster-scoped (Nodes).
func captureSlice(t *testing.T, path, ns string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for i, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			break // still being written
		}
		if i > 0 {
			var l struct {
				Object struct {
					Metadata struct {
						Namespace string `json:"namespace"`
					} `json:"metadata"`
				} `json:"object"`
			}
			if err := json.Unmarshal(line, &l); err != nil {
				t.Fatalf("%s:%d: %v", path, i+1, err)
			}
			if n := l.Object.Metadata.Namespace; n != "" && n != ns {
				continue
			}
		}
		out.Write(line)
	}
	return out.Bytes()
}

// records decodes the scenario's slice of the running kspan's capture.
func (r *shapeRun) records() []record.Record {
	r.Helper()
	recs, probs := decode.Read(bytes.NewReader(captureSlice(r.T, r.p.capture, r.ns)), r.ns+".capture")
	if len(probs) > 0 {
		r.Fatalf("decoding the capture: %v", probs)
	}
	replay.Sort(recs)
	return recs
}

// causes is the causal checker of internal/tracecheck: one line per span
// whose parent or trace disagrees with the model computed from recs.
func causes(spans []span.Span, recs []record.Record) []string {
	return tracecheck.Causes(spans, recs)
}

// check collects what a scenario finds wrong, so that every failed
// assertion is reported, with the traces drawn once.
type check struct {
	r   *shapeRun
	ts  *traceSet
	bad []string
	// occ finds an occurrence's span by Event UID and count.
	occ map[string]span.Span
}

// traces waits for a span for every Event of the scenario's namespace and
// runs the checks every scenario gets: structural (tracecheck.Check), causal
// (causes), and each pod instance's and each workload's Events where the
// causal model puts them.
func (r *shapeRun) traces() *check {
	r.Helper()
	spans, evs := waitSpans(r.T, r.p, r.ns)
	c := &check{r: r, ts: newTraceSet(r.T, spans), occ: map[string]span.Span{}}
	for _, s := range spans {
		if u := s.Attr(span.KeyEventUID); u != "" {
			c.occ[fmt.Sprintf("%s/%d", u, attrInt(s, span.KeyEventCount))] = s
		}
	}
	for _, b := range tracecheck.Check(spans, evs) {
		c.errorf("structure: %s", b)
	}
	for _, b := range causes(spans, r.records()) {
		c.errorf("causes: %s", b)
	}
	c.podInstances()
	c.generations()
	c.outcomesMatchTheApiserver()
	return c
}

func (c *check) errorf(format string, a ...any) {
	c.bad = append(c.bad, fmt.Sprintf(format, a...))
}

// done reports every failed assertion, then the traces.
func (c *check) done() {
	c.r.Helper()
	if len(c.bad) > 0 {
		slices.Sort(c.bad)
		c.bad = slices.Compact(c.bad)
		c.r.Errorf("%d failed assertions in %s:\n  %s\n%s", len(c.bad), c.r.ns, strings.Join(c.bad, "\n  "), c.ts.dump())
	}
}

// spanOf is the span of an occurrence, if exported.
func (c *check) spanOf(o occurrence) (span.Span, bool) {
	s, ok := c.occ[fmt.Sprintf("%s/%d", o.UID, o.Count)]
	if !ok {
		c.errorf("no span for %s", o)
	}
	return s, ok
}

func describe(s span.Span) string {
	if s.Attr(span.KeyEventUID) == "" {
		return fmt.Sprintf("%s (%s %s)", s.Name, s.Attr(span.KeyObjectName), s.Attr(span.KeyObjectUID))
	}
	return fmt.Sprintf("%s %q #%d", s.Name, s.Attr(span.KeyEventMessage), attrInt(s, span.KeyEventCount))
}

// parentIs asserts that occurrence o's span is a direct child of want's.
func (c *check) parentIs(o, want occurrence, why string) {
	s, ok := c.spanOf(o)
	w, ok2 := c.spanOf(want)
	if !ok || !ok2 {
		return
	}
	p, has := c.ts.parent(s)
	switch {
	case !has:
		c.errorf("%s: %s is a root, want it under %s (%s)", c.r.ns, o, want, why)
	case p.TraceID != w.TraceID || p.SpanID != w.SpanID:
		c.errorf("%s: %s is under %s, want %s (%s)", c.r.ns, o, describe(p), want, why)
	}
}

// underRootOf asserts that o's trace is rooted at object uid's own span,
// and, for an occurrence stored before the object's deletion began, not at
// its deletion.
func (c *check) underRootOf(o occurrence, uid, why string) {
	s, ok := c.spanOf(o)
	if !ok {
		return
	}
	r := c.ts.root(s)
	switch {
	case r.Attr(span.KeyObjectUID) != uid || r.Attr(span.KeyEventUID) != "":
		c.errorf("%s: %s is in the trace of %s, want the trace of its own object %s (%s)", c.r.ns, o, describe(r), uid, why)
	case strings.HasSuffix(r.Name, ".Delete") && !(c.r.log.deletionBegan(uid) > 0 && o.RV > c.r.log.deletionBegan(uid)):
		c.errorf("%s: %s is under %s, but was stored before the deletion began (%s)", c.r.ns, o, describe(r), why)
	}
}

// inTrace asserts that o is in trace id.
func (c *check) inTrace(o occurrence, id span.TraceID, why string) {
	if s, ok := c.spanOf(o); ok && s.TraceID != id {
		c.errorf("%s: %s is in trace %s (root %s), want %s (%s)", c.r.ns, o, s.TraceID, describe(c.ts.root(s)), id, why)
	}
}
