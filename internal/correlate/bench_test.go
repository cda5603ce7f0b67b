package correlate_test

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/synth"
	"github.com/kspan-project/kspan/internal/tracecheck"
)

// The benchmarks feed the engine a synthetic rollout of many Deployments in
// the shape of testdata/live-capture: kspan's capture format, core/v1 Events
// (kubelet ones with whole-second times, the scheduler's with eventTime) and
// object metadata with owner references, managedFields and the status
// updates a metadata informer sees, ordered by observation time with etcd
// revisions in that order. `make bench` runs them and prints the ratios.

const (
	benchDeploys  = 200
	benchReplicas = 10
)

// wireForm is ev as kube-apiserver sends it to a watcher: with the
// managedFields entry its writer's create left, in the shape recorded in
// testdata/wire-events (kspan's capture, like the informer's transform,
// drops it before the engine sees the Event).
func wireForm(ev *corev1.Event) *corev1.Event {
	w := *ev
	f := metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
		APIVersion: "v1", Time: &ev.CreationTimestamp, FieldsType: "FieldsV1"}
	switch {
	case !ev.EventTime.IsZero(): // the new-style recorder, as the scheduler's
		f.Manager, f.APIVersion = "kube-scheduler", "events.k8s.io/v1"
		f.FieldsV1 = metav1.NewFieldsV1(`{"f:action":{},"f:eventTime":{},"f:note":{},"f:reason":{},"f:regarding":{},"f:reportingController":{},"f:reportingInstance":{},"f:type":{}}`)
	case ev.Source.Host != "": // the kubelet
		f.Manager = "kubelet"
		f.FieldsV1 = metav1.NewFieldsV1(`{"f:count":{},"f:firstTimestamp":{},"f:involvedObject":{},"f:lastTimestamp":{},"f:message":{},"f:reason":{},"f:reportingComponent":{},"f:reportingInstance":{},"f:source":{"f:component":{},"f:host":{}},"f:type":{}}`)
	default:
		f.FieldsV1 = metav1.NewFieldsV1(`{"f:count":{},"f:firstTimestamp":{},"f:involvedObject":{},"f:lastTimestamp":{},"f:message":{},"f:reason":{},"f:reportingComponent":{},"f:source":{"f:component":{}},"f:type":{}}`)
	}
	w.ManagedFields = []metav1.ManagedFieldsEntry{f}
	return &w
}

// benchStream is a decoded synthetic stream.
type benchStream struct {
	recs    []record.Record
	events  [][]byte // each Event's JSON as a watcher receives it (wireForm)
	trimmed [][]byte // each Event's JSON as the capture holds it: no managedFields
	evs     []*record.Event
	objects int
}

func newStream(tb testing.TB, deploys, replicas int) *benchStream {
	tb.Helper()
	return newRound(tb, 0, deploys, replicas, false)
}

// newRound is round r of synth.Round, decoded.
func newRound(tb testing.TB, r, deploys, replicas int, deletes bool) *benchStream {
	tb.Helper()
	items := synth.Round(r, deploys, replicas, deletes)
	data, trimmed := synth.Capture(items, 1000+r*1_000_000)
	var events [][]byte // in capture's order, which items now have
	for _, it := range items {
		if it.Event != nil {
			wire, err := json.Marshal(wireForm(it.Event))
			if err != nil {
				tb.Fatal(err)
			}
			events = append(events, wire)
		}
	}
	recs, probs := decode.Read(bytes.NewReader(data), "bench.jsonl")
	if len(probs) > 0 {
		tb.Fatalf("synthetic capture: %v", probs[0])
	}
	s := &benchStream{recs: recs, events: events, trimmed: trimmed}
	for _, r := range recs {
		if r.Event != nil {
			s.evs = append(s.evs, r.Event)
		} else {
			s.objects++
		}
	}
	if len(s.evs) != len(events) {
		tb.Fatalf("decoded %d events, encoded %d", len(s.evs), len(events))
	}
	return s
}

// feed runs the stream through a new engine, each record at its observation
// time, and returns the number of spans exported.
func feed(s *benchStream, keep *[]span.Span) int { return feedWith(s, keep, correlate.Config{}) }

// feedWith is feed with an engine configuration.
func feedWith(s *benchStream, keep *[]span.Span, cfg correlate.Config) int {
	n := 0
	e := correlate.New(correlate.Config{Stream: cfg.Stream, Out: correlate.ConsumerFunc(func(b []span.Span) error {
		n += len(b)
		if keep != nil {
			*keep = append(*keep, b...)
		}
		return nil
	})})
	for _, r := range s.recs {
		e.Add(r, r.Observed)
	}
	e.Flush()
	return n
}

// TestBenchStream checks that the benchmark stream correlates as a real
// rollout does, so the benchmarks measure the real path: one trace per
// Deployment, every Event under its controller's chain.
func TestBenchStream(t *testing.T) {
	s := newStream(t, 5, 3)
	var spans []span.Span
	feed(s, &spans)
	if bad := tracecheck.Check(spans, s.evs); len(bad) > 0 {
		t.Fatalf("trace check:\n%s", bad)
	}
	if want := len(s.evs) + 5; len(spans) != want {
		t.Errorf("%d spans, want %d (one per Event and a root per Deployment)", len(spans), want)
	}
	parent := map[span.ID]*span.Span{}
	traces := map[span.TraceID]bool{}
	for i := range spans {
		parent[spans[i].SpanID] = &spans[i]
		traces[spans[i].TraceID] = true
	}
	if len(traces) != 5 {
		t.Errorf("%d traces, want 5", len(traces))
	}
	for _, sp := range spans {
		if sp.Name == "Pod.Started" {
			p := parent[sp.Parent]
			if p == nil || p.Name != "ReplicaSet.SuccessfulCreate" {
				t.Errorf("Pod.Started is not under ReplicaSet.SuccessfulCreate: %+v", p)
			}
		}
	}
}

// TestBenchWireShape checks that the baseline decodes Events in the shape
// kube-apiserver sends: every synthetic Event's JSON has the same key paths
// as the recorded wire Event of its reason (testdata/wire-events).
func TestBenchWireShape(t *testing.T) {
	data, err := os.ReadFile("../../testdata/wire-events/core-v1.watch.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string][]string{}
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var w struct{ Object map[string]any }
		if err := json.Unmarshal(line, &w); err != nil {
			t.Fatalf("wire-events line %d: %v", i+1, err)
		}
		reason, _ := w.Object["reason"].(string)
		recorded[reason] = keyPaths("", w.Object, nil)
	}
	s := newStream(t, 1, 1)
	checked := map[string]bool{}
	for _, raw := range s.events {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		reason := m["reason"].(string)
		want, ok := recorded[reason]
		if !ok {
			t.Fatalf("no recorded wire Event for reason %q", reason)
		}
		checked[reason] = true
		if got := keyPaths("", m, nil); !slices.Equal(got, want) {
			t.Errorf("%s: key paths\n got %q\nwant %q", reason, got, want)
		}
	}
	if len(checked) != 7 {
		t.Errorf("checked reasons %v, want the 7 of a rollout", checked)
	}
}

// keyPaths is the sorted dotted paths of v's object keys ("[]" for an
// array's elements).
func keyPaths(at string, v any, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out = append(out, at+k)
			out = keyPaths(at+k+".", x, out)
		}
	case []any:
		for _, x := range v {
			out = keyPaths(at+"[].", x, out)
		}
	}
	if at == "" {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// perEvent reports the engine-independent figures of a benchmark over
// events: ns, allocations and bytes per event, and events per second.
func perEvent(b *testing.B, events int, before *runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/event")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/event")
}

// BenchmarkEngine is the engine's cost per Event over the rollout stream,
// object records included (they are part of the work).
func BenchmarkEngine(b *testing.B) { benchEngine(b, correlate.Config{}) }

// BenchmarkEngineStream is BenchmarkEngine with Config.Stream, as the
// Helm chart deploys kspan: spans leave as they are decided.
func BenchmarkEngineStream(b *testing.B) { benchEngine(b, correlate.Config{Stream: true}) }

func benchEngine(b *testing.B, cfg correlate.Config) {
	s := newStream(b, benchDeploys, benchReplicas)
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		if n := feedWith(s, nil, cfg); n != len(s.evs)+benchDeploys {
			b.Fatalf("%d spans, want %d", n, len(s.evs)+benchDeploys)
		}
	}
	b.StopTimer()
	perEvent(b, len(s.evs), &before)
}

// BenchmarkEngineWarm is BenchmarkEngine on an engine that has run for a
// while, as a daemon's has: one engine is fed round after round, each round
// new Deployments rolled out two hours after the last (their objects deleted
// a minute after their last Event, then the clock moved on 90 minutes, so
// every round's traces, tombstones and duplicate records are forgotten
// before the next: the steady state, checked after each round). Its maps
// have grown to their working size in the untimed first rounds, where
// BenchmarkEngine pays their growth on every iteration. The figures are per
// Event over the timed rounds' records, deletes included; the rounds are
// generated with the timer stopped and their allocations left out.
func BenchmarkEngineWarm(b *testing.B) { benchWarm(b, correlate.Config{}) }

// BenchmarkEngineWarmStream is BenchmarkEngineWarm with Config.Stream.
func BenchmarkEngineWarmStream(b *testing.B) { benchWarm(b, correlate.Config{Stream: true}) }

// warmRounds are the untimed rounds before BenchmarkEngineWarm's timed ones.
const warmRounds = 2

func benchWarm(b *testing.B, cfg correlate.Config) {
	n := 0
	e := correlate.New(correlate.Config{Stream: cfg.Stream, Out: correlate.ConsumerFunc(func(s []span.Span) error { n += len(s); return nil })})
	round := 0
	feedRound := func(s *benchStream) {
		n = 0
		var last time.Time
		for _, r := range s.recs {
			if r.Op == record.Delete && last.IsZero() {
				last = r.Observed
				// Every Event is decided, then every trace is out, before
				// the deletes (a minute after the round's last record).
				e.Advance(last.Add(-30 * time.Second))
				e.Advance(last)
				if want := len(s.evs) + benchDeploys; n != want {
					b.Fatalf("round %d: %d spans, want %d", round, n, want)
				}
			}
			e.Add(r, r.Observed)
		}
		e.Advance(last.Add(90 * time.Minute))
		round++
	}
	steady := func() {
		st := e.Stats()
		if st.Held != 0 || st.OpenTraces != 0 || st.Index.Objects != 0 || st.Index.Tombstones != 0 {
			b.Fatalf("after round %d the engine still holds %+v", round, st)
		}
	}
	for range warmRounds {
		feedRound(newRound(b, round, benchDeploys, benchReplicas, true))
		steady()
	}
	b.ReportAllocs()
	var before, after runtime.MemStats
	var allocs, bytes uint64
	events := 0
	var engineNs, decodeNs, codecNs, trimmedNs time.Duration
	codec := clientGoDecoder(b)
	for b.Loop() {
		b.StopTimer()
		s := newRound(b, round, benchDeploys, benchReplicas, true)
		runtime.GC()
		runtime.ReadMemStats(&before)
		t0 := time.Now()
		b.StartTimer()
		feedRound(s)
		b.StopTimer()
		engineNs += time.Since(t0)
		runtime.ReadMemStats(&after)
		steady()
		allocs += after.Mallocs - before.Mallocs
		bytes += after.TotalAlloc - before.TotalAlloc
		events += len(s.evs)
		// The baselines, timed on the same round right after it, so that
		// the ratios pair figures measured under the same load: the Events
		// as the apiserver sends them (wireForm), by encoding/json and by
		// client-go, and, for comparison with the figures of sessions that
		// used it, by encoding/json as kspan's capture holds them.
		decodeNs += timed(func() { decodeAll(b, s.events, jsonDecode) })
		codecNs += timed(func() { decodeAll(b, s.events, codec) })
		trimmedNs += timed(func() { decodeAll(b, s.trimmed, jsonDecode) })
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(decodeNs.Nanoseconds())/float64(events), "decode-ns/event")
	b.ReportMetric(float64(codecNs.Nanoseconds())/float64(events), "client-go-ns/event")
	b.ReportMetric(float64(trimmedNs.Nanoseconds())/float64(events), "trimmed-decode-ns/event")
	b.ReportMetric(float64(engineNs)/float64(decodeNs), "engine/decode")
	b.ReportMetric(float64(engineNs)/float64(trimmedNs), "engine/trimmed-decode")
	b.ReportMetric(float64(engineNs)/float64(codecNs), "engine/client-go")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(allocs)/float64(events), "allocs/event")
	b.ReportMetric(float64(bytes)/float64(events), "B/event")
}

// BenchmarkDecodeEvent is the baseline: what any watcher pays per Event,
// at the least: encoding/json of the Event's JSON as the apiserver sends it
// (wireForm) into a core/v1 Event.
func BenchmarkDecodeEvent(b *testing.B) { benchDecode(b, jsonDecode) }

// BenchmarkDecodeEventClientGo is the baseline as an informer pays it:
// client-go's deserializer (apimachinery's JSON serializer, as a watch
// decodes each object) into a core/v1 Event.
func BenchmarkDecodeEventClientGo(b *testing.B) { benchDecode(b, clientGoDecoder(b)) }

// decoder decodes one Event's JSON into ev.
type decoder func(raw []byte, ev *corev1.Event) error

func jsonDecode(raw []byte, ev *corev1.Event) error { return json.Unmarshal(raw, ev) }

// clientGoDecoder is client-go's deserializer for core/v1.
func clientGoDecoder(tb testing.TB) decoder {
	sch := k8sruntime.NewScheme()
	if err := corev1.AddToScheme(sch); err != nil {
		tb.Fatal(err)
	}
	d := serializer.NewCodecFactory(sch).UniversalDeserializer()
	return func(raw []byte, ev *corev1.Event) error {
		_, _, err := d.Decode(raw, nil, ev)
		return err
	}
}

func decodeAll(tb testing.TB, events [][]byte, dec decoder) {
	for _, raw := range events {
		var ev corev1.Event
		if err := dec(raw, &ev); err != nil {
			tb.Fatal(err)
		}
	}
}

func timed(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}

func benchDecode(b *testing.B, dec decoder) {
	s := newStream(b, benchDeploys, benchReplicas)
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		decodeAll(b, s.events, dec)
	}
	b.StopTimer()
	perEvent(b, len(s.events), &before)
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRetained measures the heap the engine retains: per object in its
// owner index (50,000 Deployments, ReplicaSets and Pods with their status
// updates) and per Event held for its hold time (10,000). The records are
// decoded one Deployment at a time, so only what the engine keeps stays.
func BenchmarkRetained(b *testing.B) {
	const deploys, replicas, held = 2500, 18, 10000
	for b.Loop() {
		base := heapInUse()
		e := correlate.New(correlate.Config{Out: correlate.ConsumerFunc(func([]span.Span) error { return nil })})
		decoded := func(d int) []record.Record {
			data, _ := synth.Capture(synth.Rollout(d, replicas, synth.Start.Add(time.Duration(d)*50*time.Millisecond)), 1000+d*200)
			recs, probs := decode.Read(bytes.NewReader(data), "bench.jsonl")
			if len(probs) > 0 {
				b.Fatal(probs[0])
			}
			return recs
		}
		for d := range deploys {
			for _, r := range decoded(d) {
				if r.Object != nil {
					e.Add(r, synth.Start)
				}
			}
		}
		if got := e.Stats().Index; got.Objects != deploys*(2+replicas) {
			b.Fatalf("index holds %+v, want %d objects", got, deploys*(2+replicas))
		}
		withObjects := heapInUse()
		// The same Deployments' Events, decoded again; the clock stays, so
		// every one is held.
		n := 0
		for d := 0; n < held; d++ {
			for _, r := range decoded(d) {
				if r.Event != nil && n < held {
					e.Add(r, synth.Start)
					n++
				}
			}
		}
		if st := e.Stats(); st.Held != held {
			b.Fatalf("%d events held, want %d", st.Held, held)
		}
		withEvents := heapInUse()
		runtime.KeepAlive(e)
		objects := float64(deploys * (2 + replicas))
		b.ReportMetric(float64(withObjects-base)/objects, "B/object")
		b.ReportMetric(float64(withEvents-withObjects)/held, "B/held-event")
	}
}
