package owners

import (
	"time"

	"github.com/kspan-project/kspan/internal/record"
)

// Gen is one spec change of an object.
type Gen struct {
	Generation int64
	// Time is when the spec changed (managedFields, whole seconds); zero
	// when unknown.
	Time      time.Time
	Manager   string
	Operation string
	// Direct says the change was not made by the controller that owns the
	// object (its manager is not the one that set ownerReferences).
	Direct bool
	// FirstSeen is when a version of this generation was first observed
	// (zero when unknown); Observed is the same when it fell within Time's
	// whole second.
	FirstSeen, Observed time.Time
	// FirstRV is the lowest resourceVersion seen with this generation (0
	// when unknown): etcd's revisions are one order for every object and
	// Event, so an Event stored before it was not caused by this change
	// (when the version seen first is the change itself, as on a watch).
	FirstRV uint64
}

// GenAt returns the spec change in force at t for an Event stored at
// resourceVersion rv (0: unknown): the newest one whose change time (see
// changeTime) is not after t; a change of unknown time counts as in force
// since ever. Two changes stamped with the same whole second are told apart
// by when each was observed: the later one is in force only from its
// observation on. etcd's order, where known, overrides both: a change first
// seen at a revision after rv was not in force when the Event was stored,
// one seen before it was (only for a change after one known before it: the
// first known may have been seen late, in a list). The Gen returned carries
// the change time.
func (e *Entry) GenAt(t time.Time, rv uint64) (Gen, bool) {
	for i := len(e.Gens) - 1; i >= 0; i-- {
		g := e.Gens[i]
		ordered := i > 0 && rv != 0 && g.FirstRV != 0
		if ordered && rv < g.FirstRV {
			continue
		}
		at, seen := e.changeWindow(i)
		// Stored after the change was (etcd's order): in force, whatever
		// the whole seconds and the observations (read in one batch
		// after the Event) say.
		if !ordered && !at.IsZero() && at.After(t) {
			continue
		}
		if !ordered && at.Equal(g.Time) && i > 0 && !g.Observed.IsZero() && g.Observed.After(t) && e.sameSecond(i-1, g.Time) {
			continue
		}
		// An untimed change in force at t was made no later than t, nor
		// than its first observation.
		if !seen.IsZero() {
			at = seen
			if t.Before(at) {
				at = t
			}
		}
		g.Time = at
		return g, true
	}
	return Gen{}, false
}

func (ix *Index) addGen(e *Entry, o *record.Object, observed time.Time) {
	if e.LowestGen == 0 || o.Generation < e.LowestGen {
		e.LowestGen = o.Generation
	}
	g := Gen{Generation: o.Generation, Time: o.SpecTime, Manager: o.SpecManager, Operation: o.SpecOperation,
		FirstSeen: observed, FirstRV: lowestRV(0, o.ResourceVersion)}
	// managedFields times are whole seconds: t stands for [t, t+1s). A
	// version observed within that second changed no later than its
	// observation; GenAt uses that to tell apart two spec changes made in
	// the same second.
	if !g.Time.IsZero() && !observed.Before(g.Time) && observed.Sub(g.Time) < time.Second {
		g.Observed = observed
	}
	g.Direct = o.Generation > 1 && len(o.Owners) > 0 && o.OwnerManager != "" &&
		o.SpecManager != "" && o.SpecManager != o.OwnerManager
	// Keep the history sorted by generation. Every field of a generation is
	// the earliest its versions show, so the history does not depend on the
	// order versions arrive in.
	i := len(e.Gens)
	for i > 0 && e.Gens[i-1].Generation >= g.Generation {
		i--
	}
	if i < len(e.Gens) && e.Gens[i].Generation == g.Generation {
		old := &e.Gens[i]
		if old.Time.IsZero() || (!g.Time.IsZero() && g.Time.Before(old.Time)) {
			old.Time, old.Manager, old.Operation, old.Direct = g.Time, intern(g.Manager), intern(g.Operation), g.Direct
		}
		old.FirstSeen = earliest(old.FirstSeen, g.FirstSeen)
		old.Observed = earliest(old.Observed, g.Observed)
		if g.FirstRV != 0 && (old.FirstRV == 0 || g.FirstRV < old.FirstRV) {
			old.FirstRV = g.FirstRV
		}
		return
	}
	g.Manager, g.Operation = intern(g.Manager), intern(g.Operation)
	e.Gens = append(e.Gens, Gen{})
	copy(e.Gens[i+1:], e.Gens[i:])
	e.Gens[i] = g
	if n := len(e.Gens) - ix.cfg.MaxGenerations; n > 0 {
		e.Gens = append(e.Gens[:0], e.Gens[n:]...)
	}
}

// earliest is the earlier of two times, a zero time counting as unknown.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// untimedLead is how long before its first observation an untimed spec
// change counts as in force: the Events a controller emits in reply reach
// kspan on another watch than the object, and can arrive first. It is the
// precision of a managedFields time, whole seconds, so an untimed change is
// placed no less precisely than a timed one.
const untimedLead = time.Second

// changeTime is when generation i's spec changed. A generation changed after
// the one before it: when its newest timed managedFields entry is no later
// than that, the change was made by an entry without a time (kubectl scale
// through the scale subresource records none), and its first observation is
// the best bound: the change is in force from untimedLead before it (but
// not before the previous change, nor its first observation).
func (e *Entry) changeTime(i int) time.Time {
	at, _ := e.changeWindow(i)
	return at
}

// sameSecond reports whether change i was made in the whole second sec: by
// its time, or for an untimed change by its first observation (its lead
// reaches back into the second before).
func (e *Entry) sameSecond(i int, sec time.Time) bool {
	at, seen := e.changeWindow(i)
	if !seen.IsZero() {
		at = seen
	}
	return at.Truncate(time.Second).Equal(sec)
}

// changeWindow is changeTime, and for an untimed change also its first
// observation (zero otherwise).
func (e *Entry) changeWindow(i int) (at, seen time.Time) {
	g := e.Gens[i]
	if i > 0 && !g.FirstSeen.IsZero() && !g.Time.IsZero() {
		if prev := e.changeTime(i - 1); !prev.IsZero() && !g.Time.After(prev) && g.FirstSeen.After(prev) {
			if !g.Observed.IsZero() {
				// Observed within the second of the previous change:
				// two changes in one second, told apart by GenAt.
				return g.FirstSeen, time.Time{}
			}
			// Versions of one object arrive in order on one watch: the
			// lead stops at the previous change's first observation.
			at = g.FirstSeen.Add(-untimedLead)
			if p := e.Gens[i-1].FirstSeen; at.Before(p) {
				at = p
			}
			if !at.After(prev) {
				at = prev.Add(time.Nanosecond)
			}
			return at, g.FirstSeen
		}
	}
	return g.Time, time.Time{}
}
