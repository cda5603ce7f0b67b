package main

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The sink reads the file exporter's OTLP/JSON lines, logs and traces
// alike, as far as they are whole, and says which Events are not covered
// up to their count.
func TestFileSinkCoverage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s := newFileSink(path)
	if have, n := s.covered(); len(have) != 0 || n != 0 {
		t.Fatalf("before the file exists: %v, %d", have, n)
	}
	logs := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k8s.event.uid","value":{"stringValue":"a"}}]},{"attributes":[{"key":"k8s.event.uid","value":{"stringValue":"b"}},{"key":"k8s.event.count","value":{"intValue":"2"}}]}]}]}]}` + "\n"
	traces := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k8s.event.uid","value":{"stringValue":"b"}},{"key":"k8s.event.count","value":{"intValue":3}}]},{"name":"rollout"}]}]}]}` + "\n"
	partial := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k8s.event.uid","value":{"stringValue":"c"}}]}]}]}]}`
	if err := os.WriteFile(path, []byte(logs+traces+partial), 0o644); err != nil {
		t.Fatal(err)
	}
	have, items := s.covered()
	if items != 4 || have["a"] != 1 || have["b"] != 3 || have["c"] != 0 {
		t.Fatalf("covered %v, %d items; want a:1 b:3 (c's line is not whole), 4 items", have, items)
	}
	ev := func(uid string, count int32) corev1.Event {
		return corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Count: count}
	}
	got := uncovered([]corev1.Event{ev("a", 1), ev("b", 4), ev("c", 0), ev("b", 3)}, have, true)
	if len(got) != 2 || got[0] != "b" || got[1] != "c" {
		t.Fatalf("uncovered %v, want [b c]", got)
	}
	// A series' count counts for kspan, not for k8s_events (which reports
	// core/v1's count field).
	series := ev("a", 1)
	series.Series = &corev1.EventSeries{Count: 2}
	if got := uncovered([]corev1.Event{series}, have, true); len(got) != 1 {
		t.Errorf("uncovered with series %v, want [a]", got)
	}
	if got := uncovered([]corev1.Event{series}, have, false); len(got) != 0 {
		t.Errorf("uncovered without series %v, want none", got)
	}
	// The rest of the line arrives.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n")
	f.Close()
	if have, _ := s.covered(); have["c"] != 1 {
		t.Errorf("after the line ends: %v", have)
	}
}
