package e2e

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/span"
)

// shapesReplaySame replays TestShapes' capture with the same settings as its
// kspan (-window included) and expects the same spans: IDs, parents, names
// and start times. Not end times: a parent's end is stretched over the
// children its trace holds when it is exported, after -linger of quiet by
// the live engine's clock, which ticks between records; a replay's clock
// moves only with the capture's records, so after a quiet gap longer than
// the linger (a Job's retry backoff) a span can join the trace in replay
// that came late in the live run, and its parent ends later.
func shapesReplaySame(t *testing.T, p *kspanProc) {
	live := p.spans(t)
	out := t.TempDir() + "/replay.jsonl"
	args := append([]string{"replay", "-o", "otlp-json", "-output-file", out}, kspanFlags...)
	args = append(args, "-window", shapeWindow, p.capture)
	if b, err := exec.Command(env.kspan, args...).CombinedOutput(); err != nil {
		t.Fatalf("replaying the capture: %v\n%s", err, tail(b, 30))
	}
	canon := func(ss []span.Span) []string {
		var l []string
		for _, s := range ss {
			l = append(l, fmt.Sprintf("%s %s<-%s %s %s", s.TraceID, s.SpanID, s.Parent, s.Name,
				s.Start.UTC().Format(time.RFC3339Nano)))
		}
		slices.Sort(l)
		return l
	}
	a, b := canon(live), canon(readOTLP(t, out))
	if len(a) < 500 {
		t.Fatalf("the shapes' kspan exported only %d spans", len(a))
	}
	if slices.Equal(a, b) {
		t.Logf("capture replayed to the same %d spans", len(a))
		return
	}
	var diff []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			diff = append(diff, "live only:   "+x)
		}
	}
	for _, x := range b {
		if _, found := slices.BinarySearch(a, x); !found {
			diff = append(diff, "replay only: "+x)
		}
	}
	t.Errorf("%d live spans, %d replayed; differences:\n%s", len(a), len(b), tail([]byte(strings.Join(diff, "\n")), 40))
}
