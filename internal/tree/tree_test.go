package tree

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kspan-project/kspan/internal/span"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 11, 23, 17, 38, 8, 0, time.UTC)

func at(d float64) time.Time { return t0.Add(time.Duration(d * float64(time.Second))) }

func ev(tid span.TraceID, id, parent, name string, from, to float64, component, object, msg string) span.Span {
	s := span.Span{TraceID: tid, SpanID: span.IDFor(id), Name: name, Start: at(from), End: at(to)}
	if parent != "" {
		s.Parent = span.IDFor(parent)
	}
	s.Attrs = []span.Attr{span.Str(span.KeyObjectName, object), span.Str(span.KeyNamespace, "default")}
	if component != "" {
		s.Attrs = append(s.Attrs, span.Str(span.KeyEventComponent, component))
	}
	if msg != "" {
		s.Attrs = append(s.Attrs, span.Str(span.KeyEventMessage, msg))
	}
	return s
}

// webTrace is a Deployment rollout: three levels under a synthetic root, a
// warning, a zero-duration span, a long message, and an orphan whose
// parent never arrived.
func webTrace() []span.Span {
	tid := span.TraceIDFor("uid-web", 2)
	root := ev(tid, "root", "", "Deployment.Create", 0, 12.3, "", "web", "")
	root.Attrs = append(root.Attrs, span.Str(span.KeyObjectKind, "Deployment"), span.Boolean(span.KeySynthetic, true))
	pod := "web-5d4f8b7c9-abcde"
	failed := ev(tid, "failed", "rs", "Pod.Failed", 4.5, 4.5, "kubelet", pod,
		`Failed to pull image "nginx:nope": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:nope": not found`)
	failed.Error = true
	backoff := ev(tid, "backoff", "gone", "Pod.BackOff", 11, 12.3, "kubelet", pod, "Back-off pulling image \"nginx:nope\"\n(retrying)")
	backoff.Error = true
	return []span.Span{
		root,
		ev(tid, "scale", "root", "Deployment.ScalingReplicaSet", 0, 0.1, "deployment-controller", "web", "Scaled up replica set web-5d4f8b7c9 to 1"),
		ev(tid, "rs", "scale", "ReplicaSet.SuccessfulCreate", 1, 12, "replicaset-controller", "web-5d4f8b7c9", "Created pod: "+pod),
		ev(tid, "sched", "rs", "Pod.Scheduled", 1.08, 1.08, "default-scheduler", pod, "Successfully assigned default/"+pod+" to kind-worker"),
		ev(tid, "pull", "rs", "Pod.Pulling", 2, 4.5, "kubelet", pod, `Pulling image "nginx:nope"`),
		failed,
		ev(tid, "started", "rs", "Pod.Started", 9.25, 9.25, "kubelet", pod, "Started container nginx"),
		backoff,
	}
}

// configTrace is a one-span trace that starts before webTrace.
func configTrace() []span.Span {
	s := ev(span.TraceIDFor("uid-cm", 1), "cm", "", "ConfigMap.Update", -60, -59.5, "", "settings", "")
	s.Attrs = append(s.Attrs, span.Str(span.KeyObjectKind, "ConfigMap"))
	return []span.Span{s}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width int
		all   bool
	}{
		{"web-60", 60, false},
		{"web-120", 120, false},
		{"all-100", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans := webTrace()
			render := Render
			if tc.all {
				spans = append(spans, configTrace()...)
				render = RenderAll
			}
			var buf bytes.Buffer
			if err := render(&buf, spans, Options{Width: tc.width}); err != nil {
				t.Fatal(err)
			}
			checkLines(t, buf.String(), cmpOr(tc.width, defaultWidth))
			golden(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes())
		})
	}
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
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
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// checkLines fails on a line longer than width runes, on trailing spaces
// and on escape codes.
func checkLines(t *testing.T, out string, width int) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("line %d is %d runes, over %d: %q", i+1, n, width, line)
		}
		if strings.TrimRight(line, " ") != line {
			t.Errorf("line %d ends in a space: %q", i+1, line)
		}
		if strings.ContainsRune(line, '\x1b') {
			t.Errorf("line %d has an escape code without Color: %q", i+1, line)
		}
	}
}

func TestRenderEveryWidth(t *testing.T) {
	spans := append(webTrace(), configTrace()...)
	for width := 1; width <= 160; width++ {
		var buf bytes.Buffer
		if err := RenderAll(&buf, spans, Options{Width: width}); err != nil {
			t.Fatal(err)
		}
		checkLines(t, buf.String(), max(width, minWidth))
	}
}

// TestRenderOrder: the order of traces in the input does not matter, and
// siblings with equal starts keep their input order.
func TestRenderOrder(t *testing.T) {
	web, cfg := webTrace(), configTrace()
	var want, got bytes.Buffer
	if err := RenderAll(&want, append(slices.Clone(web), cfg...), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := RenderAll(&got, append(slices.Clone(cfg), web...), Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("trace order changes the drawing:\n%s\nwant\n%s", got.Bytes(), want.Bytes())
	}
	root := span.Span{TraceID: span.TraceID{1}, SpanID: span.ID{1}, Name: "Root", Start: time.Unix(0, 0), End: time.Unix(2, 0)}
	a := span.Span{TraceID: span.TraceID{1}, SpanID: span.ID{9}, Parent: span.ID{1}, Name: "Pod.Pulling", Start: time.Unix(1, 0), End: time.Unix(1, 0)}
	b := span.Span{TraceID: span.TraceID{1}, SpanID: span.ID{2}, Parent: span.ID{1}, Name: "Pod.Pulled", Start: time.Unix(1, 0), End: time.Unix(1, 0)}
	var buf bytes.Buffer
	if err := Render(&buf, []span.Span{root, a, b}, Options{}); err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(buf.String(), "Pod.Pulling"), strings.Index(buf.String(), "Pod.Pulled"); i < 0 || j < i {
		t.Errorf("equal starts lost their input order:\n%s", buf.String())
	}
}

var escape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestRenderColor: colour only adds escape codes, warnings are red and
// bars take their component's colour.
func TestRenderColor(t *testing.T) {
	spans := webTrace()
	var plain, color bytes.Buffer
	if err := Render(&plain, spans, Options{Width: 90}); err != nil {
		t.Fatal(err)
	}
	if err := Render(&color, spans, Options{Width: 90, Color: true}); err != nil {
		t.Fatal(err)
	}
	if got := escape.ReplaceAllString(color.String(), ""); got != plain.String() {
		t.Errorf("colour changed the text:\n%s\nwant\n%s", got, plain.String())
	}
	out := color.String()
	if !strings.Contains(out, red+"!"+reset) {
		t.Errorf("no red warning marker in\n%q", out)
	}
	if !strings.Contains(out, red+"Pod.Failed") {
		t.Errorf("warning label not red in\n%q", out)
	}
	if n := len(regexp.MustCompile(`\x1b\[38;5;\d+m`).FindAllString(out, -1)); n != 7 {
		t.Errorf("want 7 component-coloured bars (all but the root), got %d", n)
	}
}

func TestRenderErrors(t *testing.T) {
	mixed := append(webTrace(), configTrace()...)
	if err := Render(&bytes.Buffer{}, mixed, Options{}); err == nil {
		t.Error("Render of two traces succeeded, want error")
	}
	var buf bytes.Buffer
	if err := Render(&buf, nil, Options{}); err != nil || buf.Len() != 0 {
		t.Errorf("Render(nil) = %v, wrote %q", err, buf.String())
	}
}

// TestRenderCycle: spans whose parents form a loop are each drawn once.
func TestRenderCycle(t *testing.T) {
	tid := span.TraceIDFor("loop", 1)
	spans := []span.Span{
		ev(tid, "a", "b", "A", 0, 1, "", "a", ""),
		ev(tid, "b", "a", "B", 1, 2, "", "b", ""),
		ev(tid, "c", "c", "C", 2, 3, "", "c", ""),
	}
	var buf bytes.Buffer
	if err := Render(&buf, spans, Options{Width: 80}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, name := range []string{"A  a", "B  b", "C  c"} {
		if n := strings.Count(out, name); n != 1 {
			t.Errorf("%q drawn %d times in\n%s", name, n, out)
		}
	}
}

func TestHuman(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0.00s"},
		{0, "0.00s"},
		{4 * time.Millisecond, "0.00s"},
		{5 * time.Millisecond, "0.01s"},
		{12300 * time.Millisecond, "12.30s"},
		{99994 * time.Millisecond, "99.99s"},
		{99995 * time.Millisecond, "1m40s"},
		{59*time.Minute + 59*time.Second, "59m59s"},
		{59*time.Minute + 59600*time.Millisecond, "1h00m"},
		{99*time.Hour + 59*time.Minute, "99h59m"},
		{100 * time.Hour, "4d04h"},
	} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
