package span

import (
	"testing"
	"time"
)

func TestClamp(t *testing.T) {
	date := func(y int) time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name               string
		start, end         time.Time
		wantStart, wantEnd time.Time
		attrs              []Attr
	}{
		{"in range", date(2026), date(2026), date(2026), date(2026), nil},
		{"unset", time.Time{}, time.Time{}, time.Time{}, time.Time{}, nil},
		{"epoch itself", time.Unix(0, 0), date(2026), MinTime, date(2026),
			[]Attr{Str(KeyClampedStart, "1970-01-01T00:00:00Z")}},
		{"1677 and 1969", date(1677), date(1969), MinTime, MinTime,
			[]Attr{Str(KeyClampedStart, "1677-06-01T00:00:00Z"), Str(KeyClampedEnd, "1969-06-01T00:00:00Z")}},
		{"year 1", date(1), date(2026), MinTime, date(2026), []Attr{Str(KeyClampedStart, "0001-06-01T00:00:00Z")}},
		{"2262 and 9999", date(2262), date(9999), MaxTime, MaxTime,
			[]Attr{Str(KeyClampedStart, "2262-06-01T00:00:00Z"), Str(KeyClampedEnd, "9999-06-01T00:00:00Z")}},
		{"the last nanosecond", MaxTime, MaxTime.Add(time.Nanosecond), MaxTime, MaxTime,
			[]Attr{Str(KeyClampedEnd, "2262-04-11T23:47:16.854775808Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []Span{{Name: "x", Start: tt.start, End: tt.end, Attrs: make([]Attr, 0, 4)}}
			out, n := Clamp(in)
			s := out[0]
			if !s.Start.Equal(tt.wantStart) || !s.End.Equal(tt.wantEnd) {
				t.Errorf("start %v end %v, want %v %v", s.Start, s.End, tt.wantStart, tt.wantEnd)
			}
			if want := min(len(tt.attrs), 1); n != want {
				t.Errorf("%d spans clamped, want %d", n, want)
			}
			if len(s.Attrs) != len(tt.attrs) {
				t.Fatalf("attrs %v, want %v", s.Attrs, tt.attrs)
			}
			for i := range tt.attrs {
				if s.Attrs[i] != tt.attrs[i] {
					t.Errorf("attrs %v, want %v", s.Attrs, tt.attrs)
				}
			}
			// Neither the span nor its Attrs' spare capacity is written to.
			if !in[0].Start.Equal(tt.start) || !in[0].End.Equal(tt.end) || in[0].Attrs[:1][0].Key != "" {
				t.Errorf("the input span was written to: %+v", in[0])
			}
		})
	}
}
