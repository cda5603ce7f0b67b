package span

import (
	"math"
	"slices"
	"time"
)

// The times every output can carry. OTLP times are unsigned 64-bit
// nanoseconds since 1970, where 0 means unset; Go's UnixNano overflows after
// MaxTime (and before 1678). An Event's timestamp is whatever its reporter
// wrote, so spans are clamped into this range before any output sees them.
var (
	MinTime = time.Unix(0, 1).UTC()             // 1970-01-01T00:00:00.000000001Z
	MaxTime = time.Unix(0, math.MaxInt64).UTC() // 2262-04-11T23:47:16.854775807Z
)

// Attributes a clamped span carries: the time it had, in RFC 3339.
const (
	KeyClampedStart = "kspan.clamped.start_time"
	KeyClampedEnd   = "kspan.clamped.end_time"
)

// Clamp returns spans with every Start and End moved into [MinTime,
// MaxTime] (zero times, unset, are left alone), and how many spans it
// changed. Each changed span gets KeyClampedStart or KeyClampedEnd with the
// time it had. spans itself is not written to: when a span changes, Clamp
// returns a copy of the slice.
func Clamp(spans []Span) ([]Span, int) {
	n := 0
	for i := range spans {
		s := &spans[i]
		if !inRange(s.Start) || !inRange(s.End) {
			if n == 0 {
				spans = slices.Clone(spans)
				s = &spans[i]
			}
			n++
			s.Attrs = slices.Clip(s.Attrs) // appending below copies
			s.Start = clampTime(s.Start, &s.Attrs, KeyClampedStart)
			s.End = clampTime(s.End, &s.Attrs, KeyClampedEnd)
		}
	}
	return spans, n
}

func inRange(t time.Time) bool {
	return t.IsZero() || !t.Before(MinTime) && !t.After(MaxTime)
}

func clampTime(t time.Time, attrs *[]Attr, key string) time.Time {
	if inRange(t) {
		return t
	}
	*attrs = append(*attrs, Str(key, t.UTC().Format(time.RFC3339Nano)))
	if t.Before(MinTime) {
		return MinTime
	}
	return MaxTime
}
