package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestRun reads one recorded run of `make bench-engine` and checks the
// verdicts it prints: the warm engine's own paired ratios, not ratios of
// separate benchmarks.
func TestRun(t *testing.T) {
	in, err := os.ReadFile("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"engine / decoding, encoding/json                         0.26   target <= 0.50     PASS",
		"engine / decoding, client-go's deserializer              0.14   target <= 0.50     PASS",
		"engine / encoding/json, no managedFields                 0.36   (no target",
		"engine events/s, one core                              111595   target >= 100000   PASS",
		"retained bytes per object (50,000)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunMissing fails when a benchmark's figure is missing.
func TestRunMissing(t *testing.T) {
	in, err := os.ReadFile("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(in), "\n") {
		if !strings.HasPrefix(l, "BenchmarkEngineWarm ") {
			kept = append(kept, l)
		}
	}
	err = run(strings.NewReader(strings.Join(kept, "\n")), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "EngineWarm") {
		t.Fatalf("run without BenchmarkEngineWarm: %v, want an error naming it", err)
	}
}

// TestRunMiss reports a MISS, not an error, when a ratio is over its target.
func TestRunMiss(t *testing.T) {
	in, err := os.ReadFile("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	slow := regexp.MustCompile(`\S+( engine/decode)`).ReplaceAllString(string(in), "0.6$1")
	var out bytes.Buffer
	if err := run(strings.NewReader(slow), &out); err != nil {
		t.Fatal(err)
	}
	want := "engine / decoding, encoding/json                         0.60   target <= 0.50     MISS"
	if !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
}
