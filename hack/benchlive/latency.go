package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kspan-project/kspan/internal/otlp"
	"github.com/kspan-project/kspan/internal/span"
)

// tailer reads kspan's output as it grows and notes when each span
// appeared.
type tailer struct {
	path string
	mu   sync.Mutex
	off  int64
	seen map[span.ID]time.Time
	all  []span.Span
}

func (t *tailer) run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		t.read()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (t *tailer) read() {
	f, err := os.Open(t.path)
	if err != nil {
		return
	}
	defer f.Close()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return
	}
	now := time.Now()
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return // an incomplete line is read again next time
		}
		t.off += int64(len(line))
		_, spans, perr := otlp.ParseJSON(line)
		if perr != nil {
			logf("output line at %d: %v", t.off, perr)
			continue
		}
		for _, s := range spans {
			if _, ok := t.seen[s.SpanID]; !ok {
				t.seen[s.SpanID] = now
				t.all = append(t.all, s)
			}
		}
	}
}

// missing lists the Events with no span for their latest count (at most
// kspan's -max-repeats, 10).
func (t *tailer) missing(events []corev1.Event) []string {
	t.read()
	t.mu.Lock()
	defer t.mu.Unlock()
	have := map[string]int64{}
	for _, s := range t.all {
		if u := s.Attr(span.KeyEventUID); u != "" {
			if a, ok := s.Find(span.KeyEventCount); ok {
				have[u] = max(have[u], a.Int)
			}
		}
	}
	return uncovered(events, have, true)
}

// uncovered lists the Events whose latest count (at most kspan's
// -max-repeats, 10) is above the count have holds for their UID. With
// series false an Event's count is core/v1's count field alone (what the
// k8s_events receiver reports), not its series' count.
func uncovered(events []corev1.Event, have map[string]int64, series bool) []string {
	var out []string
	for _, e := range events {
		c := e.Count
		if series && e.Series != nil {
			c = e.Series.Count
		}
		if have[string(e.UID)] < int64(min(max(c, 1), 10)) {
			out = append(out, string(e.UID))
		}
	}
	return out
}

// match is an Event span of an Event after start whose occurrence the
// harness saw.
type match struct {
	s       span.Span
	arrived time.Time // when the harness saw the occurrence
	out     time.Time // when the span appeared in kspan's output
	coarse  bool      // the Event has whole-second times only
}

// matches are the Event spans of Events after start that the harness saw.
func (t *tailer) matches(start time.Time, w *eventWatch) []match {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []match
	for _, s := range t.all {
		u := s.Attr(span.KeyEventUID)
		if u == "" || s.Start.Before(start) {
			continue
		}
		if at, ok := w.seen[occurrence(s)]; ok {
			out = append(out, match{s: s, arrived: at, out: t.seen[s.SpanID], coarse: w.coarse[u]})
		}
	}
	return out
}

// latencies are, for each match, the time from the Event reaching a
// watcher (the harness's own informer saw that count) to its span appearing
// in the output: the delay kspan adds, not the controllers' own delay in
// writing their Events.
func latencies(ms []match) []time.Duration {
	var out []time.Duration
	for _, m := range ms {
		out = append(out, m.out.Sub(m.arrived))
	}
	slices.Sort(out)
	return out
}

// writeLatencies writes, per match, its latency, its start less the
// harness's arrival, whether the Event is coarse, and its name: to look into
// the figures (latencies.tsv beside the outputs).
func writeLatencies(path string, ms []match) error {
	var b strings.Builder
	b.WriteString("latency_s\tstart_minus_arrival_s\tcoarse\tname\tarrival\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "%.3f\t%.3f\t%v\t%s\t%s\n", m.out.Sub(m.arrived).Seconds(), m.s.Start.Sub(m.arrived).Seconds(),
			m.coarse, m.s.Name, m.arrived.UTC().Format("15:04:05.000"))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// receiveLags are, for the matches that start at kspan's own observation
// (an Event with a whole-second time seen within that second: the span
// starts at the observation, a time with a fraction after the harness saw
// the Event), how much later kspan took the Event in than the harness did:
// the part of the latency that is not the hold.
func receiveLags(ms []match) []time.Duration {
	var out []time.Duration
	for _, m := range ms {
		s := m.s
		if m.coarse && s.Start.Nanosecond() != 0 && s.Start.Equal(s.End) && !s.Start.Before(m.arrived) {
			out = append(out, s.Start.Sub(m.arrived))
		}
	}
	slices.Sort(out)
	return out
}

// occurrence is "UID/count" of an Event span, as eventWatch keys them.
func occurrence(s span.Span) string {
	c, _ := s.Find(span.KeyEventCount)
	return fmt.Sprintf("%s/%d", s.Attr(span.KeyEventUID), c.Int)
}

// eventWatch notes when each (Event UID, count) first reached the harness.
type eventWatch struct {
	mu   sync.Mutex
	seen map[string]time.Time
	// coarse says an Event has no eventTime (whole-second times only).
	coarse map[string]bool
}

func watchEvents(ctx context.Context, client kubernetes.Interface) (*eventWatch, error) {
	w := &eventWatch{seen: map[string]time.Time{}, coarse: map[string]bool{}}
	note := func(o any) {
		e, ok := o.(*eventsv1.Event)
		if !ok {
			return
		}
		c := int32(1)
		if e.Series != nil && e.Series.Count > 1 {
			c = e.Series.Count
		} else if e.DeprecatedCount > 1 {
			c = e.DeprecatedCount
		}
		k := fmt.Sprintf("%s/%d", e.UID, c)
		w.mu.Lock()
		if _, ok := w.seen[k]; !ok {
			w.seen[k] = time.Now()
		}
		w.coarse[string(e.UID)] = e.EventTime.IsZero()
		w.mu.Unlock()
	}
	f := informers.NewSharedInformerFactory(client, 0)
	inf := f.Events().V1().Events().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: note, UpdateFunc: func(_, o any) { note(o) }}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, errors.New("the harness's event informer did not sync")
	}
	return w, nil
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(q*float64(len(d))))]
}
