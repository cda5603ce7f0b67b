package cli

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/live"
)

func TestMetricsFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-metrics-addr", "nowhere"}, {"-metrics-addr", "off", "-pprof"}} {
		if _, _, code := run(t, nil, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

func TestMetricsFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		f    metricsFlags
		want string
	}{
		{metricsFlags{Addr: "127.0.0.1:9464"}, ""},
		{metricsFlags{Addr: "9465", Pprof: true}, ""},
		{metricsFlags{Addr: "off"}, ""},
		{metricsFlags{Addr: "nowhere"}, `-metrics-addr "nowhere"`},
		{metricsFlags{Addr: "off", Pprof: true}, "-pprof needs -metrics-addr"},
	} {
		err := tc.f.validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error %v, want %q", tc.f, err, tc.want)
		}
	}
}

// What the metrics endpoints answer, by address and -metrics-allowed-hosts.
func TestMetricsHosts(t *testing.T) {
	for _, tc := range []struct {
		addr, allowed string
		anyHost       bool
		name          string // answered (besides IP addresses and localhost)
	}{
		{"127.0.0.1:9464", "", false, ""},
		{"localhost:9464", "", false, ""},
		{"[::1]:9464", "", false, ""},
		{":9464", "", true, ""}, // the Helm chart's
		{"0.0.0.0:9464", "", true, ""},
		{"10.0.0.5:9464", "", true, ""},
		{"kspan.lan:9464", "", true, "kspan.lan"},
		{":9464", "kspan.monitoring.svc", false, "kspan.monitoring.svc"},
		{"127.0.0.1:9464", "kspan.example.com", false, "kspan.example.com"},
		{"127.0.0.1:9464", "*", true, "evil.example.com"},
	} {
		f := metricsFlags{Addr: tc.addr, AllowedHosts: tc.allowed}
		if err := f.validate(); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		hosts, anyHost := hostsFor(f, tc.addr)
		if anyHost != tc.anyHost {
			t.Errorf("%+v: any host %v, want %v", f, anyHost, tc.anyHost)
		}
		if !hosts.Allows("10.244.1.7:9464") || !hosts.Allows("localhost:9464") {
			t.Errorf("%+v: a probe by IP or localhost is refused", f)
		}
		if tc.name != "" && !hosts.Allows(tc.name+":9464") {
			t.Errorf("%+v: %s is refused", f, tc.name)
		}
		if tc.allowed != "*" && hosts.Allows("evil.example.com") {
			t.Errorf("%+v: pprof would answer evil.example.com", f)
		}
	}
	if err := (&metricsFlags{Addr: "off", AllowedHosts: "http://x"}).validate(); err == nil || !strings.Contains(err.Error(), "-metrics-allowed-hosts") {
		t.Errorf("a bad -metrics-allowed-hosts: %v", err)
	}
}

// The served endpoints check Host as hostsFor says: on loopback a foreign
// name is refused; on every interface /healthz answers it, pprof does not.
func TestMetricsServerChecksHost(t *testing.T) {
	for _, tc := range []struct {
		addr           string
		healthz, pprof int
	}{
		{"127.0.0.1:0", http.StatusMisdirectedRequest, http.StatusMisdirectedRequest},
		{"0.0.0.0:0", http.StatusOK, http.StatusMisdirectedRequest},
	} {
		var st live.Status
		st.Publish(live.Snapshot{At: time.Now()})
		_, ms, err := openMetrics(metricsFlags{Addr: tc.addr, Pprof: true}, &st, nil, nil, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		port := ms.srv.Addr().(*net.TCPAddr).Port
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- ms.srv.Run(ctx) }()
		for path, want := range map[string]int{"/healthz": tc.healthz, "/debug/pprof/cmdline": tc.pprof} {
			for host, want := range map[string]int{"evil.example.com": want, "localhost": http.StatusOK} {
				req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Host = host
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("%s: GET %s Host %s: %d, want %d", tc.addr, path, host, resp.StatusCode, want)
				}
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
