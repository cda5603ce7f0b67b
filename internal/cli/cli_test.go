package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kspan-project/kspan/internal/otlp"
)

func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return out.String(), errb.String(), ExitCode(err)
}

var (
	v0   = filepath.Join("..", "..", "testdata", "kspan-v0", "deployment-2-pods.yaml")
	real = filepath.Join("..", "..", "testdata", "real-cluster", "deployment-events.json")
)

func TestReplayOTLPJSON(t *testing.T) {
	out, _, code := run(t, map[string]string{"OTEL_SERVICE_NAME": "events", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod%20eu,bad"},
		"replay", "-o", "otlp-json", "-cluster-name", "c1", v0, real)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d lines", len(lines))
	}
	total := 0
	for _, l := range lines {
		res, spans, err := otlp.ParseJSON([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		total += len(spans)
		want := map[string]string{"service.name": "events", "k8s.cluster.name": "c1", "deployment.environment": "prod eu"}
		for _, a := range res {
			if w, ok := want[a.Key]; ok && a.Str == w {
				delete(want, a.Key)
			}
		}
		if len(want) > 0 {
			t.Errorf("resource lacks %v: %+v", want, res)
		}
	}
	if total != 20+15 {
		t.Errorf("%d spans, want 35", total)
	}
	// The files in the other order give byte-identical output.
	out2, _, _ := run(t, map[string]string{"OTEL_SERVICE_NAME": "events", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod%20eu,bad"},
		"replay", "-o", "otlp-json", "-cluster-name", "c1", real, v0)
	if out != out2 {
		t.Errorf("file order changed the output")
	}
}

func TestReplaySkipsBadInputAndSaysWhere(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "capture.jsonl")
	content := `{"kspan":"capture","version":1,"started":"2026-11-23T17:38:00Z"}
{"t":"2026-11-23T17:38:08Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Event","metadata":{"name":"a.1","namespace":"default","uid":"e1"},"involvedObject":{"kind":"Pod","name":"a","namespace":"default","uid":"p1"},"reason":"Pulling","message":"Pulling image","type":"Normal","count":1,"firstTimestamp":"2026-11-23T17:38:08Z","lastTimestamp":"2026-11-23T17:38:08Z"}}
{"t":"2026-11-23T17:38:09Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Ev`
	if err := os.WriteFile(bad, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, nil, "replay", bad, filepath.Join(dir, "missing.json"))
	if code != ExitSkipped {
		t.Errorf("exit %d, want %d", code, ExitSkipped)
	}
	if !strings.Contains(errs, "capture.jsonl:3") || !strings.Contains(errs, "missing.json") {
		t.Errorf("stderr does not name the bad line and the missing file:\n%s", errs)
	}
	if !strings.Contains(out, "Pod.Pulling") {
		t.Errorf("the good record was not replayed:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"nope"},
		{"-o", "xml"},
		{"-capture"},
		{"replay"},
		{"replay", "-o", "xml", v0},
		{"replay", "-window", "10ms", v0},
		{"replay", "-no-such-flag", v0},
	} {
		if _, _, code := run(t, nil, args...); code != ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if out, _, code := run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "kspan ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestOutputFileAppends(t *testing.T) {
	f := filepath.Join(t.TempDir(), "traces.jsonl")
	for range 2 {
		if _, _, code := run(t, nil, "replay", "-o", "otlp-json", "-output-file", f, v0); code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Errorf("%d lines after two runs, want 2", n)
	}
}

func TestTreeOutput(t *testing.T) {
	out, _, code := run(t, nil, "replay", "-width", "80", v0)
	if code != 0 || !strings.Contains(out, "Deployment.Update") || strings.Contains(out, "\x1b[") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns: %s", n, l)
		}
	}
}

func TestLiveFailsClearlyWithoutACluster(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	_, _, code := run(t, nil, "-kubeconfig", missing)
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"-kubeconfig", missing}, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != ExitFailed || err == nil || !strings.Contains(err.Error(), "no-such-kubeconfig") {
		t.Errorf("exit %d, error %v: want a failure naming the kubeconfig", code, err)
	}
}

func TestFilterFlags(t *testing.T) {
	unsched := filepath.Join("..", "..", "testdata", "live-unschedulable", "events.json")
	out, _, code := run(t, nil, "replay", "-o", "otlp-json", "-type", "Warning", "-exclude-namespace", "kube-system", unsched, v0)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		_, spans, err := otlp.ParseJSON([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			if s.Attr("k8s.event.uid") != "" && s.Attr("k8s.event.type") != "Warning" {
				t.Errorf("Normal event exported: %s", s.Name)
			}
			total++
		}
	}
	if total != 2 {
		t.Errorf("%d spans, want the FailedScheduling and its root", total)
	}
	if _, _, code := run(t, nil, "replay", "-type", "Error", v0); code != ExitUsage {
		t.Errorf("-type Error: exit %d, want %d", code, ExitUsage)
	}
}

// A flag error is printed once: by main, from the error Run returns (the
// flag package would print it too, with the whole usage).
func TestFlagErrorOnce(t *testing.T) {
	for _, args := range [][]string{{"replay", "-no-such-flag", v0}, {"-no-such-flag"}, {"replay", "-width", "wide", v0}} {
		var stderr strings.Builder
		err := Run(context.Background(), args, Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
			Getenv: func(string) string { return "" }})
		if ExitCode(err) != ExitUsage || err == nil || !strings.Contains(err.Error(), "-h lists the flags") {
			t.Errorf("%q: %v, want a usage error with a hint", args, err)
		}
		if stderr.Len() > 0 {
			t.Errorf("%q: printed besides the error:\n%s", args, stderr.String())
		}
	}
	// -h still prints the usage.
	_, errs, code := run(t, nil, "replay", "-h")
	if code != 0 || !strings.Contains(errs, "Usage: kspan replay") || !strings.Contains(errs, "-otlp-endpoint") {
		t.Errorf("replay -h: exit %d:\n%s", code, errs)
	}
}

// Entries of OTEL_RESOURCE_ATTRIBUTES that cannot be used are warned about.
func TestResourceAttributesWarnings(t *testing.T) {
	_, errs, code := run(t, map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=1,bad,,=nokey,c=%zz"}, "replay", v0)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	for _, want := range []string{
		`msg="ignored an entry of OTEL_RESOURCE_ATTRIBUTES" entry=bad reason="want key=value"`,
		`entry="=nokey" reason="want key=value"`,
		`entry="c=%zz" reason="the value's percent-encoding`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %s:\n%s", want, errs)
		}
	}
	if n := strings.Count(errs, "ignored an entry"); n != 3 {
		t.Errorf("%d warnings, want 3:\n%s", n, errs)
	}
}

// kspan -h and kspan help show the commands and live mode's flags (the bare
// command's), on standard output.
func TestHelpShowsLiveFlags(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		out, errs, code := run(t, nil, args...)
		if code != 0 {
			t.Errorf("%q: exit %d:\n%s", args, code, errs)
		}
		for _, want := range []string{"kspan replay [flags] FILE", "-kubeconfig", "-watch-batch", "-checkpoint", "-otlp-endpoint"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: standard output lacks %q:\n%s", args, want, out)
			}
		}
	}
	// replay's own flag is in its help, not live mode's.
	if out, _, _ := run(t, nil, "-h"); strings.Contains(out, "-reorder-window") {
		t.Errorf("kspan -h lists replay's -reorder-window")
	}
	if _, errs, _ := run(t, nil, "replay", "-h"); !strings.Contains(errs, "-reorder-window") {
		t.Errorf("kspan replay -h lacks -reorder-window")
	}
}
