package correlate

import (
	"strings"
	"testing"
)

const (
	tpTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tpSpan  = "00f067aa0ba902b7"
)

func TestParseTraceparent(t *testing.T) {
	valid := "00-" + tpTrace + "-" + tpSpan + "-01"
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{valid, true},
		{"  " + valid + "\n", true},
		{"00-" + tpTrace + "-" + tpSpan + "-00", true},
		{"01-" + tpTrace + "-" + tpSpan + "-01", true},
		{"01-" + tpTrace + "-" + tpSpan + "-01-what-comes-later", true},
		{"", false},
		{valid + "x", false},  // version 00 is exactly 55 characters
		{valid + "-x", false}, // and has no further fields
		{valid + "0", false},
		{"01-" + tpTrace + "-" + tpSpan + "-01x", false},
		{"ff-" + tpTrace + "-" + tpSpan + "-01", false},
		{"0g-" + tpTrace + "-" + tpSpan + "-01", false},
		{"00-" + tpTrace + "-" + tpSpan + "-0x", false},
		{"00-" + tpTrace + "-" + tpSpan + "-1", false},
		{"00-" + strings.ToUpper(tpTrace) + "-" + tpSpan + "-01", false},
		{"00-" + strings.Repeat("0", 32) + "-" + tpSpan + "-01", false},
		{"00-" + tpTrace + "-" + strings.Repeat("0", 16) + "-01", false},
		{"00_" + tpTrace + "-" + tpSpan + "-01", false},
		{"00-" + tpTrace + tpSpan + "-01-", false},
	} {
		l, ok := parseTraceparent(tt.in)
		if ok != tt.ok {
			t.Errorf("%q: ok %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if ok && (l.TraceID.String() != tpTrace || l.SpanID.String() != tpSpan) {
			t.Errorf("%q: %s %s", tt.in, l.TraceID, l.SpanID)
		}
	}
}

// FuzzParseTraceparent: what is accepted is a header whose IDs read back
// as they were written, never one with trailing characters after version 00.
func FuzzParseTraceparent(f *testing.F) {
	for _, s := range []string{"00-" + tpTrace + "-" + tpSpan + "-01", "00-" + tpTrace + "-" + tpSpan + "-01x",
		"cc-" + tpTrace + "-" + tpSpan + "-01-x", "00-0-0-0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := parseTraceparent(s)
		if !ok {
			return
		}
		h := strings.TrimSpace(s)
		if h[:2] == "00" && len(h) != 55 {
			t.Errorf("%q accepted: version 00 with %d characters", s, len(h))
		}
		if h[3:35] != l.TraceID.String() || h[36:52] != l.SpanID.String() {
			t.Errorf("%q read as %s %s", s, l.TraceID, l.SpanID)
		}
	})
}
