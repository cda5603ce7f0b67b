package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kspan-project/kspan/internal/httpserve"
)

// request sends one request to h with the given Host (and Origin, if any).
func request(h http.Handler, method, host, origin, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// jsonError reads an API error: {"error": "..."}.
func jsonError(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
		t.Errorf("not an API error: %v %q", err, rec.Body)
	}
	return body.Error
}

func viewerFor(t *testing.T, allowed string) (*Viewer, string) {
	t.Helper()
	st := NewStore(Limits{})
	tr := trace("web", 0, 2)
	export(t, st, tr)
	hosts, err := httpserve.ParseHosts(allowed, "-ui-allowed-hosts")
	if err != nil {
		t.Fatal(err)
	}
	return NewViewer(st, ViewerOptions{Hosts: hosts.With("127.0.0.1:7380")}), tr[0].TraceID.String()
}

// A web page that rebinds its name to this machine gets nothing: the
// viewer answers only localhost, IP addresses and the names it was given.
func TestViewerChecksHost(t *testing.T) {
	v, id := viewerFor(t, "")
	paths := []string{"/", "/trace/" + id, "/api/traces/" + id, "/api/version", "/static/style.css", "/nothing"}
	for _, host := range []string{"evil.example.com", "evil.example.com:7380", "localhost.evil.example.com:7380", "kspan.example.com"} {
		for _, path := range paths {
			rec := request(v, "GET", host, "", path)
			if rec.Code != http.StatusMisdirectedRequest || strings.Contains(rec.Body.String(), id) && !strings.Contains(path, id) {
				t.Errorf("GET %s Host %s: %d %.100q", path, host, rec.Code, rec.Body)
			}
			if strings.HasPrefix(path, "/api/") {
				if msg := jsonError(t, rec); !strings.Contains(msg, "-ui-allowed-hosts") {
					t.Errorf("the refusal does not say how to allow the name: %q", msg)
				}
			}
		}
	}
	for _, host := range []string{"localhost:7380", "127.0.0.1:7380", "[::1]:7380", "localhost:8080", "192.0.2.7:7380"} {
		for _, path := range paths[:5] {
			if rec := request(v, "GET", host, "", path); rec.Code != http.StatusOK {
				t.Errorf("GET %s Host %s: %d %.100q", path, host, rec.Code, rec.Body)
			}
		}
	}

	listed, _ := viewerFor(t, "kspan.example.com")
	if rec := request(listed, "GET", "kspan.example.com", "", "/"); rec.Code != http.StatusOK {
		t.Errorf("a listed name: %d", rec.Code)
	}
	if rec := request(listed, "GET", "evil.example.com", "", "/"); rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("a name not listed: %d", rec.Code)
	}
	anyHost, _ := viewerFor(t, "*")
	if rec := request(anyHost, "GET", "evil.example.com", "", "/"); rec.Code != http.StatusOK {
		t.Errorf("-ui-allowed-hosts '*': %d", rec.Code)
	}
}

// What the issue reproduced with curl -H 'Host: evil.example.com', on a
// real server.
func TestViewerServerRefusesForeignHost(t *testing.T) {
	st := NewStore(Limits{})
	tr := trace("web", 0, 2)
	export(t, st, tr)
	srv := serve(t, st)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/traces/"+tr[0].TraceID.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example.com: %d", resp.StatusCode)
	}
}

func TestViewerOnlyReads(t *testing.T) {
	v, id := viewerFor(t, "")
	for _, method := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		for _, path := range []string{"/", "/trace/" + id, "/api/traces/" + id, "/api/version", "/api/traces/", "/static/style.css", "/nothing"} {
			rec := request(v, method, "localhost:7380", "", path)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", method, path, rec.Code, rec.Header().Get("Allow"))
			}
			if strings.HasPrefix(path, "/api/") {
				jsonError(t, rec)
			}
			// The same from a page of another origin is refused before.
			if rec := request(v, method, "localhost:7380", "http://evil.example.com", path); rec.Code != http.StatusForbidden {
				t.Errorf("%s %s from another origin: %d", method, path, rec.Code)
			}
		}
	}
	if rec := request(v, "HEAD", "localhost:7380", "", "/trace/"+id); rec.Code != http.StatusOK {
		t.Errorf("HEAD: %d", rec.Code)
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	v, _ := viewerFor(t, "")
	for path, says := range map[string]string{
		"/api/traces/":       "A trace ID is missing",
		"/api/traces/zz":     "not a trace ID",
		"/api/traces/%00%1b": "not a trace ID",
		"/api/traces/0123456789abcdef0123456789abcdef":   "not in memory",
		"/api/traces/0123456789abcdef0123456789abcdef/x": "nothing at",
		"/api/nothing": "nothing at",
		"/api/":        "nothing at",
	} {
		rec := request(v, "GET", "127.0.0.1:7380", "", path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, rec.Code)
		}
		if msg := jsonError(t, rec); !strings.Contains(msg, says) {
			t.Errorf("GET %s: %q, want it to say %q", path, msg, says)
		}
	}
}
