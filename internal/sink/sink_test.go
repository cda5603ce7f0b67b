package sink

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/span"
	"github.com/kspan-project/kspan/internal/tree"
)

func traceOf(n int, start time.Time) []span.Span {
	id := span.TraceIDFor(fmt.Sprint("uid-", n), 1)
	root := span.Span{TraceID: id, SpanID: span.IDFor("root", fmt.Sprint(n)), Name: fmt.Sprintf("root-%d", n), Start: start, End: start.Add(time.Second)}
	child := span.Span{TraceID: id, SpanID: span.IDFor("child", fmt.Sprint(n)), Parent: root.SpanID, Name: fmt.Sprintf("child-%d", n), Start: start, End: start}
	return []span.Span{root, child}
}

// A replay's tree holds at most MaxHeld spans: beyond it, it draws what it
// holds, in order of start, and goes on; every trace is drawn once.
func TestTreeHoldsABoundedNumberOfSpans(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	s := NewTree(&out, tree.Options{Width: 80})
	s.MaxHeld = 5
	for _, n := range []int{2, 1, 3, 5, 4} { // out of start order
		if err := s.Export(context.Background(), traceOf(n, start.Add(time.Duration(n)*time.Minute))); err != nil {
			t.Fatal(err)
		}
		if len(s.spans) > s.MaxHeld {
			t.Fatalf("holds %d spans, bound %d", len(s.spans), s.MaxHeld)
		}
	}
	drawnEarly := out.Len() > 0
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !drawnEarly {
		t.Errorf("nothing drawn before Close with more than MaxHeld spans exported")
	}
	got := out.String()
	var at []int
	for n := 1; n <= 5; n++ {
		if c := strings.Count(got, fmt.Sprintf("● root-%d ", n)); c != 1 {
			t.Errorf("root-%d drawn %d times", n, c)
		}
		at = append(at, strings.Index(got, fmt.Sprintf("● root-%d ", n)))
	}
	// The first three traces were drawn together, in order of start.
	if !(at[0] < at[1] && at[1] < at[2]) {
		t.Errorf("traces held together not drawn in order of start:\n%s", got)
	}
}
