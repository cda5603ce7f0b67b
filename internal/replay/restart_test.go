package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kspan-project/kspan/internal/checkpoint"
	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/span"
)

// TestRestartExportsEachOccurrenceOnce kills an engine partway through a
// recorded live run (nothing flushed: what it held is lost), then starts a
// new one with the checkpoint of what the first delivered. The new engine
// sees what a restarted kspan sees: the relist (every Event and object in
// its latest state, observed at the restart), then the rest of the run.
// Together they export every Event's latest occurrence, none twice, and
// every parent exists in its child's trace.
func TestRestartExportsEachOccurrenceOnce(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "live-capture", "capture.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, problems := decode.Read(f, path)
	f.Close()
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	Sort(recs)
	for _, stream := range []bool{false, true} {
		cfg := correlate.Config{Hold: 2 * time.Second, Linger: 3 * time.Second, Stream: stream}
		for frac := 5; frac < 100; frac += 5 {
			k := len(recs) * frac / 100
			name := fmt.Sprintf("killed-at-%d%%", frac)
			if stream {
				name = "stream-" + name
			}
			restartAt(t, name, recs, k, cfg)
		}
	}
}

// restartAt is one case of TestRestartExportsEachOccurrenceOnce: killed
// before record k.
func restartAt(t *testing.T, name string, recs []record.Record, k int, cfg correlate.Config) {
	{
		t.Run(name, func(t *testing.T) {
			var before, after []span.Span
			a := cfg
			a.Out = correlate.ConsumerFunc(func(s []span.Span) error { before = append(before, slices.Clone(s)...); return nil })
			ea := correlate.New(a)
			for _, r := range recs[:k] {
				ea.Add(r, r.Observed)
			}
			// Killed: no Flush. The checkpoint has what was delivered.
			set := checkpoint.NewSet(0)
			set.Record(before, recs[k].Observed)

			b := cfg
			b.Checkpoint = set
			b.Out = correlate.ConsumerFunc(func(s []span.Span) error { after = append(after, slices.Clone(s)...); return nil })
			eb := correlate.New(b)
			restart := recs[k].Observed
			for _, r := range relist(recs[:k]) {
				r.Observed = restart
				eb.Add(r, restart)
			}
			for _, r := range recs[k:] {
				eb.Add(r, r.Observed)
			}
			eb.Flush()
			if eb.Stats().Checkpointed == 0 && len(before) > 0 {
				t.Error("the checkpoint was never consulted")
			}
			checkOnce(t, recs, before, after)
		})
	}
}

// relist is what an informer's list returns: each Event and each live
// object once, in its latest state.
func relist(recs []record.Record) []record.Record {
	evs := map[string]record.Record{}
	objs := map[string]record.Record{}
	var order []string
	for _, r := range recs {
		switch {
		case r.Event != nil:
			if _, ok := evs[r.Event.UID]; !ok {
				order = append(order, "e"+r.Event.UID)
			}
			evs[r.Event.UID] = r
		case r.Object != nil:
			if _, ok := objs[r.Object.UID]; !ok {
				order = append(order, "o"+r.Object.UID)
			}
			if r.Op == record.Delete {
				delete(objs, r.Object.UID)
			} else {
				objs[r.Object.UID] = r
			}
		}
	}
	var out []record.Record
	for _, k := range order { // objects first, as the informers sync before Events are watched
		if r, ok := objs[k[1:]]; ok && k[0] == 'o' {
			out = append(out, r)
		}
	}
	for _, k := range order {
		if r, ok := evs[k[1:]]; ok && k[0] == 'e' {
			out = append(out, r)
		}
	}
	return out
}

func checkOnce(t *testing.T, recs []record.Record, before, after []span.Span) {
	t.Helper()
	all := append(slices.Clone(before), after...)
	ids := map[span.ID]int{}
	pairs := map[string]int{}
	latest := map[string]int64{}
	for _, s := range all {
		ids[s.SpanID]++
		if u := s.Attr(span.KeyEventUID); u != "" {
			c, _ := s.Find(span.KeyEventCount)
			pairs[fmt.Sprintf("%s/%d", u, c.Int)]++
			latest[u] = max(latest[u], c.Int)
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("span %s exported %d times", id, n)
		}
	}
	for p, n := range pairs {
		if n > 1 {
			t.Errorf("occurrence %s exported %d times", p, n)
		}
	}
	want := map[string]int32{}
	for _, r := range recs {
		if r.Event != nil {
			want[r.Event.UID] = max(want[r.Event.UID], max(r.Event.Count, 1))
		}
	}
	for uid, c := range want {
		if latest[uid] < int64(min(c, 10)) {
			t.Errorf("event %s: latest occurrence %d not exported (exported up to %d)", uid, c, latest[uid])
		}
	}
	traceOf := map[span.ID]span.TraceID{}
	for _, s := range all {
		traceOf[s.SpanID] = s.TraceID
	}
	for _, s := range all {
		if s.Parent.IsZero() {
			continue
		}
		if ids[s.Parent] == 0 {
			t.Errorf("span %s %s: parent %s was never exported", s.SpanID, s.Name, s.Parent)
		} else if traceOf[s.Parent] != s.TraceID {
			t.Errorf("span %s %s: parent %s is in another trace", s.SpanID, s.Name, s.Parent)
		}
	}
	t.Logf("%d spans before the kill, %d after", len(before), len(after))
}
