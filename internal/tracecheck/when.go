package tracecheck

import (
	"strconv"
	"time"
)

// tri is a three-valued answer: the recording may not decide.
type tri int8

const (
	no tri = iota
	maybe
	yes
)

// when is a moment as well as a recording knows it: bounds on the etcd
// revision (one global order of everything stored) and on the wall time.
// Zero bounds are unknown. An exact revision has rvLo == rvHi.
type when struct {
	rvLo, rvHi uint64
	lo, hi     time.Time
}

// known says whether anything bounds the moment.
func (w when) known() bool {
	return w.rvLo != 0 || w.rvHi != 0 || !w.lo.IsZero() || !w.hi.IsZero()
}

// upper keeps only the upper bounds: something happened no later than w.
func (w when) upper() when { return when{rvHi: w.rvHi, hi: w.hi} }

// before says whether a happened before b. The revision decides when both
// bounds needed are known; else the times do; else maybe.
func before(a, b when) tri {
	switch {
	case a.rvHi != 0 && b.rvLo != 0 && a.rvHi < b.rvLo:
		return yes
	case b.rvHi != 0 && a.rvLo != 0 && b.rvHi <= a.rvLo:
		return no
	case !a.hi.IsZero() && !b.lo.IsZero() && a.hi.Before(b.lo):
		return yes
	case !b.hi.IsZero() && !a.lo.IsZero() && b.hi.Before(a.lo):
		return no
	}
	return maybe
}

// key orders moments for sorting: the best estimate, revision first.
func (w when) key() (uint64, time.Time) {
	rv := w.rvLo
	if rv == 0 {
		rv = w.rvHi
	}
	t := w.lo
	if t.IsZero() {
		t = w.hi
	}
	return rv, t
}

// cmpWhen orders two moments by their estimates (for listing, not deciding).
func cmpWhen(a, b when) int {
	ar, at := a.key()
	br, bt := b.key()
	if ar != 0 && br != 0 && ar != br {
		if ar < br {
			return -1
		}
		return 1
	}
	if c := at.Compare(bt); c != 0 {
		return c
	}
	if ar < br {
		return -1
	}
	if ar > br {
		return 1
	}
	return 0
}

func parseRV(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// minTime is the earlier of two times, zero meaning unknown.
func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// maxTime is the later of two times, zero meaning unknown.
func maxTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.After(a)) {
		return b
	}
	return a
}

func addSec(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(time.Second)
}
