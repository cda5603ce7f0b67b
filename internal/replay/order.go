package replay

import (
	"time"

	"github.com/kspan-project/kspan/internal/decode"
	"github.com/kspan-project/kspan/internal/record"
)

// DefaultWindow is how far out of order a capture's records may come and
// still be replayed in order: live mode writes them as it sees them, a few
// milliseconds apart at worst, and captures written side by side (one per
// replica, say) are merged as they are read.
const DefaultWindow = time.Minute

// at is when a record sorts: its observation time, or the zero time for an
// object version dated by inference (known before any Event needs it).
func at(r record.Record) time.Time {
	if r.Inferred {
		return time.Time{}
	}
	return r.Observed
}

// source is one ordered stream of records: the inputs read whole, sorted
// together, or one capture, in order within the window.
type source struct {
	in   *decode.Input   // a capture; nil for the sorted records
	recs []record.Record // the sorted records still to come
	// floor is the earliest time a record still to come may sort at
	// without being out of the window: the latest seen less the window for
	// a capture, the next record's time for sorted records.
	floor time.Time
	done  bool
}

// pull gives the source's next record.
func (s *source) pull(window time.Duration) (record.Record, bool) {
	if s.in == nil {
		if len(s.recs) == 0 {
			s.done, s.recs = true, nil
			return record.Record{}, false
		}
		r := s.recs[0]
		s.recs[0] = record.Record{}
		s.recs = s.recs[1:]
		if len(s.recs) > 0 {
			s.floor = at(s.recs[0])
		}
		return r, true
	}
	r, ok := s.in.Next()
	if !ok {
		s.done = true
		return r, false
	}
	if f := at(r).Add(-window); f.After(s.floor) {
		s.floor = f
	}
	return r, true
}

// merger orders the records of several sources, holding in a heap those
// that a source may still precede: a record is released once every source
// has gone past its time (its floor is later). It holds about a window's
// worth of each capture, however long the captures are. A record that
// comes after one that sorts later was released is out of the window: it
// is released next, out of order, and counted.
type merger struct {
	srcs   []*source
	window time.Duration
	held   recordHeap
	last   record.Record // the latest in order released
	begun  bool
	late   int
}

func newMerger(srcs []*source, window time.Duration) *merger {
	return &merger{srcs: srcs, window: window}
}

// next returns the next record in order, and false when every source is
// exhausted and every record released. problems is called after each pull
// so that a capture's Problems are reported as they are met.
func (m *merger) next(problems func(*source)) (record.Record, bool) {
	for {
		var low *source // the live source with the earliest floor
		for _, s := range m.srcs {
			if !s.done && (low == nil || s.floor.Before(low.floor)) {
				low = s
			}
		}
		if len(m.held) > 0 && (low == nil || at(m.held[0]).Before(low.floor)) {
			r := m.held.pop()
			if m.begun && compare(r, m.last) < 0 {
				m.late++
			} else {
				m.last, m.begun = r, true
			}
			return r, true
		}
		if low == nil {
			return record.Record{}, false
		}
		r, ok := low.pull(m.window)
		problems(low)
		if ok {
			m.held.push(r)
		}
	}
}

// recordHeap is a min-heap of records in Sort's order (container/heap
// would box every record it is given and gives back).
type recordHeap []record.Record

func (h *recordHeap) push(r record.Record) {
	*h = append(*h, r)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if compare(q[i], q[p]) >= 0 {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *recordHeap) pop() record.Record {
	q := *h
	r := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q[n] = record.Record{}
	q = q[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && compare(q[c+1], q[c]) < 0 {
			c++
		}
		if compare(q[c], q[i]) >= 0 {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	*h = q
	return r
}
