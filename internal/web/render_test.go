package web

import (
	"net/http"
	"strings"
	"testing"

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
