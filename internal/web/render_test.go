package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/printable"
	"github.com/kspan-project/kspan/internal/span"
)

// Everything the cluster wrote reaches the pages escaped: names, messages,
// attributes and filter values never become markup.
func TestPagesEscape(t *testing.T) {
	const evil = `x"><script>alert('k')</script>&`
	st := NewStore(Limits{})
	tr := trace(evil, 0, 2)
	tr[1].Attrs = append(tr[1].Attrs, span.Str(span.KeyEventMessage, evil), span.Str(evil, evil))
	tr[1].Error, tr[1].StatusMessage = true, evil
	tr[1].Links = []span.Link{{TraceID: tr[0].TraceID, SpanID: tr[0].SpanID, Attrs: []span.Attr{span.Str(evil, evil)}}}
	export(t, st, tr)
	srv := serve(t, st)
	for _, path := range []string{"/", "/?name=" + strings.ReplaceAll(evil, "&", "%26") + "&namespace=" + "%22%3E%3Cb%3E", "/trace/" + tr[0].TraceID.String(), "/" + "%3Cscript%3E"} {
		code, _, body := get(t, srv.URL+path)
		if code != http.StatusOK && code != http.StatusNotFound {
			t.Fatalf("%s: %d", path, code)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, `"><b>`) {
			t.Errorf("%s: unescaped input in the page:\n%s", path, body)
		}
		if path != "/"+"%3Cscript%3E" && !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s: the escaped value is missing", path)
		}
	}
}

// Text that would reorder, hide or ring reaches the pages without those
// characters, wherever it is shown; the OTLP/JSON keeps the data as it is.
func TestPagesDropSpoofingCharacters(t *testing.T) {
	// "web-\u202e1-bed" shows as "web-deb-1" where U+202E is honoured.
	const name = "web-\u202e1-bed\u200b"
	spoof := func(s string) string { return s + "\u2066\a\x1b[2J\u200f\u061c\ufeff\u0085" + s }
	st := NewStore(Limits{})
	tr := trace(name, 0, 2)
	tr[0].Name = spoof("Deployment.Update")
	tr[0].Attrs = append(tr[0].Attrs, span.Str(span.KeyNamespace, spoof("ns")))
	tr[1].Attrs = append(tr[1].Attrs, span.Str(span.KeyEventMessage, spoof("Started container")),
		span.Str(span.KeyEventReason, spoof("Started")), span.Str(spoof("key"), spoof("value")))
	tr[1].Error, tr[1].StatusMessage = true, spoof("failed")
	tr[1].Links = []span.Link{{TraceID: tr[0].TraceID, SpanID: tr[0].SpanID, Attrs: []span.Attr{span.Str(spoof("lk"), spoof("lv"))}}}
	export(t, st, tr)
	srv := serve(t, st)
	id := tr[0].TraceID.String()
	for _, path := range []string{"/", "/trace/" + id, "/?name=-%E2%80%AE1", "/?name=%E2%80%AEx%07&reason=%E2%80%8B%1B"} {
		code, _, body := get(t, srv.URL+path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
		if i := strings.IndexFunc(body, func(r rune) bool {
			return printable.Hidden(r) || r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r < 0xa0
		}); i >= 0 {
			t.Errorf("%s: %U at %.80q", path, []rune(body[i:])[0], body[max(i-40, 0):])
		}
		if !strings.Contains(body, "web-1-bed") && !strings.Contains(path, "x%07") {
			t.Errorf("%s: the name is missing", path)
		}
	}
	_, _, body := get(t, srv.URL+"/trace/"+id)
	for _, want := range []string{"Deployment.Update [2J Deployment.Update", "Started container[2JStarted container", "key[2Jkey", "value[2Jvalue", "failed[2Jfailed", "lv[2Jlv"} {
		if !strings.Contains(body, want) {
			t.Errorf("the trace page lacks %q", want)
		}
	}
	_, _, js := get(t, srv.URL+"/api/traces/"+id)
	_, spans, err := otlp.ParseJSON([]byte(js))
	if err != nil || len(spans) != 2 || spans[0].Name != tr[0].Name || spans[1].Attr(span.KeyEventMessage) != spoof("Started container") {
		t.Errorf("the OTLP/JSON does not carry the data as it is: %v %+v", err, spans)
	}
}
