package correlate

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/rules"
	"github.com/kspan-project/kspan/internal/span"
)

// occurrence states.
const (
	pending uint8 = iota
	deciding
	decided
	suppressed
	// moved: held again, at a later time, as a new occ (see countOrder).
	moved
)

// occ is one occurrence of an Event: the Event in the state observed with a
// count not seen before. It becomes one span.
type occ struct {
	ev  *record.Event
	obj objRef
	t   time.Time // occurrence time (ev.Last)
	rv  uint64    // resourceVersion: etcd's write order, for ties
	sec int64     // the whole second of the occurrence as stamped
	// ts and tns are t's Unix seconds and nanoseconds, for less.
	ts      int64
	tns     int32
	arrived int64 // when it arrived, the engine's clock in Unix nanoseconds (nowNS)
	// dueNS and overNS are due(o) and when o is overdue (two holds after it
	// arrived), in Unix nanoseconds (saturated): release compares them
	// against the clock on every record.
	dueNS, overNS int64
	mention       *rules.Mention
	reason        *reasonInfo // of its kind and reason
	act           *activity   // of obj (kept while o is held: see prune)
	uh            uint64      // uidHash(ev.UID): its key in Engine.seen
	id            span.ID
	state         uint8
	late          bool // held in the late queue, not the queue

	// Set by decide.
	trace span.TraceID
	start time.Time // span start, clamped to the parent's
	root  *rootState
}

// objRef identifies an object in the engine: by UID when known, else by
// kind/namespace/name.
type objRef struct {
	key  string
	uid  string
	name owners.NameKey
}

func refOf(r record.Ref) objRef {
	k := owners.NameKey{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	key := r.UID
	if key == "" {
		key = r.Kind + "/" + r.Namespace + "/" + r.Name
	}
	return objRef{key: key, uid: r.UID, name: k}
}

// Engine correlates records into spans. Not safe for concurrent use: one
// goroutine owns it.
type Engine struct {
	cfg   Config
	rules *rules.Table
	index *owners.Index

	now   time.Time
	nowNS int64 // now in Unix nanoseconds (saturated)
	// queue orders the occurrences held for their hold but the late
	// ones; decided ones stay in it until they reach its front (queued
	// counts the rest).
	queue   heldQueue
	queued  int
	arrival []*occ // pending occurrences of the queue in arrival order (for overdue checks)
	lateQ   []*occ // occurrences that arrived late for their hold, in arrival order (see late)
	// lateHeld counts the occurrences of lateQ still held.
	lateHeld int

	acts     map[string]*activity            // by object key
	mentions map[owners.NameKey]*mentionList // mention events by the object they name
	seen     map[uint64]eventState           // by uidHash of the event UID
	repeats  map[uint64]int32                // spans beyond the first, by uidHash (see spansOf)
	epoch    int64                           // seconds: the engine clock's first reading (secs)
	epochSet bool
	roots    map[string]*rootState // by root object key
	// heldRoots are rollouts' root spans waiting for their outcome to be
	// sent (Config.Stream).
	heldRoots []*rootState
	// runs are CronJob runs by their Job, until their outcome.
	runs     map[owners.NameKey]*rootState
	creators map[string]creatorLink // by object UID (see creatorLink)
	open     map[span.TraceID]*openTrace
	flushed  map[span.TraceID]time.Time // exported traces, to count late spans
	hidden   map[spanKey]hiddenSpan     // filtered-out occurrences
	keys     map[string]*kindInfo       // by kind
	flushIdx map[span.ID]int            // flushTrace's span index, reused

	freeChunks [][]span.Span // exported traces' chunks, for open traces to reuse
	flushBuf   []span.Span   // flushTrace's buffer, reused

	openSpans int
	streamed  []span.Span // decided, not yet sent (Config.Stream)
	streamOut []span.Span // sendStreamed's batch grouped by trace, reused
	streamIdx []int32     // sendStreamed's sort, reused
	times     timeCache   // formatTime's
	// occSlab is allocated in runs (addEvent takes them one by one: one
	// allocation for many Events).
	occSlab  []occ
	attrSlab []span.Attr // eventSpan's (attrs)
	// nextStream, nextPrune and nextFlush are when maintain next sends,
	// prunes and flushes, in Unix nanoseconds as nowNS.
	nextStream int64
	nextPrune  int64
	nextFlush  int64
	stats      Stats
	err        error // the first error of Config.Out
}

// eventState is what is remembered of one Event object, for eventTTL
// after it was last seen: small, and kept by a hash of the UID, as a busy
// cluster has a hundred thousand Events in that time.
type eventState struct {
	maxCount int32 // highest count decided; 0 until one is
	lastSeen int32 // the engine's clock in seconds since its first reading (Engine.secs)
}

// An Event object decided has had one span or more: most have one, and
// Engine.repeats counts the spans beyond the first of those that have more,
// so that eventState, one per Event object for over an hour, stays 8 bytes.
func (e *Engine) spansOf(uh uint64, st eventState) int {
	if st.maxCount == 0 {
		return 0
	}
	return 1 + int(e.repeats[uh])
}

// secs is ns, the engine's clock in Unix nanoseconds, in seconds since its
// first reading, saturated.
func (e *Engine) secs(ns int64) int32 {
	if ns == math.MinInt64 {
		return math.MinInt32
	}
	if !e.epochSet {
		e.epoch, e.epochSet = ns/1e9, true
	}
	return int32(max(min(ns/1e9-e.epoch, math.MaxInt32), math.MinInt32+1))
}

// uidHash is an Event UID's key in Engine.seen: 64-bit FNV-1a (two UIDs of
// one hash, about one chance in 10^9 among a hundred thousand Events, would
// count as one Event). Deterministic, so that what a bound forgets among
// equals does not vary from run to run.
func uidHash(uid string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(uid); i++ {
		h ^= uint64(uid[i])
		h *= 1099511628211
	}
	return h
}

// New makes an engine.
func New(cfg Config) *Engine {
	cfg = cfg.withDefaults()
	return &Engine{
		cfg:        cfg,
		nowNS:      math.MinInt64,
		nextStream: math.MinInt64,
		nextPrune:  math.MinInt64,
		nextFlush:  math.MinInt64,
		rules:      rules.NewTable(cfg.Rules),
		index:      owners.New(cfg.Index),
		acts:       map[string]*activity{},
		mentions:   map[owners.NameKey]*mentionList{},
		seen:       map[uint64]eventState{},
		repeats:    map[uint64]int32{},
		runs:       map[owners.NameKey]*rootState{},
		roots:      map[string]*rootState{},
		creators:   map[string]creatorLink{},
		open:       map[span.TraceID]*openTrace{},
		flushed:    map[span.TraceID]time.Time{},
		hidden:     map[spanKey]hiddenSpan{},
		keys:       map[string]*kindInfo{},
		flushIdx:   map[span.ID]int{},
	}
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Held = e.queued + e.lateHeld
	s.OpenTraces = len(e.open)
	s.OpenSpans = e.openSpans
	s.Index = e.index.Stats()
	e.countOpenRollouts(&s)
	return s
}

// Add feeds one record, observed at now (the engine's clock never goes
// backwards: an earlier now is taken as the latest one seen). What became due
// by now is released before the record is added, exactly as a call to
// Advance(now) would, so a replay of a capture, whose clock only moves with
// its records, makes the same decisions and exports as the live run that
// ticked in between.
func (e *Engine) Add(rec record.Record, now time.Time) {
	e.tick(now)
	e.release(false)
	e.maintain(false)
	switch {
	case rec.Object != nil:
		e.stats.Objects++
		if rec.Op == record.Delete {
			// The record's own observation, not the clock: arrival order
			// must not change what the engine knows.
			at := rec.Observed
			if at.IsZero() {
				at = e.now
			}
			e.index.Delete(rec.Object, at)
		} else {
			e.index.Upsert(rec.Object, rec.Observed)
			if rec.Object.Status != nil {
				// A snapshot's object (no observation, or one inferred
				// from its generation) is dated by the deciding
				// condition's time instead.
				at := rec.Observed
				if rec.Inferred {
					at = time.Time{}
				}
				e.observeRollout(rec.Object, at)
			}
		}
	case rec.Event != nil && rec.Op != record.Delete:
		e.stats.Events++
		e.addEvent(rec.Event, rec.Observed)
	}
	for e.queued+e.lateHeld > e.cfg.MaxHeld {
		o := e.popLate()
		if o == nil {
			o = e.queueHead()
		}
		e.stats.ForcedDecisions++
		e.decide(o)
	}
}

// Advance moves the clock to now and releases what became due.
func (e *Engine) Advance(now time.Time) {
	e.tick(now)
	e.release(false)
	e.maintain(false)
}

// Flush decides every held occurrence and exports every open trace, as at
// the end of a replay or on shutdown.
func (e *Engine) Flush() {
	e.release(true)
	e.maintain(true)
}

func (e *Engine) tick(now time.Time) {
	if ns := unixNanos(now); ns > e.nowNS || ns == e.nowNS && now.After(e.now) {
		e.now, e.nowNS = now, ns
	}
}

// maintain exports due traces and, now and then, forgets old activity. It
// runs after release, so nothing due is decided without its context.
func (e *Engine) maintain(all bool) {
	if len(e.heldRoots) > 0 && (all || e.nowNS >= e.nextStream) {
		e.releaseRoots(all)
	}
	if len(e.streamed) > 0 && (all || e.nowNS >= e.nextStream) {
		e.sendStreamed()
	}
	e.flushDue(all)
	if e.nowNS >= e.nextPrune {
		e.prune()
		e.nextPrune = addNanos(e.nowNS, e.cfg.Window/4)
	}
}

func (e *Engine) addEvent(ev *record.Event, observed time.Time) {
	if ev.UID == "" {
		return
	}
	if ev.Count < 1 {
		ev.Count = 1
	}
	uh := uidHash(ev.UID)
	st, known := e.seen[uh]
	if known && ev.Count <= st.maxCount {
		e.stats.Duplicates++
		return
	}
	o := e.newOcc()
	*o = occ{ev: ev, obj: refOf(ev.Regarding), t: ev.Last, arrived: e.nowNS}
	o.rv, _ = strconv.ParseUint(ev.ResourceVersion, 10, 64)
	o.sec = o.t.Unix()
	if o.t.IsZero() {
		o.t = ev.First
	}
	// A whole-second timestamp t means [t, t+1s); when the event was
	// observed within that second, the true time lies between t and the
	// observation, so the observation orders it against microsecond events
	// (Scheduled) far better than t does.
	if ev.Coarse && !observed.Before(o.t) && observed.Sub(o.t) < time.Second {
		o.t = observed
	}
	// A time far after the Event was seen is a broken clock (or input), and
	// beyond the year 2262 not even representable in OTLP's nanoseconds:
	// the observation stands in for it.
	if !observed.IsZero() && o.t.After(observed.Add(maxFuture)) {
		o.t = observed
		o.sec = o.t.Unix()
		e.stats.FutureTimes++
	}
	act := e.activity(o.obj)
	if !e.countOrder(o, act) {
		e.stats.Duplicates++
		return
	}
	st.lastSeen = e.secs(e.nowNS)
	e.seen[uh] = st
	o.act, o.uh = act, uh
	o.id = span.IDFor(ev.UID, strconv.Itoa(int(ev.Count)))
	o.reason = e.actKind(act, ev.Regarding.Kind).reason(e.rules, ev.Reason)
	if mt, ok := o.reason.rules.Match(ev.Message); ok {
		m := mt // only a matching Event's mention goes to the heap
		o.mention = &m
	}
	if o.mention != nil && ev.Regarding.UID != "" {
		e.index.Infer(o.mentioned(), owners.Inferred{UID: ev.Regarding.UID, Kind: ev.Regarding.Kind, Name: ev.Regarding.Name, At: o.t})
	}
	e.hold(o)
}

// hold keeps o, pending, until it is decided: in its object's occurrences,
// the mention list of the object it names, and the queue (or the late
// queue).
func (e *Engine) hold(o *occ) {
	if o.mention != nil {
		sub := o.mentioned()
		l := e.mentions[sub]
		if l == nil {
			l = &mentionList{name: sub}
			l.occs = l.occs0[:0]
			e.mentions[sub] = l
		}
		l.occs = insertSorted(l.occs, o)
	}
	act := o.act
	act.occs = insertSorted(act.occs, o)
	if act.last.Before(o.t) {
		act.last = o.t
	}
	tNS := unixNanos(o.t)
	if e.late(o, tNS) {
		o.late = true
		e.lateQ = append(e.lateQ, o)
		e.lateHeld++
		return
	}
	o.dueNS = e.due(o, tNS)
	o.overNS = addNanos(o.arrived, 2*e.cfg.Hold)
	e.queue.push(o, tNS)
	e.queued++
	if e.queue.len() > 2*e.queued+64 {
		e.queue.compact()
	}
	e.arrival = append(e.arrival, o)
}

// mentioned is the object o's mention names (o.mention is set).
func (o *occ) mentioned() owners.NameKey {
	return owners.NameKey{Kind: o.mention.SubKind, Namespace: o.ev.Regarding.Namespace, Name: o.mention.Name}
}

// countOrder keeps one Event's occurrences in the order of their counts:
// occurrence k happened after k-1, but their times can say otherwise. A
// whole-second time observed within its second takes the observation, one
// observed later keeps the start of its second, so a repeat observed late
// (a busy watch) would be dated before the counts it follows, decided first,
// and the earlier counts suppressed as already seen. o is dated no earlier
// than the lower counts held with it, and the higher counts held are dated
// no earlier than o (whatever the order they arrive in: the times are
// maxima over what is held). It reports false, changing nothing, when the
// same occurrence is already held (a duplicate).
func (e *Engine) countOrder(o *occ, act *activity) bool {
	var buf [4]*occ
	higher := buf[:0]
	t := o.t
	for _, p := range act.occs {
		switch {
		case p.ev.UID != o.ev.UID:
		case p.ev.Count == o.ev.Count:
			return false
		case p.ev.Count < o.ev.Count && p.t.After(t):
			t = p.t
		case p.ev.Count > o.ev.Count && p.state == pending:
			higher = append(higher, p)
		}
	}
	o.t = t
	o.ts, o.tns = o.t.Unix(), int32(o.t.Nanosecond())
	for _, p := range higher {
		if p.t.Before(o.t) {
			e.retime(p, o.t)
		}
	}
	return true
}

// retime holds pending occurrence p again at the later time t, as a new
// occ: p leaves every list that holds it and is marked moved (the queues
// drop it as they drop decided ones).
func (e *Engine) retime(p *occ, t time.Time) {
	p.act.occs = slices.DeleteFunc(p.act.occs, func(x *occ) bool { return x == p })
	if p.mention != nil {
		if l := e.mentions[p.mentioned()]; l != nil {
			l.occs = slices.DeleteFunc(l.occs, func(x *occ) bool { return x == p })
		}
	}
	if p.late {
		e.lateHeld--
	} else {
		e.queued--
	}
	q := e.newOcc()
	*q = *p
	p.state = moved
	q.late = false
	q.t, q.ts, q.tns = t, t.Unix(), int32(t.Nanosecond())
	e.hold(q)
}

// slabRun is how many occurrences one allocation holds:
// those of Events that arrive together, so that they are let go together.
const slabRun = 16

// fromSlab takes the next zero value from *slab, allocating slabRun more
// when it is used up.
func fromSlab[T any](slab *[]T) *T {
	if len(*slab) == 0 {
		*slab = make([]T, slabRun)
	}
	v := &(*slab)[0]
	*slab = (*slab)[1:]
	return v
}

func (e *Engine) newOcc() *occ { return fromSlab(&e.occSlab) }

// maxFuture is how far after its observation an Event's time may lie.
const maxFuture = time.Hour
