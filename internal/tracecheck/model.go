package tracecheck

import (
	"time"

	"github.com/kspan-project/kspan/internal/record"
)

// object is what the recording says about one object (one UID).
type object struct {
	uid, kind, ns, name string
	// recorded says some state of the object itself was recorded; else it
	// is known only from Events and owner references.
	recorded bool
	// owners are the ownerReferences of its first recorded state.
	owners []record.OwnerRef
	// created is when it was created; exact when its first recorded state
	// was seen as it was created.
	created when
	// gens are the generations it was seen at, each with when it was first
	// seen, ignoring the bump a deletion makes.
	gens []genStep
	// deleting is when its deletion began, if recorded.
	deleting *when

	last   record.Record // its latest record
	lastRV uint64
}

type genStep struct {
	gen int64
	at  when
}

// event is one Event (one UID) and its occurrences.
type event struct {
	uid    string
	ns     string
	reg    record.Ref
	reason string
	occ    []*occurrence // occurrence k at index k-1
	lastRV uint64
	last   *record.Event
}

// occurrence is one (Event UID, count) pair: one span.
type occurrence struct {
	ev    *event
	count int32
	// msg is the message of the state in which count became this; empty
	// when that state was not recorded and the message may have changed.
	msg string
	at  when
	// seq is the order in which the recording first showed it.
	seq int
}

// model is everything Causes reads from a recording.
type model struct {
	objs   map[string]*object
	events map[string]*event
	occs   []*occurrence
	inc    incarnations
	causes map[*occurrence]*expect

	anchorMemo map[*occurrence][]anchor
}

func (m *model) object(uid string) *object {
	o := m.objs[uid]
	if o == nil {
		o = &object{uid: uid}
		m.objs[uid] = o
	}
	return o
}

// build reads the recording in observation order.
func build(recs []record.Record) *model {
	m := &model{objs: map[string]*object{}, events: map[string]*event{}, causes: map[*occurrence]*expect{}, anchorMemo: map[*occurrence][]anchor{}}
	for _, r := range recs {
		switch {
		case r.Object != nil && r.Object.UID != "":
			m.addObject(r)
		case r.Event != nil && r.Event.UID != "":
			m.addEvent(r)
		}
	}
	for _, o := range m.objs {
		for _, r := range o.owners {
			if ow := m.objs[r.UID]; r.UID != "" && (ow == nil || ow.kind == "") {
				ow = m.object(r.UID)
				ow.kind, ow.name, ow.ns = r.Kind, r.Name, o.ns
			}
		}
	}
	for _, e := range m.events {
		if e.reg.UID == "" {
			continue
		}
		o := m.object(e.reg.UID)
		if o.kind == "" {
			o.kind, o.name, o.ns = e.reg.Kind, e.reg.Name, e.reg.Namespace
			if o.ns == "" {
				o.ns = e.ns
			}
		}
	}
	// An object first recorded after an Event about it was stored was not
	// seen as it was created (the earlier kspan looked objects up late).
	for _, oc := range m.occs {
		o := m.objs[oc.ev.reg.UID]
		if o == nil || !o.recorded || oc.at.rvHi == 0 {
			continue
		}
		if oc.at.rvHi < o.created.rvHi {
			o.created.rvLo, o.created.rvHi = 0, oc.at.rvHi
		}
		o.created.hi = minTime(o.created.hi, oc.at.hi)
	}
	m.inc = m.findIncarnations()
	return m
}

// observedHi is the latest time a record's object state can date from, or
// zero when the decoder had no time (kubectl output).
func observedHi(r record.Record) time.Time {
	if r.Observed.IsZero() {
		return time.Time{}
	}
	if r.Inferred {
		// dated by the first Event stored after it, whose time is whole
		// seconds
		return r.Observed.Add(time.Second)
	}
	return r.Observed
}

func (m *model) addObject(r record.Record) {
	ob := r.Object
	o := m.object(ob.UID)
	rv := parseRV(ob.ResourceVersion)
	hi := observedHi(r)
	first := !o.recorded
	// lower bounds from the previous record: this state was not yet stored
	var prevLo time.Time
	// watched: this state follows another one seen by a watch, which shows
	// every version of an object, so what changed in it changed here
	watched := false
	if !first {
		if !o.last.Inferred {
			prevLo = o.last.Observed
		}
		watched = !o.last.Inferred && !o.last.Observed.IsZero() && !r.Inferred && rv != 0 && o.lastRV != 0
	}
	if first {
		o.recorded = true
		o.kind, o.ns, o.name, o.owners = ob.Kind, ob.Namespace, ob.Name, ob.Owners
		c := when{rvHi: rv, lo: ob.Created, hi: minTime(addSec(ob.Created), hi)}
		// seen as it was created: a watch's first sight of a new object
		if !r.Inferred && !r.Observed.IsZero() && r.Op == record.Upsert && ob.Deleting.IsZero() &&
			ob.Generation <= 1 && rv != 0 && !ob.Created.IsZero() && r.Observed.Sub(ob.Created) < 2*time.Second {
			c.rvLo = rv
		}
		o.created = c
	}
	if ob.Generation > 0 && ob.Deleting.IsZero() && r.Op == record.Upsert &&
		(len(o.gens) == 0 || ob.Generation > o.gens[len(o.gens)-1].gen) {
		var w when
		switch {
		case first && ob.Generation == 1:
			w = o.created
		case first:
			w = when{rvHi: rv, hi: hi}
			if !ob.SpecTime.IsZero() {
				w.lo, w.hi = ob.SpecTime, minTime(addSec(ob.SpecTime), hi)
			}
		default:
			// a watch shows every version: the change is where it was
			// first seen
			w = when{rvHi: rv, lo: prevLo, hi: hi}
			if watched {
				w.rvLo = rv
			}
		}
		o.gens = append(o.gens, genStep{ob.Generation, w})
	}
	if o.deleting == nil && (!ob.Deleting.IsZero() || r.Op == record.Delete) {
		d := when{rvHi: rv, hi: hi}
		if !ob.Deleting.IsZero() {
			// deletionTimestamp and the grace period are whole seconds
			d.lo, d.hi = ob.Deleting, minTime(addSec(ob.Deleting), hi)
		}
		switch {
		case r.Op == record.Delete && ob.Deleting.IsZero() && rv != 0:
			// removed at once (no graceful deletion): the deletion began
			// where it was stored
			d.rvLo = rv
			d.lo = prevLo
		case !first:
			d.lo = maxTime(d.lo, prevLo)
			if watched {
				d.rvLo = rv
			}
		}
		o.deleting = &d
	}
	o.last, o.lastRV = r, rv
}

func (m *model) addEvent(r record.Record) {
	ev := r.Event
	e := m.events[ev.UID]
	if e == nil {
		e = &event{uid: ev.UID, ns: ev.Namespace, reg: ev.Regarding, reason: ev.Reason}
		if e.reg.Namespace == "" {
			e.reg.Namespace = ev.Namespace
		}
		m.events[ev.UID] = e
	}
	n := max(ev.Count, 1)
	if int(n) <= len(e.occ) {
		return // the same state again (another API, a relist) or an older one
	}
	rv := parseRV(ev.ResourceVersion)
	stateAt := when{rvLo: rv, rvHi: rv, lo: ev.Last, hi: ev.Last}
	if ev.Coarse {
		stateAt.hi = addSec(ev.Last)
	}
	if !r.Inferred && r.Observed.After(ev.Last) {
		stateAt.hi = minTime(stateAt.hi, r.Observed)
	}
	for k := int32(len(e.occ)) + 1; k <= n; k++ {
		oc := &occurrence{ev: e, count: k, seq: len(m.occs)}
		if k == n {
			oc.msg, oc.at = ev.Message, stateAt
		} else {
			// a state not recorded: between the previous one and this
			if !isCombined(ev.Message) {
				oc.msg = ev.Message
			}
			oc.at = when{rvHi: rv, hi: stateAt.hi}
			if e.last != nil {
				oc.at.lo = e.last.Last
				if e.lastRV != 0 {
					oc.at.rvLo = e.lastRV + 1
				}
			} else if k == 1 {
				oc.at.lo = ev.First
				oc.at.hi = minTime(oc.at.hi, ev.First)
				if ev.Coarse {
					oc.at.hi = minTime(stateAt.hi, addSec(ev.First))
				}
			} else {
				oc.at.lo = ev.First
			}
		}
		e.occ = append(e.occ, oc)
		m.occs = append(m.occs, oc)
	}
	e.last, e.lastRV = ev, rv
}

// occurrence returns the (uid, count) occurrence, or nil.
func (m *model) occurrence(uid string, count int64) *occurrence {
	e := m.events[uid]
	if e == nil || count < 1 || count > int64(len(e.occ)) {
		return nil
	}
	return e.occ[count-1]
}
