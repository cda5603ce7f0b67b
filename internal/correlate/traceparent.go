package correlate

import (
	"strings"

	"github.com/kspan-project/kspan/internal/span"
)

// parseTraceparent reads a W3C traceparent "00-<trace>-<span>-<flags>".
func parseTraceparent(s string) (span.Link, bool) {
	var l span.Link
	if s == "" { // nearly always: no allocation for the split
		return l, false
	}
	p := strings.Split(strings.TrimSpace(s), "-")
	if len(p) < 4 || len(p[0]) != 2 || len(p[1]) != 32 || len(p[2]) != 16 || p[0] == "ff" {
		return l, false
	}
	if !hexInto(l.TraceID[:], p[1]) || !hexInto(l.SpanID[:], p[2]) || l.TraceID.IsZero() || l.SpanID.IsZero() {
		return span.Link{}, false
	}
	return l, true
}

func hexInto(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
