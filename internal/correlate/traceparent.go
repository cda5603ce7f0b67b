package correlate

import (
	"strings"

	"github.com/kspan-project/kspan/internal/span"
)

// parseTraceparent reads a W3C traceparent "00-<trace>-<span>-<flags>".
// Version 00 is exactly 55 characters; a later version may add fields after
// a further '-', which are ignored, and version ff is invalid.
func parseTraceparent(s string) (span.Link, bool) {
	var l span.Link
	s = strings.TrimSpace(s)
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' ||
		len(s) > 55 && (s[:2] == "00" || s[55] != '-') || s[:2] == "ff" {
		return l, false
	}
	var version, flags [1]byte
	if !hexInto(version[:], s[:2]) || !hexInto(flags[:], s[53:55]) ||
		!hexInto(l.TraceID[:], s[3:35]) || !hexInto(l.SpanID[:], s[36:52]) || l.TraceID.IsZero() || l.SpanID.IsZero() {
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
