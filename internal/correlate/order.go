package correlate

import (
	"math"
	"time"
)

// queueHead drops decided occurrences from the front of the queue and
// returns the first still held, or nil.
func (e *Engine) queueHead() *occ {
	for {
		o, run := e.queue.top()
		if o == nil || o.state == pending {
			return o
		}
		e.queue.pop(run)
	}
}

// late reports whether o arrived too late for its hold: at least four fifths
// of the hold after its own time (a controller's backlog writes Events a
// minute after their time under load; a node's clock may run behind). It
// is decided a fifth of the hold after it arrived, outside the timestamp
// order, so that a stream of such Events does not hold up the timely ones
// behind it: what it causes is decided after it all the same, because a
// decision first decides the causes it finds still held.
// tNS is o.t in Unix nanoseconds (unixNanos).
func (e *Engine) late(o *occ, tNS int64) bool {
	return addNanos(tNS, e.cfg.Hold) <= addNanos(o.arrived, e.cfg.Hold/5)
}

// popLate drops decided occurrences from the front of the late queue and
// returns the first still held, or nil.
func (e *Engine) popLate() *occ {
	for len(e.lateQ) > 0 {
		if o := e.lateQ[0]; o.state == pending {
			return o
		}
		e.lateQ[0] = nil
		e.lateQ = e.lateQ[1:]
	}
	return nil
}

// release decides held occurrences in timestamp order: the earliest while
// its hold has passed, or while any occurrence has waited twice the hold
// (so a stream of old-timestamped events cannot block the rest), or all of
// them when forced.
func (e *Engine) release(all bool) {
	for o := e.popLate(); o != nil; o = e.popLate() {
		if !all && e.nowNS < addNanos(o.arrived, e.cfg.Hold/5) {
			break
		}
		e.decide(o)
	}
	for head := e.queueHead(); head != nil; head = e.queueHead() {
		switch {
		case all:
		case e.nowNS >= head.dueNS:
		case e.overdue():
		default:
			e.compactArrival()
			return
		}
		e.decide(head)
	}
	e.arrival = e.arrival[:0]
}

// due is when o, held in the queue, is decided (once every earlier-dated
// occurrence is): a hold after its own time, but no later than a hold after
// it arrived (a clock running ahead). The hold covers records that are
// dated before o yet arrive after it (a controller's Event written after
// the scheduler's): they arrive within the hold of o's time. Occurrences
// that arrive later than that wait in the late queue instead. In Unix
// nanoseconds; tNS is o.t's.
func (e *Engine) due(o *occ, tNS int64) int64 {
	return min(addNanos(tNS, e.cfg.Hold), addNanos(o.arrived, e.cfg.Hold))
}

// overdue reports whether the longest-waiting pending occurrence has waited
// twice the hold.
func (e *Engine) overdue() bool {
	e.compactArrival()
	return len(e.arrival) > 0 && e.nowNS >= e.arrival[0].overNS
}

// maxNanoSec is a whole number of seconds safely inside what Unix
// nanoseconds can hold (about 1678 to 2262).
const maxNanoSec = math.MaxInt64/int64(time.Second) - 1

// Times outside what Unix nanoseconds can hold (about 1678 to 2262).
var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// unixNanos is t in Unix nanoseconds, saturated at the int64 range (an
// Event may carry any time: UnixNano of year 1 is undefined).
func unixNanos(t time.Time) int64 {
	if s := t.Unix(); s > -maxNanoSec && s < maxNanoSec {
		return s*1e9 + int64(t.Nanosecond())
	}
	switch {
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// addNanos is t+d in Unix nanoseconds, saturated.
func addNanos(t int64, d time.Duration) int64 {
	if s := t + int64(d); (d > 0) == (s > t) || d == 0 {
		return s
	}
	if d > 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

// compactArrival drops decided occurrences from the front of the arrival
// order by reslicing (append reallocates once the tail is used up, so the
// cost stays constant per occurrence; copying down each time was quadratic
// in the number held).
func (e *Engine) compactArrival() {
	for len(e.arrival) > 0 && e.arrival[0].state != pending {
		e.arrival[0] = nil
		e.arrival = e.arrival[1:]
	}
}

// less orders occurrences by their own time, then by resourceVersion (the
// order etcd wrote them: it orders events within one whole second), then
// identity, so the order does not depend on arrival.
func less(a, b *occ) bool {
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	if a.tns != b.tns {
		return a.tns < b.tns
	}
	if a.rv != b.rv && a.rv != 0 && b.rv != 0 {
		return a.rv < b.rv
	}
	if a.ev.UID != b.ev.UID {
		return a.ev.UID < b.ev.UID
	}
	return a.ev.Count < b.ev.Count
}

// insertSorted inserts o into s kept in less order (appending is the usual
// case: records mostly arrive in time order).
func insertSorted(s []*occ, o *occ) []*occ {
	i := len(s)
	for i > 0 && less(o, s[i-1]) {
		i--
	}
	s = append(s, nil)
	copy(s[i+1:], s[i:])
	s[i] = o
	return s
}
