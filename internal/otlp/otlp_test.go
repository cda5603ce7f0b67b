package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/kspan-project/kspan/internal/span"
)

var t0 = time.Date(2026, 11, 23, 17, 38, 8, 123456789, time.UTC)

func fixture() ([]span.Attr, []span.Span) {
	resource := []span.Attr{
		span.Str(span.KeyServiceName, "kspan"),
		span.Str(span.KeyClusterName, "kind-\"dev\""),
	}
	tid := span.TraceIDFor("uid-web", 3)
	root := span.IDFor("root")
	spans := []span.Span{{
		TraceID: tid,
		SpanID:  root,
		Name:    "Deployment.Create",
		Start:   t0,
		End:     t0.Add(12300 * time.Millisecond),
		Attrs: []span.Attr{
			span.Str(span.KeyObjectKind, "Deployment"),
			span.Int64(span.KeyObjectGeneration, 3),
			span.Boolean(span.KeySynthetic, true),
		},
		Links: []span.Link{{
			TraceID: span.TraceIDFor("uid-other", 1),
			SpanID:  span.IDFor("other"),
			Attrs:   []span.Attr{span.Str(span.KeyLinkSource, "kspan.io/traceparent")},
		}},
	}, {
		TraceID:       tid,
		SpanID:        span.IDFor("pull"),
		Parent:        root,
		Name:          "Pod.Failed",
		Start:         t0.Add(time.Second),
		End:           t0.Add(time.Second),
		Error:         true,
		StatusMessage: "Failed to pull image \"nginx:nope\"",
		Attrs: []span.Attr{
			span.Str(span.KeyEventMessage, "line one\nline two\t<b>&\u2028 ünï \\ \x01"),
			span.Int64(span.KeyEventCount, -7),
			span.Boolean("flag", false),
			span.Str("empty", ""),
		},
	}, {
		// No times, no attributes: every optional field left out.
		TraceID: tid,
		SpanID:  span.IDFor("bare"),
		Parent:  root,
	}}
	return resource, spans
}

func TestJSONRoundTrip(t *testing.T) {
	resource, spans := fixture()
	line := AppendJSON(nil, Fixed(resource), "kspan", spans)
	if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("want exactly one line ending in newline, got %q", line)
	}
	gotRes, gotSpans, err := ParseJSON(line)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotRes, resource) {
		t.Errorf("resource:\n got %+v\nwant %+v", gotRes, resource)
	}
	if !reflect.DeepEqual(gotSpans, spans) {
		t.Errorf("spans:\n got %+v\nwant %+v", gotSpans, spans)
	}
}

// TestJSONIsOTLP proves the field names and value types match the proto:
// once the hex IDs are turned into the base64 protobuf's JSON mapping uses,
// protojson (which rejects unknown fields) must decode the line into the
// same message Request builds.
func TestJSONIsOTLP(t *testing.T) {
	resource, spans := fixture()
	line := AppendJSON(nil, Fixed(resource), "kspan", spans)

	var doc any
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, line)
	}
	hexIDsToBase64(t, doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var got coltracepb.ExportTraceServiceRequest
	if err := protojson.Unmarshal(b, &got); err != nil {
		t.Fatalf("protojson rejects the line: %v\n%s", err, b)
	}
	want := Request(Fixed(resource), "kspan", spans)
	if !proto.Equal(&got, want) {
		t.Errorf("JSON and proto differ:\njson  %v\nproto %v", &got, want)
	}
}

func hexIDsToBase64(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "traceId", "spanId", "parentSpanId":
				s := x.(string)
				if s != strings.ToLower(s) {
					t.Errorf("%s %q is not lowercase hex", k, s)
				}
				raw, err := hex.DecodeString(s)
				if err != nil {
					t.Fatalf("%s %q is not hex: %v", k, s, err)
				}
				v[k] = base64.StdEncoding.EncodeToString(raw)
			default:
				hexIDsToBase64(t, x)
			}
		}
	case []any:
		for _, x := range v {
			hexIDsToBase64(t, x)
		}
	}
}

func TestJSONExactBytes(t *testing.T) {
	var tid span.TraceID
	var sid, pid span.ID
	tid[0], tid[15] = 0xab, 0x01
	sid[7] = 0xcd
	pid[0] = 0xef
	spans := []span.Span{{
		TraceID: tid, SpanID: sid, Parent: pid, Name: "Pod.BackOff",
		Start: time.Unix(0, 1700000000000000001), End: time.Unix(0, 1700000001000000000),
		Error: true, StatusMessage: "Back-off",
		Attrs: []span.Attr{span.Int64("n", 1<<62), span.Boolean("b", true)},
	}}
	got := string(AppendJSON([]byte("prefix"), Fixed([]span.Attr{span.Str("service.name", "kspan")}), "kspan", spans))
	want := `prefix{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"kspan"}}]},` +
		`"scopeSpans":[{"scope":{"name":"kspan","version":"` + ScopeVersion + `"},"spans":[{` +
		`"traceId":"ab000000000000000000000000000001","spanId":"00000000000000cd","parentSpanId":"ef00000000000000",` +
		`"name":"Pod.BackOff","kind":1,"startTimeUnixNano":"1700000000000000001","endTimeUnixNano":"1700000001000000000",` +
		`"attributes":[{"key":"n","value":{"intValue":"4611686018427387904"}},{"key":"b","value":{"boolValue":true}}],` +
		`"status":{"message":"Back-off","code":2}}]}]}]}` + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	empty := string(AppendJSON(nil, Resource{}, "", nil))
	if want := `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{"version":"` + ScopeVersion + `"}}]}]}` + "\n"; empty != want {
		t.Errorf("empty request:\n got %s\nwant %s", empty, want)
	}
}

func TestJSONDeterministic(t *testing.T) {
	resource, spans := fixture()
	first := AppendJSON(nil, Fixed(resource), "kspan", spans)
	for range 20 {
		if again := AppendJSON(nil, Fixed(resource), "kspan", spans); !bytes.Equal(first, again) {
			t.Fatalf("output changed:\n%s\n%s", first, again)
		}
	}
	var buf bytes.Buffer
	w := NewJSONWriter(&buf, Fixed(resource), "kspan")
	for range 2 {
		if err := w.WriteSpans(spans); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteSpans(nil); err != nil {
		t.Fatal(err)
	}
	if want := string(first) + string(first); buf.String() != want {
		t.Errorf("JSONWriter wrote\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestJSONWriterError(t *testing.T) {
	boom := errors.New("disk full")
	w := NewJSONWriter(failWriter{boom}, Resource{}, "kspan")
	_, spans := fixture()
	if err := w.WriteSpans(spans); !errors.Is(err, boom) {
		t.Errorf("got %v, want wrapped %v", err, boom)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestAppendString(t *testing.T) {
	for _, in := range []string{"", "plain", `q"b\`, "\x00\x1f\x7f", "\u2028\u2029", "日本語 ✓", "<&>"} {
		out := appendString(nil, in)
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != in {
			t.Errorf("appendString(%q) = %s, decodes to %q (%v)", in, out, back, err)
		}
	}
	if got, want := string(appendString(nil, "a\xffb")), `"a\ufffdb"`; got != want {
		t.Errorf("invalid UTF-8: got %s, want %s", got, want)
	}
	if got, want := string(appendString(nil, "\u2028<")), `"\u2028<"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRequest(t *testing.T) {
	resource, spans := fixture()
	req := Request(Fixed(resource), "kspan", spans)
	if len(req.ResourceSpans) != 1 || len(req.ResourceSpans[0].ScopeSpans) != 1 {
		t.Fatalf("want one ResourceSpans with one ScopeSpans, got %v", req)
	}
	rs := req.ResourceSpans[0]
	if got := rs.Resource.Attributes[0]; got.Key != span.KeyServiceName || got.Value.GetStringValue() != "kspan" {
		t.Errorf("resource attribute: %v", got)
	}
	ss := rs.ScopeSpans[0]
	if ss.Scope.Name != "kspan" || ss.Scope.Version != ScopeVersion {
		t.Errorf("scope: %v", ss.Scope)
	}
	if len(ss.Spans) != 3 {
		t.Fatalf("want 3 spans, got %d", len(ss.Spans))
	}
	root, warn, bare := ss.Spans[0], ss.Spans[1], ss.Spans[2]
	if !bytes.Equal(root.TraceId, spans[0].TraceID[:]) || !bytes.Equal(root.SpanId, spans[0].SpanID[:]) || root.ParentSpanId != nil {
		t.Errorf("root IDs: %x %x %x", root.TraceId, root.SpanId, root.ParentSpanId)
	}
	if root.Name != "Deployment.Create" || root.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("root name/kind: %q %v", root.Name, root.Kind)
	}
	if root.StartTimeUnixNano != uint64(t0.UnixNano()) || root.EndTimeUnixNano != uint64(t0.Add(12300*time.Millisecond).UnixNano()) {
		t.Errorf("root times: %d %d", root.StartTimeUnixNano, root.EndTimeUnixNano)
	}
	if a := root.Attributes; a[1].Value.GetIntValue() != 3 || !a[2].Value.GetBoolValue() {
		t.Errorf("root attributes: %v", a)
	}
	if root.Status != nil {
		t.Errorf("root status should be unset, got %v", root.Status)
	}
	if l := root.Links; len(l) != 1 || !bytes.Equal(l[0].TraceId, spans[0].Links[0].TraceID[:]) ||
		l[0].Attributes[0].Value.GetStringValue() != "kspan.io/traceparent" {
		t.Errorf("root links: %v", l)
	}
	if !bytes.Equal(warn.ParentSpanId, spans[0].SpanID[:]) {
		t.Errorf("parent: %x", warn.ParentSpanId)
	}
	if warn.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || warn.Status.GetMessage() != spans[1].StatusMessage {
		t.Errorf("warning status: %v", warn.Status)
	}
	if bare.StartTimeUnixNano != 0 || bare.Attributes != nil || bare.Name != "" {
		t.Errorf("bare span: %v", bare)
	}
}

func TestParseJSONForeign(t *testing.T) {
	// As protojson or a lenient producer might write it: base64 IDs, a
	// numeric intValue, an enum name, a double, fields kspan ignores.
	line := `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{"name":"x"},"spans":[{
		"traceId":"qwAAAAAAAAAAAAAAAAAAAQ==","spanId":"AAAAAAAAAM0=","name":"n","kind":"SPAN_KIND_SERVER",
		"flags":257,"startTimeUnixNano":1000,"attributes":[{"key":"i","value":{"intValue":5}},
		{"key":"d","value":{"doubleValue":1.5}}],"events":[{"name":"e"}],"status":{"code":"STATUS_CODE_ERROR"}}]}]}]}`
	_, spans, err := ParseJSON([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 {
		t.Fatalf("want 1 span, got %d", len(spans))
	}
	s := spans[0]
	if s.TraceID.String() != "ab000000000000000000000000000001" || s.SpanID.String() != "00000000000000cd" {
		t.Errorf("IDs: %s %s", s.TraceID, s.SpanID)
	}
	if !s.Start.Equal(time.Unix(0, 1000)) || !s.End.IsZero() || !s.Error {
		t.Errorf("times/status: %v %v %v", s.Start, s.End, s.Error)
	}
	want := []span.Attr{span.Int64("i", 5), span.Str("d", "1.5")}
	if !reflect.DeepEqual(s.Attrs, want) {
		t.Errorf("attrs: got %+v, want %+v", s.Attrs, want)
	}

	for _, bad := range []string{`{`, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"99999999999999999999"}]}]}]}`} {
		if _, _, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("ParseJSON(%s) succeeded, want error", bad)
		}
	}
}

// A span's Shared attributes are written after its own, exactly as if they
// were all in Attrs, in both encodings.
func TestSharedAttrs(t *testing.T) {
	resource, spans := fixture()
	split := make([]span.Span, len(spans))
	for i, s := range spans {
		if n := len(s.Attrs); n > 1 {
			s.Attrs, s.Shared = s.Attrs[:n/2:n/2], s.Attrs[n/2:]
		}
		split[i] = s
	}
	if got, want := AppendJSON(nil, Fixed(resource), "kspan", split), AppendJSON(nil, Fixed(resource), "kspan", spans); !bytes.Equal(got, want) {
		t.Errorf("JSON with shared attributes:\n%s\nwant\n%s", got, want)
	}
	if got, want := Request(Fixed(resource), "kspan", split), Request(Fixed(resource), "kspan", spans); !proto.Equal(got, want) {
		t.Errorf("protobuf with shared attributes:\n%v\nwant\n%v", got, want)
	}
	only := spans[0]
	only.Attrs, only.Shared = nil, only.Attrs
	if got, want := AppendJSON(nil, Resource{}, "kspan", []span.Span{only}), AppendJSON(nil, Resource{}, "kspan", spans[:1]); !bytes.Equal(got, want) {
		t.Errorf("JSON with only shared attributes:\n%s\nwant\n%s", got, want)
	}
}

// Times OTLP cannot carry are clamped in both encodings, never overflowed
// (1677 was written as 2261) nor left unset (1969, 9999).
func TestTimesOutOfRange(t *testing.T) {
	date := func(y int) time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
	for _, tt := range []struct {
		in   time.Time
		want uint64
	}{
		{date(1), 1}, {date(1677), 1}, {date(1969), 1}, {time.Unix(0, 0), 1},
		{date(2262), 1<<63 - 1}, {date(2300), 1<<63 - 1}, {date(9999), 1<<63 - 1},
		{date(2026), uint64(date(2026).UnixNano())},
	} {
		spans := []span.Span{{Name: "x", Start: tt.in, End: tt.in}}
		p := Request(Resource{}, "kspan", spans).ResourceSpans[0].ScopeSpans[0].Spans[0]
		if p.StartTimeUnixNano != tt.want || p.EndTimeUnixNano != tt.want {
			t.Errorf("%v: protobuf %d %d, want %d", tt.in, p.StartTimeUnixNano, p.EndTimeUnixNano, tt.want)
		}
		js := string(AppendJSON(nil, Resource{}, "kspan", spans))
		if want := fmt.Sprintf(`"startTimeUnixNano":"%d","endTimeUnixNano":"%d"`, tt.want, tt.want); !strings.Contains(js, want) {
			t.Errorf("%v: JSON %s, want %s", tt.in, js, want)
		}
	}
}

// With ByComponent, each reporting component's spans go under a resource
// whose service.name is the component, in order of first appearance, in
// both encodings; spans without one keep the fixed service.name.
func TestResourceByComponent(t *testing.T) {
	res := Resource{Attrs: []span.Attr{span.Str(span.KeyServiceName, "kspan"), span.Str(span.KeyClusterName, "c1")}, ByComponent: true}
	mk := func(name, comp string) span.Span {
		s := span.Span{Name: name, TraceID: span.TraceID{1}, SpanID: span.ID{byte(len(name))}}
		if comp != "" {
			s.Shared = []span.Attr{span.Str(span.KeyEventComponent, comp)}
		}
		return s
	}
	spans := []span.Span{mk("root", ""), mk("Scheduled", "default-scheduler"), mk("Pulled", "kubelet"), mk("Started1", "kubelet")}
	want := []struct {
		service string
		spans   []string
	}{{"kspan", []string{"root"}}, {"default-scheduler", []string{"Scheduled"}}, {"kubelet", []string{"Pulled", "Started1"}}}

	req := Request(res, "kspan", spans)
	if len(req.ResourceSpans) != len(want) {
		t.Fatalf("protobuf: %d ResourceSpans, want %d", len(req.ResourceSpans), len(want))
	}
	for i, w := range want {
		rs := req.ResourceSpans[i]
		var svc, cluster string
		for _, kv := range rs.Resource.Attributes {
			switch kv.Key {
			case span.KeyServiceName:
				svc = kv.Value.GetStringValue()
			case span.KeyClusterName:
				cluster = kv.Value.GetStringValue()
			}
		}
		var names []string
		for _, s := range rs.ScopeSpans[0].Spans {
			names = append(names, s.Name)
		}
		if svc != w.service || cluster != "c1" || !slices.Equal(names, w.spans) {
			t.Errorf("protobuf ResourceSpans %d: service %q cluster %q spans %v; want %q c1 %v", i, svc, cluster, names, w.service, w.spans)
		}
	}

	line := AppendJSON(nil, res, "kspan", spans)
	var got struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []struct {
					Key   string
					Value struct{ StringValue string }
				}
			}
			ScopeSpans []struct{ Spans []struct{ Name string } }
		}
	}
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("JSON: %v\n%s", err, line)
	}
	if len(got.ResourceSpans) != len(want) {
		t.Fatalf("JSON: %d resourceSpans, want %d:\n%s", len(got.ResourceSpans), len(want), line)
	}
	for i, w := range want {
		rs := got.ResourceSpans[i]
		var names []string
		for _, s := range rs.ScopeSpans[0].Spans {
			names = append(names, s.Name)
		}
		if rs.Resource.Attributes[0].Key != span.KeyServiceName || rs.Resource.Attributes[0].Value.StringValue != w.service || !slices.Equal(names, w.spans) {
			t.Errorf("JSON resourceSpans %d: %+v spans %v; want service %q spans %v", i, rs.Resource.Attributes, names, w.service, w.spans)
		}
	}
	// ParseJSON reads every resource's spans back.
	if _, back, err := ParseJSON(line); err != nil || len(back) != len(spans) {
		t.Errorf("ParseJSON: %d spans, %v; want %d", len(back), err, len(spans))
	}
	// Without ByComponent: one resource, as before.
	if n := len(Request(Fixed(res.Attrs), "kspan", spans).ResourceSpans); n != 1 {
		t.Errorf("fixed: %d ResourceSpans, want 1", n)
	}
}
