package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/replay"
	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tree"
)

// captures are the recorded scenarios the viewer is tested on.
var captures = []string{
	"kspan-v0/deployment-2-pods.yaml",
	"live-unschedulable/events.json", "live-unschedulable/objects.json",
	"live-deployment-rollouts/events.json", "live-deployment-rollouts/objects.json",
	"live-cronjob/events.json", "live-cronjob/objects.json",
}

// replayed replays the captures into a fresh store.
func replayed(t testing.TB, files ...string) *Store {
	t.Helper()
	st := NewStore(Limits{})
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join("..", "..", "testdata", f)
	}
	res, err := replay.Run(t.Context(), replay.Options{Files: paths, Engine: correlate.Defaults, Sink: st, Log: slog.New(slog.DiscardHandler)})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("replay: %v %v", err, res.Problems)
	}
	return st
}

func serve(t *testing.T, st *Store) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewViewer(st, ViewerOptions{Resource: otlp.Fixed([]span.Attr{span.Str(span.KeyServiceName, "kspan")})}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

var (
	traceRow = regexp.MustCompile(`data-trace="([0-9a-f]{32})"`)
	spanNode = regexp.MustCompile(`<div class="node" id="span-([0-9a-f]{16})" data-span="([0-9a-f]{16})" data-parent="([0-9a-f]*)"`)
	rowClass = regexp.MustCompile(`<div class="row( warn)?( root)?" tabindex="0"`)
	rowName  = regexp.MustCompile(`<span class="name">([^<]*)</span><span class="msg">`)
)

func listed(t *testing.T, url string) []string {
	t.Helper()
	code, _, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", url, code)
	}
	var ids []string
	for _, m := range traceRow.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestListNewestFirst(t *testing.T) {
	st := replayed(t, captures...)
	srv := serve(t, st)
	ids := listed(t, srv.URL+"/")
	if len(ids) != st.Stats().Traces || len(ids) < 5 {
		t.Fatalf("%d rows for %d traces", len(ids), st.Stats().Traces)
	}
	for i := 1; i < len(ids); i++ {
		a, _ := st.Trace(mustID(t, ids[i-1]))
		b, _ := st.Trace(mustID(t, ids[i]))
		if a.Start.Before(b.Start) {
			t.Errorf("row %d starts %v, before row %d at %v", i-1, a.Start, i, b.Start)
		}
	}
	_, h, body := get(t, srv.URL+"/")
	for _, want := range []string{"Pod e2e-unsched/stuck", "Pod.Create", "Deployment default/px", "Deployment.Update", "e2e-deploy"} {
		if !strings.Contains(body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers %v", h)
	}
	if strings.Contains(body, `data-live="1"`) {
		t.Error("a replay's list refreshes itself")
	}
}

func mustID(t *testing.T, s string) span.TraceID {
	t.Helper()
	id, ok := parseTraceID(s)
	if !ok {
		t.Fatalf("bad trace ID %q", s)
	}
	return id
}

func TestListFilters(t *testing.T) {
	st := replayed(t, captures...)
	srv := serve(t, st)
	stuck := st.List(Filter{Namespace: "e2e-unsched"})
	if len(stuck) != 1 {
		t.Fatalf("%d unschedulable traces", len(stuck))
	}
	podUID := stuck[0].Root.Attr(span.KeyObjectUID)
	for _, tc := range []struct {
		query string
		want  func(*Trace) bool
		n     int // at least
	}{
		{"namespace=e2e-unsched", func(t *Trace) bool { return t.Namespace == "e2e-unsched" }, 1},
		{"kind=cronjob", func(t *Trace) bool { return t.Root.Attr(span.KeyObjectKind) == "CronJob" }, 2},
		{"kind=Pod&name=STUCK", func(t *Trace) bool { return t.Object == "Pod e2e-unsched/stuck" }, 1},
		{"reason=FailedScheduling", func(t *Trace) bool { return t.Errors > 0 }, 1},
		{"errors=1", func(t *Trace) bool { return t.Errors > 0 }, 1},
		{"uid=" + podUID, func(t *Trace) bool { return t.Object == "Pod e2e-unsched/stuck" }, 1},
		{"namespace=default&kind=Deployment", func(t *Trace) bool { return t.Namespace == "default" }, 1},
		{"namespace=nowhere", nil, 0},
	} {
		ids := listed(t, srv.URL+"/?"+tc.query)
		var want []string
		for _, tr := range st.List(Filter{}) {
			if tc.want != nil && tc.want(tr) {
				want = append(want, tr.ID.String())
			}
		}
		if len(ids) < tc.n || !slices.Equal(ids, want) {
			t.Errorf("?%s: %v, want %v", tc.query, ids, want)
		}
	}
	_, _, body := get(t, srv.URL+"/?namespace=nowhere&errors=1")
	if !strings.Contains(body, "No trace matches") || !strings.Contains(body, `value="nowhere"`) || !strings.Contains(body, "checked") {
		t.Error("an empty filtered list does not say so or forgets the filter")
	}
}

// The page draws every span once, under its parent, in the order the
// terminal tree draws them.
func TestTracePageTellsTheTreesStory(t *testing.T) {
	st := replayed(t, captures...)
	srv := serve(t, st)
	for _, tr := range st.List(Filter{}) {
		code, _, body := get(t, srv.URL+"/trace/"+tr.ID.String())
		if code != http.StatusOK {
			t.Fatalf("trace %s: %d", tr.ID, code)
		}
		nodes := spanNode.FindAllStringSubmatch(body, -1)
		if len(nodes) != len(tr.Spans) {
			t.Fatalf("trace %s: %d rows for %d spans", tr.ID, len(nodes), len(tr.Spans))
		}
		byID := map[string]*span.Span{}
		for i := range tr.Spans {
			byID[tr.Spans[i].SpanID.String()] = &tr.Spans[i]
		}
		classes := rowClass.FindAllStringSubmatch(body, -1)
		for i, m := range nodes {
			s := byID[m[2]]
			if s == nil {
				t.Fatalf("row %d: unknown span %s", i, m[2])
			}
			delete(byID, m[2])
			if m[3] != "" && s.Parent.String() != m[3] || m[3] == "" && !s.Parent.IsZero() {
				t.Errorf("row %d: parent %q, want %s", i, m[3], s.Parent)
			}
			if (classes[i][1] != "") != s.Error {
				t.Errorf("row %d (%s): warning mark %q, span error %v", i, s.Name, classes[i][1], s.Error)
			}
		}
		var buf bytes.Buffer
		if err := tree.Render(&buf, tr.Spans, tree.Options{Width: 1000}); err != nil {
			t.Fatal(err)
		}
		if got, want := pageNames(body), treeNames(buf.String()); !slices.Equal(got, want) {
			t.Errorf("trace %s: the page's order\n%v\ndiffers from the tree's\n%v", tr.ID, got, want)
		}
		if !strings.Contains(body, tr.Object) || !strings.Contains(body, `class="tick"`) {
			t.Errorf("trace %s: no title or ruler", tr.ID)
		}
	}
}

func pageNames(body string) []string {
	var out []string
	for _, m := range rowName.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// treeNames reads the span names off the tree's rows: after the marker,
// offset and duration columns and the connectors.
var treeRow = regexp.MustCompile(`^[! ] +\+\S+ +\S+  [│├└─ ]*(?:\(orphan\) )?(\S+)`)

func treeNames(out string) []string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if m := treeRow.FindStringSubmatch(l); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

func TestTracePageWarningAndAttributes(t *testing.T) {
	st := replayed(t, "live-unschedulable/events.json", "live-unschedulable/objects.json")
	srv := serve(t, st)
	tr := st.List(Filter{Errors: true})[0]
	_, _, body := get(t, srv.URL+"/trace/"+tr.ID.String())
	for _, want := range []string{
		`<span class="bang" title="Warning">!</span>`, "Pod.FailedScheduling", "1 warning",
		"k8s.event.reason", "FailedScheduling", "Status ERROR, with the message above", "0/3 nodes are available",
		`href="/?uid=` + tr.Root.Attr(span.KeyObjectUID) + `"`,
		`href="/api/traces/` + tr.ID.String() + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestTraceJSON(t *testing.T) {
	st := replayed(t, captures...)
	srv := serve(t, st)
	tr := st.List(Filter{Kind: "Deployment", Namespace: "default"})[0]
	code, h, body := get(t, srv.URL+"/api/traces/"+tr.ID.String())
	if code != http.StatusOK || h.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", code, h)
	}
	res, spans, err := otlp.ParseJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Str != "kspan" {
		t.Errorf("resource %+v", res)
	}
	if len(spans) != len(tr.Spans) {
		t.Fatalf("%d spans, want %d", len(spans), len(tr.Spans))
	}
	for i := range spans {
		if spans[i].SpanID != tr.Spans[i].SpanID || spans[i].Parent != tr.Spans[i].Parent || !spans[i].Start.Equal(tr.Spans[i].Start) {
			t.Errorf("span %d: %+v, want %+v", i, spans[i], tr.Spans[i])
		}
	}
}

func TestNotFound(t *testing.T) {
	st := replayed(t, "kspan-v0/deployment-2-pods.yaml")
	srv := serve(t, st)
	for _, tc := range []struct{ path, contentType, says string }{
		{"/trace/0123456789abcdef0123456789abcdef", "text/html; charset=utf-8", "not in memory"},
		{"/trace/zz", "text/html; charset=utf-8", "not a trace ID"},
		{"/trace/00000000000000000000000000000000", "text/html; charset=utf-8", "not a trace ID"},
		{"/api/traces/0123456789abcdef0123456789abcdef", "application/json", `{"error":"Trace 0123`},
		{"/nothing/here", "text/html; charset=utf-8", "There is no page at /nothing/here"},
		{"/static/missing.css", "", ""},
	} {
		code, h, body := get(t, srv.URL+tc.path)
		if code != http.StatusNotFound || tc.contentType != "" && h.Get("Content-Type") != tc.contentType || !strings.Contains(body, tc.says) {
			t.Errorf("GET %s: %d %q %.200q", tc.path, code, h.Get("Content-Type"), body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", resp.StatusCode)
	}
}

func TestStaticAndVersion(t *testing.T) {
	st := NewStore(Limits{})
	srv := serve(t, st)
	for path, ct := range map[string]string{"/static/style.css": "text/css", "/static/viewer.js": "javascript"} {
		code, h, body := get(t, srv.URL+path)
		if code != http.StatusOK || !strings.Contains(h.Get("Content-Type"), ct) || len(body) < 100 {
			t.Errorf("GET %s: %d %q", path, code, h.Get("Content-Type"))
		}
	}
	_, _, v1 := get(t, srv.URL+"/api/version")
	_, _, empty := get(t, srv.URL+"/")
	if !strings.Contains(empty, "No traces yet") {
		t.Error("an empty store's list does not say so")
	}
	export(t, st, trace("a", 0, 2))
	if _, _, v2 := get(t, srv.URL+"/api/version"); v1 == v2 {
		t.Errorf("version %q did not change after an export", v1)
	}
}

// The list and the trace page say how a rollout ended, and the list
// filters by it.
func TestRolloutOutcomeShownAndFiltered(t *testing.T) {
	srv := serve(t, replayed(t, "live-job/events.json", "live-job/objects.json", "kspan-v0/deployment-2-pods.yaml"))
	_, _, all := get(t, srv.URL+"/")
	for _, want := range []string{`<span class="outcome complete">complete after 3.00s</span>`, `<span class="outcome in_progress">in progress</span>`} {
		if !strings.Contains(all, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
	_, _, done := get(t, srv.URL+"/?outcome=complete")
	if !strings.Contains(done, "Job.Create") || strings.Contains(done, "Deployment.Update") {
		t.Errorf("?outcome=complete lists other traces:\n%s", done)
	}
	if !strings.Contains(done, `<option value="complete" selected>`) {
		t.Error("the filter's select does not show the outcome chosen")
	}
	id := regexp.MustCompile(`data-trace="([0-9a-f]{32})"`).FindStringSubmatch(done)
	if id == nil {
		t.Fatal("no trace row")
	}
	_, _, page := get(t, srv.URL+"/trace/"+id[1])
	if !strings.Contains(page, `<span class="outcome complete">rollout complete after 3.00s</span>`) {
		t.Error("the trace page does not say the rollout's outcome")
	}
}

// openRollouts are two rollouts in progress, one stuck, as the engine
// lists them.
func openRollouts(now time.Time) []correlate.OpenRollout {
	return []correlate.OpenRollout{
		{Kind: "Deployment", Namespace: "shop", Name: "web<b>", UID: "d1", Generation: 4, Since: now.Add(-20 * time.Minute),
			Status:   record.WorkloadStatus{Desired: 3, Updated: 1, Conditions: []record.Condition{{Type: "Progressing", Status: "True", Reason: "ReplicaSetUpdated", Message: "is progressing"}}},
			Warnings: []correlate.RolloutWarning{{At: now.Add(-time.Minute), Kind: "Pod", Name: "web-1", Reason: "FailedScheduling", Message: "0/3 nodes are available", Count: 7}}},
		{Kind: "Job", Namespace: "shop", Name: "migrate", UID: "j1", Generation: 1, Since: now.Add(-2 * time.Minute),
			Status: record.WorkloadStatus{Active: 1}},
	}
}

func TestRolloutsPage(t *testing.T) {
	srv := httptest.NewServer(NewViewer(NewStore(Limits{}), ViewerOptions{
		Rollouts: func() []correlate.OpenRollout { return openRollouts(time.Now()) }, StuckAfter: 15 * time.Minute}))
	defer srv.Close()
	code, _, page := get(t, srv.URL+"/rollouts")
	if code != http.StatusOK {
		t.Fatalf("/rollouts answered %d", code)
	}
	for _, want := range []string{
		"2 rollouts waiting for an outcome", "1 stuck (in progress for 15m00s or more)",
		`<tr class="rollout-row stuck">`, "Deployment shop/web&lt;b&gt;", "1/3 updated · 0 ready · 0 available",
		"ReplicaSetUpdated: is progressing", `<span class="reason">FailedScheduling</span> <span class="object">Pod web-1</span> ×7`,
		"Job shop/migrate", "1 active · 0 succeeded · 0 failed",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/rollouts lacks %q", want)
		}
	}
	if strings.Contains(page, "web<b>") {
		t.Error("an object name reached the page unescaped")
	}
	_, _, stuck := get(t, srv.URL+"/rollouts?stuck=1")
	if strings.Contains(stuck, "migrate") || !strings.Contains(stuck, "web&lt;b&gt;") {
		t.Error("?stuck=1 does not keep the stuck rollout alone")
	}
	_, _, list := get(t, srv.URL+"/")
	if !strings.Contains(list, `<a href="/rollouts">2 rollouts in progress</a> · <a class="badge warn" href="/rollouts?stuck=1">1 stuck</a>`) {
		t.Error("the trace list does not link to the rollouts in progress")
	}

	// Replay has no such page.
	plain := serve(t, NewStore(Limits{}))
	if code, _, _ := get(t, plain.URL+"/rollouts"); code != http.StatusNotFound {
		t.Errorf("/rollouts without a live engine answered %d", code)
	}
}
