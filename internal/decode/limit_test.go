package decode

import (
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// endless reads the byte b forever, or n times if n >= 0.
type endless struct {
	b byte
	n int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, io.EOF
	}
	if e.n > 0 && int64(len(p)) > e.n {
		p = p[:e.n]
	}
	for i := range p {
		p[i] = e.b
	}
	if e.n > 0 {
		e.n -= int64(len(p))
	}
	return len(p), nil
}

// TestReadEndless reads /dev/zero's like: it must end, with a Problem.
func TestReadEndless(t *testing.T) {
	done := make(chan []Problem)
	go func() {
		_, probs := Read(&endless{b: 0, n: -1}, "zero")
		done <- probs
	}()
	select {
	case probs := <-done:
		if len(probs) != 1 || !strings.Contains(probs[0].Error(), "zero:1: binary data") {
			t.Errorf("problems %q, want one saying zero:1 is binary data", probs)
		}
	case <-time.After(time.Minute): // a deadline for a hang, not a wait
		t.Fatal("Read of an endless stream of NUL bytes did not end")
	}
}

// TestReadHugeLine reads a line far over MaxLine, then a good one: the
// long line is skipped without being held, the good one decoded.
func TestReadHugeLine(t *testing.T) {
	for _, tt := range []struct {
		name, head, tail string
		where            string
	}{
		{"json", "", "\n" + `{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}` + "\n", "huge:1"},
		{"capture", `{"kspan":"capture","version":1,"started":"2026-01-01T00:00:00Z"}` + "\n",
			"\n" + `{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}}` + "\n", "huge:2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := io.MultiReader(strings.NewReader(tt.head), &endless{b: 'x', n: 16 * MaxLine}, strings.NewReader(tt.tail))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			recs, probs := Read(in, "huge")
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 8*MaxLine {
				t.Errorf("reading a line of %d MiB allocated %d MiB", 16*MaxLine>>20, got>>20)
			}
			want := []string{tt.where + ": line longer than 16 MiB (the bound on a line): skipped"}
			if len(recs) != 1 || !reflect.DeepEqual(errorTexts(probs), want) {
				t.Errorf("%d records, problems %q; want 1, %q", len(recs), errorTexts(probs), want)
			}
		})
	}
}

func errorTexts(probs []Problem) []string {
	var out []string
	for _, p := range probs {
		out = append(out, p.Error())
	}
	return out
}

// TestReadBounds applies small bounds to every format.
func TestReadBounds(t *testing.T) {
	pod := func(uid string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"` + uid + `"}}`
	}
	long := strings.Repeat("x", 200)
	header := `{"kspan":"capture","version":1,"started":"2026-01-01T00:00:00Z"}`
	obs := func(uid string) string {
		return `{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":` + pod(uid) + `}`
	}
	podYAML := func(uid string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  uid: " + uid + "\n"
	}
	tests := []struct {
		name, in string
		records  int
		problems []string
	}{
		{"capture", header + "\n" + obs("u1") + "\n" + long + "\n" + obs("u2") + "\n" + long, 2, []string{
			"in:3: line longer than 150 bytes (the bound on a line): skipped",
			"in:5: line longer than 150 bytes (the bound on a line): skipped",
		}},
		{"capture header", long + "\n" + pod("u1") + "\n", 1, []string{
			"in:1: line longer than 150 bytes (the bound on a line): skipped",
		}},
		{"json", pod("u1") + "\n" + pod(long) + "\n" + pod("u2") + "\n", 2, []string{
			"in:2: line longer than 150 bytes (the bound on a line): skipped",
		}},
		{"json value across the long line", "{\n" + `"apiVersion": "v1", "kind": "Pod", "metadata": {"uid": "` + long + `"}` + "\n}\n" + pod("u2") + "\n", 1, []string{
			"in:2: line longer than 150 bytes (the bound on a line): skipped",
			"in:1: object without kind: no kind",
		}},
		{"json binary", pod("u1") + "\n" + pod("u2\x00") + "\n" + pod("u3") + "\n", 1, []string{
			"in:2: binary data (a NUL byte), not UTF-8 JSON, YAML or a kspan capture: the rest of the input is not read",
		}},
		{"yaml document", podYAML("u1") + "---\n" + strings.Repeat(podYAML("u2"), 10) + "---\n" + podYAML("u3"), 2, []string{
			"in: document 2: document of 451 bytes from line 5, over the bound of 400 bytes on a document: skipped",
		}},
		{"yaml aliases", podYAML("u1") + "---\n" + podYAML("u2") + "  annotations:\n    a: &a " + strings.Repeat("y", 100) +
			"\n    b: *a\n    c: *a\n    d: *a\n    e: *a\n---\n" + podYAML("u3"), 2, []string{
			"in: document 2: document from line 5 expands its aliases to more than 400 bytes (the bound on a document): skipped",
		}},
		{"yaml aliases within the bound", podYAML("u1") + "  annotations:\n    a: &a yy\n    b: *a\n", 1, nil},
		{"yaml alias cycle", podYAML("u1") + "  annotations: &a\n    b: *a\n", 0, []string{
			"in: not kubectl JSON or YAML output nor a kspan capture: malformed YAML: yaml: anchor 'a' value contains itself",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, probs := read(strings.NewReader(tt.in), "in", limits{line: 150, document: 400})
			counts(t, recs)
			if got := errorTexts(probs); len(recs) != tt.records || !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("got %d records, problems:\n%q\nwant %d, %q", len(recs), got, tt.records, tt.problems)
			}
		})
	}
}

// TestReadAnchorBomb is the document: megabytes behind an anchor
// used hundreds of times. It is refused before it is expanded.
func TestReadAnchorBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  uid: u\n  annotations:\n    a: &big " + strings.Repeat("z", 1<<20) + "\n")
	for i := range 200 {
		fmt.Fprintf(&b, "    k%d: *big\n", i)
	}
	recs, probs := Read(strings.NewReader(b.String()), "bomb.yaml")
	want := []string{"bomb.yaml: document 1: document from line 1 expands its aliases to more than 64 MiB (the bound on a document): skipped"}
	if len(recs) != 0 || !reflect.DeepEqual(errorTexts(probs), want) {
		t.Errorf("%d records, problems %q; want none and %q", len(recs), errorTexts(probs), want)
	}
}
