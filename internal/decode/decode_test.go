package decode

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/record"
)

func readFile(t *testing.T, path string) ([]record.Record, []Problem) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Read(f, filepath.Base(path))
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// counts returns how many records are Events and Objects, failing on a
// record that is neither or both.
func counts(t *testing.T, recs []record.Record) (events, objects int) {
	t.Helper()
	for _, r := range recs {
		switch {
		case (r.Event == nil) == (r.Object == nil):
			t.Errorf("%s: want exactly one of Event and Object", r.Source)
		case r.Event != nil:
			events++
		default:
			objects++
		}
	}
	return events, objects
}

func TestReadFormats(t *testing.T) {
	tests := []struct {
		file            string
		events, objects int
		problems        []string // each Problem's text, in order
		check           func(t *testing.T, recs []record.Record)
	}{{
		file: "legacy-event.json", events: 1,
		check: func(t *testing.T, recs []record.Record) {
			e := recs[0].Event
			want := record.Event{
				UID: "5dabef8b-7a8f-4397-bb9d-fed5850cd74f", Namespace: "default",
				Name: "web-7bfb4bc78d-2xpnt.backoff", API: "v1", ResourceVersion: "301",
				Regarding: record.Ref{APIVersion: "v1", Kind: "Pod", Namespace: "default",
					Name: "web-7bfb4bc78d-2xpnt", UID: "0d0dbcb0-c19b-4c91-be4e-a306ae338269",
					FieldPath: "spec.containers{nginx}"},
				Reason: "BackOff", Message: `Back-off pulling image "nginx:1.25"`, Type: "Warning",
				ReportingComponent: "kubelet", ReportingInstance: "node-1", Count: 3,
				First: ts("2026-11-23T17:38:10Z"), Last: ts("2026-11-23T17:38:40Z"), Coarse: true,
				Created: ts("2026-11-23T17:38:10Z"), TopLevel: true,
				Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			}
			if !reflect.DeepEqual(*e, want) {
				t.Errorf("event\n got %+v\nwant %+v", *e, want)
			}
			if r := recs[0]; !r.Observed.Equal(e.Last) || r.Op != record.Upsert || r.Source != "legacy-event.json:1" {
				t.Errorf("record: Observed %v Op %v Source %q", r.Observed, r.Op, r.Source)
			}
		},
	}, {
		file: "new-event-core.json", events: 1,
		check: func(t *testing.T, recs []record.Record) {
			e := recs[0].Event
			if e.Count != 4 || e.Coarse || e.ReportingComponent != "default-scheduler" ||
				e.ReportingInstance != "default-scheduler-cp-1" || e.Action != "Scheduling" ||
				!e.First.Equal(ts("2026-11-23T17:38:09.082976Z")) ||
				!e.Last.Equal(ts("2026-11-23T17:39:10.512345Z")) {
				t.Errorf("event %+v", *e)
			}
		},
	}, {
		file: "new-event-events.json", events: 1,
		check: func(t *testing.T, recs []record.Record) {
			if e := recs[0].Event; e.API != "events.k8s.io/v1" || e.Message == "" || e.Regarding.Kind != "Pod" {
				t.Errorf("event %+v", *e)
			}
		},
	}, {
		file: "list.json", events: 1, objects: 2,
		problems: []string{"list.json:119: ConfigMap default/no-uid has no metadata.uid"},
		check: func(t *testing.T, recs []record.Record) {
			var sources []string
			for _, r := range recs {
				sources = append(sources, r.Source)
			}
			if want := []string{"list.json:4", "list.json:77", "list.json:127"}; !reflect.DeepEqual(sources, want) {
				t.Errorf("sources %q, want %q", sources, want)
			}
			d := recs[0].Object
			if d.Kind != "Deployment" || d.Generation != 4 || d.SpecManager != "kubectl" ||
				d.SpecOperation != "Update" || !d.SpecTime.Equal(ts("2026-11-23T17:39:30Z")) ||
				d.Traceparent != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" ||
				d.OwnerManager != "" || !recs[0].Observed.IsZero() {
				t.Errorf("deployment %+v", *d)
			}
			rs := recs[1].Object
			wantOwners := []record.OwnerRef{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web",
				UID: "acba8570-74af-4c1f-b8d6-76d9b6b84c27", Controller: true}}
			if !reflect.DeepEqual(rs.Owners, wantOwners) || rs.OwnerManager != "kube-controller-manager" {
				t.Errorf("replicaset %+v", *rs)
			}
		},
	}, {
		file: "watch-plain.json", events: 2, objects: 1,
		check: func(t *testing.T, recs []record.Record) {
			if recs[1].Source != "watch-plain.json:21" || recs[2].Source != "watch-plain.json:49" {
				t.Errorf("sources %q %q", recs[1].Source, recs[2].Source)
			}
			if a, b := recs[1].Event, recs[2].Event; a.UID != b.UID || a.Count != 1 || b.Count != 2 ||
				!recs[2].Observed.Equal(ts("2026-11-23T17:38:21Z")) {
				t.Errorf("repeat: %+v then %+v", *a, *b)
			}
		},
	}, {
		file: "watch-events.json", events: 1, objects: 3,
		problems: []string{"watch-events.json:98: watch error: too old resource version: 100 (300) (Expired)"},
		check: func(t *testing.T, recs []record.Record) {
			ops := []record.Op{record.Upsert, record.Upsert, record.Delete, record.Delete}
			observed := []time.Time{{}, ts("2026-11-23T17:38:30Z"), ts("2026-11-23T17:40:00Z"), ts("2026-11-23T17:41:00Z")}
			for i, r := range recs {
				if r.Op != ops[i] || !r.Observed.Equal(observed[i]) {
					t.Errorf("%s: Op %v Observed %v, want %v %v", r.Source, r.Op, r.Observed, ops[i], observed[i])
				}
			}
			if e := recs[1].Event; e.API != "events.k8s.io/v1" || e.Count != 2 || e.ReportingComponent != "kubelet" ||
				e.ReportingInstance != "node-1" || !e.Coarse || e.Message != "Stopping container nginx" {
				t.Errorf("deprecated fields: %+v", *e)
			}
		},
	}, {
		file: "watch-broken.json", objects: 2,
		problems: []string{
			"watch-broken.json:10: found 'k' where a JSON object should start; skipped to the next line starting with '{'",
			"watch-broken.json:11: malformed JSON (line 17: invalid character '{' looking for beginning of object key string); skipped to the next line starting with '{'",
			`watch-broken.json:17: Node node-1: metadata.creationTimestamp is "bad time", not an RFC 3339 time`,
			"watch-broken.json:35: JSON object truncated: the input ends inside it",
		},
		check: func(t *testing.T, recs []record.Record) {
			if recs[1].Object.Name != "node-2" || recs[1].Source != "watch-broken.json:26" {
				t.Errorf("after resync: %s %+v", recs[1].Source, *recs[1].Object)
			}
		},
	}, {
		file: "multi.yaml", events: 1, objects: 3,
		problems: []string{
			"multi.yaml: document 3 item 2: Pod default/b has no metadata.uid",
			"multi.yaml: document 6: malformed YAML: yaml: line 3: did not find expected ',' or ']'",
			"multi.yaml: document 7: a YAML string, not a Kubernetes object",
		},
		check: func(t *testing.T, recs []record.Record) {
			var sources []string
			for _, r := range recs {
				sources = append(sources, r.Source)
			}
			want := []string{"multi.yaml: document 1", "multi.yaml: document 2", "multi.yaml: document 3 item 1", "multi.yaml: document 4"}
			if !reflect.DeepEqual(sources, want) {
				t.Errorf("sources %q, want %q", sources, want)
			}
			if e := recs[1].Event; e.Count != 5 || !e.Last.Equal(ts("2026-11-23T17:39:10Z")) || !e.Coarse {
				t.Errorf("event %+v", *e)
			}
			if r := recs[3]; r.Op != record.Delete || !r.Observed.Equal(ts("2026-11-23T17:40:00Z")) {
				t.Errorf("deleted: %+v", r)
			}
		},
	}, {
		file: "capture.jsonl", events: 1, objects: 2,
		problems: []string{"capture.jsonl:6: malformed or truncated capture line: unexpected end of JSON input"},
		check: func(t *testing.T, recs []record.Record) {
			want := []struct {
				src string
				obs time.Time
				op  record.Op
			}{
				{"capture.jsonl:2", ts("2026-11-23T17:38:08.1Z"), record.Upsert},
				{"capture.jsonl:4", ts("2026-11-23T17:38:08.52114Z"), record.Upsert},
				{"capture.jsonl:5", ts("2026-11-23T17:45:00Z"), record.Delete},
			}
			for i, r := range recs {
				if r.Source != want[i].src || !r.Observed.Equal(want[i].obs) || r.Op != want[i].op {
					t.Errorf("record %d: %s %v %v, want %+v", i, r.Source, r.Observed, r.Op, want[i])
				}
			}
		},
	}, {
		file: "kspan-v0.yaml", events: 1, objects: 2,
		problems: []string{`kspan-v0.yaml: document 3: earlier kspan's capture comment: parsing time "not a time" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "not a time" as "2006"`},
		check: func(t *testing.T, recs []record.Record) {
			if !recs[0].Observed.Equal(ts("2021-05-19T09:42:58.640117041Z")) ||
				!recs[1].Observed.Equal(ts("2021-05-19T09:42:58.650959062Z")) || !recs[2].Observed.IsZero() {
				t.Errorf("observed %v %v %v", recs[0].Observed, recs[1].Observed, recs[2].Observed)
			}
			if o := recs[1].Object; o.OwnerManager != "kube-controller-manager" || o.SpecManager != "kube-controller-manager" {
				t.Errorf("replicaset %+v", *o)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			recs, probs := readFile(t, filepath.Join("testdata", tt.file))
			events, objects := counts(t, recs)
			if events != tt.events || objects != tt.objects {
				t.Errorf("got %d events, %d objects; want %d, %d", events, objects, tt.events, tt.objects)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.problems)
			}
			if t.Failed() {
				return
			}
			if tt.check != nil {
				tt.check(t, recs)
			}
		})
	}
}

// One new-recorder Event read through both APIs must look the same but for
// API: that is how the engine recognises duplicates.
func TestSameEventBothAPIs(t *testing.T) {
	core, p1 := readFile(t, "testdata/new-event-core.json")
	events, p2 := readFile(t, "testdata/new-event-events.json")
	if len(p1)+len(p2) > 0 || len(core) != 1 || len(events) != 1 {
		t.Fatalf("records %d %d, problems %v %v", len(core), len(events), p1, p2)
	}
	a, b := *core[0].Event, *events[0].Event
	if a.API != "v1" || b.API != "events.k8s.io/v1" {
		t.Errorf("API %q %q", a.API, b.API)
	}
	b.API = a.API
	if !reflect.DeepEqual(a, b) {
		t.Errorf("core/v1 and events.k8s.io/v1 differ:\n%+v\n%+v", a, b)
	}
	if !core[0].Observed.Equal(events[0].Observed) {
		t.Errorf("observed %v %v", core[0].Observed, events[0].Observed)
	}
}

func TestReadProblems(t *testing.T) {
	tests := []struct {
		name, in string
		records  int
		problems []string
	}{
		{"empty", "", 0, nil},
		{"blank", " \n\n", 0, nil},
		{"text", "hello, world\nthis is not it\n", 0,
			[]string{"in: not kubectl JSON or YAML output nor a kspan capture: a YAML string, not a Kubernetes object"}},
		{"binary", "\x00\x01\x02", 0,
			[]string{"in:1: binary data (a NUL byte), not UTF-8 JSON, YAML or a kspan capture: the rest of the input is not read"}},
		{"control characters", "\x01\x02", 0,
			[]string{"in: not kubectl JSON or YAML output nor a kspan capture: malformed YAML: yaml: control characters are not allowed"}},
		{"json array", `[{"kind":"Pod"}]`, 0,
			[]string{"in: not kubectl JSON or YAML output nor a kspan capture: a YAML sequence, not a Kubernetes object"}},
		{"capture version", `{"kspan":"capture","version":2,"started":"2026-01-01T00:00:00Z"}` + "\n" + `{"t":"2026-01-01T00:00:00Z"}`, 0,
			[]string{"in:1: unsupported kspan file: capture version 2, this kspan reads version 1"}},
		{"other kspan format", `{"kspan":"spans","version":1}`, 0,
			[]string{`in:1: unsupported kspan file: format "spans", this kspan reads "capture"`}},
		{"capture bad header and lines", `{"kspan":"capture","version":1}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":"SYNC","object":{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}}` + "\n" +
			`{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"uid":"u1","name":"x"}}}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":{"kind":"List","apiVersion":"v1","items":[]}}` + "\n", 1,
			[]string{
				`in:1: capture header: "started" is missing, want an RFC 3339 time`,
				`in:3: capture line type "SYNC", want ADDED, MODIFIED or DELETED`,
				`in:4: capture line has no observation time "t" (null)`,
				`in:5: PartialObjectMetadata x: the object's real kind was not recorded`,
				`in:6: a List where an object should be`,
			}},
		{"compact json lines", `{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u1"}}` + "\n" +
			`{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u2"}} {"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u3"}}` + "\n", 3, nil},
		// A custom resource may use the names of Event fields for its own.
		{"custom resource", `{"apiVersion":"x.io/v1","kind":"Build","metadata":{"uid":"u1","creationTimestamp":"2026-01-01T00:00:00Z"},` +
			`"source":"git","count":"many","series":[1],"lastTimestamp":5,"type":{"a":1},"related":"no"}`, 1, nil},
		{"custom Event kind", `{"apiVersion":"x.io/v1","kind":"Event","metadata":{"uid":"u1"},"count":"x"}`, 1, nil},
		{"bad metadata type", `{"apiVersion":"v1","kind":"Pod","source":"x","metadata":{"uid":"u1","generation":"2"}}`, 0,
			[]string{"in:1: Pod: metadata.generation is a JSON string, want an integer"}},
		{"event count out of range", `{"apiVersion":"v1","kind":"Event","metadata":{"uid":"u"},"count":9223372036854775807}`, 0,
			[]string{"in:1: Event: count is 9223372036854775807, out of range (a 32-bit integer: -2147483648 to 2147483647)"}},
		{"event count not whole", `{"apiVersion":"v1","kind":"Event","metadata":{"uid":"u"},"count":1.5}`, 0,
			[]string{"in:1: Event: count is a JSON number 1.5, want an integer"}},
		{"generation out of range", `{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u","generation":-9223372036854775809}}`, 0,
			[]string{"in:1: Pod: metadata.generation is -9223372036854775809, out of range (a 64-bit integer: -9223372036854775808 to 9223372036854775807)"}},
		{"event without uid", `{"apiVersion":"v1","kind":"Event","metadata":{"name":"e"}}`, 0,
			[]string{"in:1: Event e has no metadata.uid"}},
		{"event bad count", `{"apiVersion":"v1","kind":"Event","metadata":{"uid":"u"},"count":"2"}`, 0,
			[]string{"in:1: Event: count is a JSON string, want an integer"}},
		{"event bad time", `{"apiVersion":"v1","kind":"Event","metadata":{"uid":"u","name":"e"},"eventTime":"yesterday"}`, 0,
			[]string{`in:1: Event e: eventTime is "yesterday", not an RFC 3339 time`}},
		{"event unknown API", `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"uid":"u","name":"e"}}` +
			`{"apiVersion":"","kind":"Event","metadata":{"uid":"u","name":"e"}}`, 1,
			[]string{`in:1: Event e has apiVersion "", want v1 or events.k8s.io/v1`}},
		{"no kind", `{"metadata":{"uid":"u","name":"n"}}`, 0, []string{"in:1: object without kind n: no kind"}},
		{"capture line field type", `{"kspan":"capture","version":1,"started":"2026-01-01T00:00:00Z"}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":1,"object":{}}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u","name":["p"]}}}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","source":1,"metadata":{"uid":"u","name":["p"]}}}` + "\n" +
			`{"t":"2026-01-01T00:00:00Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","source":1,"metadata":{"uid":"u","name":"p"}}}` + "\n", 1,
			[]string{
				"in:2: capture line: type is a JSON number, want a string",
				"in:3: Pod: metadata.name is a JSON array, want a string",
				"in:4: Pod: metadata.name is a JSON array, want a string",
			}},
		{"watch event nested", `{"type":"ADDED","object":{"type":"ADDED","object":{}}}`, 0,
			[]string{"in:1: a watch event where an object should be"}},
		{"watch event unknown type", `{"type":"SYNC","object":{}}`, 0,
			[]string{`in:1: watch event type "SYNC", want ADDED, MODIFIED, DELETED, BOOKMARK or ERROR`}},
		{"list bad items", `{"apiVersion":"v1","kind":"List","items":{"a":1}}`, 0,
			[]string{"in:1: items: found {, want an array"}},
		{"yaml list null items", "apiVersion: v1\nkind: List\nitems: null\n", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, probs := Read(strings.NewReader(tt.in), "in")
			counts(t, recs)
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if len(recs) != tt.records || !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("got %d records, problems:\n%q\nwant %d, %q", len(recs), got, tt.records, tt.problems)
			}
		})
	}
}

func TestEventTimes(t *testing.T) {
	const head = `{"apiVersion":"v1","kind":"Event","metadata":{"uid":"u","creationTimestamp":"2026-01-01T00:00:05Z"}`
	const bare = `{"apiVersion":"v1","kind":"Event","metadata":{"uid":"u"}`
	tests := []struct {
		name, fields string
		first, last  string
		coarse       bool
		count        int32
	}{
		{"only creation", ``, "2026-01-01T00:00:05Z", "2026-01-01T00:00:05Z", true, 1},
		{"first only", `,"firstTimestamp":"2026-01-01T00:00:01Z","count":0`, "2026-01-01T00:00:01Z", "2026-01-01T00:00:01Z", true, 1},
		{"eventTime", `,"eventTime":"2026-01-01T00:00:01.5Z"`, "2026-01-01T00:00:01.5Z", "2026-01-01T00:00:01.5Z", false, 1},
		{"series wins", `,"eventTime":"2026-01-01T00:00:01.5Z","lastTimestamp":"2026-01-01T00:00:03Z","count":7,"series":{"count":3,"lastObservedTime":"2026-01-01T00:00:02.25Z"}`,
			"2026-01-01T00:00:01.5Z", "2026-01-01T00:00:02.25Z", false, 3},
		{"last before first", `,"eventTime":"2026-01-01T00:00:01.5Z","lastTimestamp":"2026-01-01T00:00:01Z"`,
			"2026-01-01T00:00:01.5Z", "2026-01-01T00:00:01.5Z", true, 1},
		{"no times at all", "", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := head + tt.fields + "}"
			if tt.name == "no times at all" {
				in = bare + "}"
			}
			recs, probs := Read(strings.NewReader(in), "in")
			if len(probs) > 0 || len(recs) != 1 {
				t.Fatalf("records %d, problems %v", len(recs), probs)
			}
			e := recs[0].Event
			if !e.First.Equal(ts(tt.first)) || !e.Last.Equal(ts(tt.last)) || e.Coarse != tt.coarse || e.Count != tt.count {
				t.Errorf("First %v Last %v Coarse %v Count %d", e.First, e.Last, e.Coarse, e.Count)
			}
		})
	}
}

func TestProblemUnwrap(t *testing.T) {
	_, probs := Read(strings.NewReader(`{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u","generation":"x"}}`), "in")
	if len(probs) != 1 {
		t.Fatalf("problems %v", probs)
	}
	var err error = probs[0]
	if inner := probs[0].Unwrap(); inner == nil || !strings.HasSuffix(err.Error(), inner.Error()) {
		t.Errorf("Unwrap %v, Error %v", inner, err)
	}
}
