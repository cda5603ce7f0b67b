package cli

import (
	"strings"
	"testing"
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
