package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var started = time.Date(2026, 11, 23, 17, 38, 0, 123456789, time.FixedZone("CET", 3600))

func TestWriterOutput(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Started: started, Fields: map[string]string{"cluster": "kind-1", "by": "a<b"}})
	if err != nil {
		t.Fatal(err)
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p<1>", "uid": "u1"}}
	if err := w.Write(started.Add(time.Second), Added, pod); err != nil {
		t.Fatal(err)
	}
	raw := json.RawMessage("{\n  \"kind\": \"Event\",\n  \"apiVersion\": \"v1\"\n}")
	if err := w.Write(started.Add(2*time.Second), Deleted, raw); err != nil {
		t.Fatal(err)
	}
	want := `{"kspan":"capture","version":1,"started":"2026-11-23T16:38:00.123456789Z","by":"a<b","cluster":"kind-1"}
{"t":"2026-11-23T16:38:01.123456789Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p<1>","uid":"u1"}}}
{"t":"2026-11-23T16:38:02.123456789Z","type":"DELETED","object":{"kind":"Event","apiVersion":"v1"}}
`
	if got := buf.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriterRejects(t *testing.T) {
	ok := map[string]string{"apiVersion": "v1", "kind": "Pod"}
	tests := []struct {
		name     string
		observed time.Time
		typ      string
		obj      any
		want     string
	}{
		{"type", started, "BOOKMARK", ok, `watch event type "BOOKMARK"`},
		{"zero time", time.Time{}, Added, ok, "observed time is zero"},
		{"no kind", started, Added, map[string]string{"apiVersion": "v1"}, "no apiVersion or kind"},
		{"partial", started, Added, map[string]string{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata"}, "set the real apiVersion and kind"},
		{"not an object", started, Added, []int{1}, "not a JSON object"},
		{"unmarshalable", started, Added, map[string]any{"f": func() {}}, "encode object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, Header{Started: started})
			if err != nil {
				t.Fatal(err)
			}
			n := buf.Len()
			err = w.Write(tt.observed, tt.typ, tt.obj)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != n {
				t.Errorf("a rejected object wrote %q", buf.String()[n:])
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	if _, err := NewWriter(&bytes.Buffer{}, Header{}); err == nil {
		t.Error("zero start time accepted")
	}
	if _, err := NewWriter(&bytes.Buffer{}, Header{Started: started, Fields: map[string]string{"version": "2"}}); err == nil {
		t.Error("reserved field accepted")
	}
	if _, err := NewWriter(failWriter{}, Header{Started: started}); err == nil {
		t.Error("write error not returned")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestParseHeader(t *testing.T) {
	tests := []struct {
		line    string
		want    Header
		wantErr error // nil, ErrNotCapture, ErrUnsupported, or errAny
	}{
		{`{"kspan":"capture","version":1,"started":"2026-11-23T17:38:00Z","cluster":"c","n":5}`,
			Header{Started: time.Date(2026, 11, 23, 17, 38, 0, 0, time.UTC), Fields: map[string]string{"cluster": "c"}}, nil},
		{`{"apiVersion":"v1","kind":"Pod"}`, Header{}, ErrNotCapture},
		{`{`, Header{}, ErrNotCapture},
		{`{"kspan":"capture","version":2,"started":"2026-11-23T17:38:00Z"}`, Header{}, ErrUnsupported},
		{`{"kspan":"capture","started":"2026-11-23T17:38:00Z"}`, Header{}, ErrUnsupported},
		{`{"kspan":"trace","version":1}`, Header{}, ErrUnsupported},
		{`{"kspan":"capture","version":1,"started":"yesterday"}`, Header{}, errAny},
	}
	for _, tt := range tests {
		h, err := ParseHeader([]byte(tt.line))
		switch {
		case tt.wantErr == nil && err != nil, tt.wantErr != nil && err == nil,
			tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: error %v, want %v", tt.line, err, tt.wantErr)
		case err == nil && !(h.Started.Equal(tt.want.Started) && reflect.DeepEqual(h.Fields, tt.want.Fields)):
			t.Errorf("%s: %+v, want %+v", tt.line, h, tt.want)
		}
	}
}

var errAny = errors.New("any error")

// A header written by NewWriter parses back to itself.
func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Started: started, Fields: map[string]string{"cluster": "prod \"eu\"", "host": "ü"}}
	line, err := h.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseHeader(line)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Started.Equal(h.Started) || !reflect.DeepEqual(got.Fields, h.Fields) {
		t.Errorf("got %+v, want %+v", got, h)
	}
}

// Concurrent writes never interleave within a line.
func TestWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Started: started})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				obj := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": strings.Repeat("x", g*100+i)}}
				if err := w.Write(started, Modified, obj); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 201 {
		t.Fatalf("%d lines, want 201", len(lines))
	}
	for _, l := range lines[1:] {
		if !json.Valid([]byte(l)) {
			t.Fatalf("invalid line %q", l)
		}
	}
}
