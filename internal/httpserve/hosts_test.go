package httpserve

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestHostsAllows(t *testing.T) {
	none, err := ParseHosts("", "-x")
	if err != nil {
		t.Fatal(err)
	}
	listed, err := ParseHosts(" kspan.example.com, .corp.example. ,", "-x")
	if err != nil {
		t.Fatal(err)
	}
	anyHost, err := ParseHosts("a.example,*", "-x")
	if err != nil {
		t.Fatal(err)
	}
	configured := none.With("viewer.lan:7380")
	for _, tc := range []struct {
		host                            string
		none, listed, configured, anyOK bool
	}{
		{"", true, true, true, true},
		{"localhost:7380", true, true, true, true},
		{"LOCALHOST.:8080", true, true, true, true}, // any port: kubectl port-forward
		{"localhost", true, true, true, true},
		{"web.localhost:7380", true, true, true, true},
		{"127.0.0.1:7380", true, true, true, true},
		{"[::1]:7380", true, true, true, true},
		{"[::1]", true, true, true, true},
		{"10.1.2.3:9464", true, true, true, true}, // a kubelet probe
		{"[fe80::1%25eth0]:80", true, true, true, true},
		{"evil.example.com", false, false, false, true},
		{"evil.example.com:7380", false, false, false, true},
		{"localhost.evil.example.com:7380", false, false, false, true},
		{"127.0.0.1.evil.example.com", false, false, false, true},
		{"kspan.example.com:443", false, true, false, true},
		{"KSPAN.example.com.", false, true, false, true},
		{"x.kspan.example.com", false, false, false, true},
		{"corp.example", false, true, false, true},
		{"a.b.corp.example:7380", false, true, false, true},
		{"evilcorp.example", false, false, false, true},
		{"viewer.lan:7380", false, false, true, true},
		{"viewer.lan:1234", false, false, true, true},
	} {
		for _, c := range []struct {
			name string
			h    Hosts
			want bool
		}{{"none", none, tc.none}, {"listed", listed, tc.listed}, {"configured", configured, tc.configured}, {"*", anyHost, tc.anyOK}} {
			if got := c.h.Allows(tc.host); got != c.want {
				t.Errorf("%s: Allows(%q) = %v, want %v", c.name, tc.host, got, c.want)
			}
		}
	}
	if (Hosts{}).Allows("evil.example.com") || !(Hosts{}).Allows("127.0.0.1:1") {
		t.Error("the zero Hosts does not answer only localhost and addresses")
	}
	if none.With(":7380").Allows("evil.example.com") || none.With("0.0.0.0:7380").Allows("evil.example.com") {
		t.Error("an address on every interface allows any name")
	}
}

func TestParseHostsRefuses(t *testing.T) {
	for _, bad := range []string{"http://kspan.example.com", "kspan.example.com:7380", "a b", "a/b", ".", "*.example.com"} {
		if _, err := ParseHosts(bad, "-ui-allowed-hosts"); err == nil || !strings.Contains(err.Error(), "-ui-allowed-hosts") {
			t.Errorf("ParseHosts(%q): %v", bad, err)
		}
	}
}

func TestHostsCheck(t *testing.T) {
	h, err := ParseHosts("kspan.example.com", "-x")
	if err != nil {
		t.Fatal(err)
	}
	srv := h.Check(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		method, host, origin string
		want                 int
	}{
		{"GET", "127.0.0.1:9464", "", http.StatusTeapot},
		{"GET", "evil.example.com:9464", "", http.StatusMisdirectedRequest},
		{"HEAD", "evil.example.com", "", http.StatusMisdirectedRequest},
		{"GET", "localhost:9464", "http://evil.example.com", http.StatusTeapot}, // its answer is not readable there
		{"POST", "localhost:9464", "", http.StatusTeapot},
		{"POST", "localhost:9464", "http://localhost:9464", http.StatusTeapot},
		{"POST", "localhost:9464", "http://LOCALHOST:9464", http.StatusTeapot},
		{"POST", "localhost:9464", "http://evil.example.com", http.StatusForbidden},
		{"POST", "localhost:9464", "http://localhost:8000", http.StatusForbidden},
		{"DELETE", "localhost:9464", "null", http.StatusForbidden},
		{"PUT", "kspan.example.com", "https://kspan.example.com", http.StatusTeapot},
		{"POST", "evil.example.com", "http://evil.example.com", http.StatusMisdirectedRequest},
	} {
		req := httptest.NewRequest(tc.method, "/metrics", nil)
		req.Host = tc.host
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s Host %q Origin %q: %d, want %d (%s)", tc.method, tc.host, tc.origin, rec.Code, tc.want, rec.Body)
		}
		if rec.Code == http.StatusMisdirectedRequest && !strings.Contains(rec.Body.String(), "-x") {
			t.Errorf("the refusal does not name the flag: %s", rec.Body)
		}
	}
}

// A name under an attacker's domain is never answered, whatever comes
// before it: DNS rebinding needs such a name, and only it.
func FuzzHostsAllows(f *testing.F) {
	for _, s := range []string{"", "localhost", "127.0.0.1", "[::1]:80", "kspan.example.com", "x.localhost", "LOCALHOST.", "a:b:c", "[", "]:", "%"} {
		f.Add(s, uint16(7380))
	}
	none, err := ParseHosts("", "-x")
	if err != nil {
		f.Fatal(err)
	}
	listed, err := ParseHosts("kspan.example.com,.corp.example", "-x")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, prefix string, port uint16) {
		host := prefix + ".evil.example.com"
		if port != 0 {
			host += ":" + strconv.Itoa(int(port))
		}
		if none.Allows(host) || listed.Allows(host) || listed.With("127.0.0.1:7380").Allows(host) {
			t.Fatalf("Allows(%q)", host)
		}
	})
}
