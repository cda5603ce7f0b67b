package correlate

import (
	"strconv"
	"time"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/rollout"
	"github.com/kspan-project/kspan/internal/span"
)

// rootState is the current episode of a root object: the synthetic span
// that the root's activity hangs from.
type rootState struct {
	ref        objRef
	gen        int64
	key        int64 // 0 for the episode a spec change started
	trace      span.TraceID
	id         span.ID
	start      time.Time
	last       time.Time
	hasStarter bool
	// span is the synthetic root span, exported with the first exported
	// span of its trace (a change whose events are all filtered out
	// exports nothing).
	span    span.Span
	emitted bool
	// deletion says it is a deletion's episode; prev is the episode it
	// followed, which what the deletion did not cause still joins.
	deletion bool
	prev     *rootState
	// rollout says it is the change of a workload (rollout.Tracked),
	// settled that its outcome is known (result, at end), marked that
	// its span says so (see markOutcome).
	// status is what the status said at the outcome. held says the root
	// span waits for the outcome to be sent (Config.Stream).
	rollout, settled, marked, held bool
	result                         rollout.Result
	end                            time.Time
	status                         *record.WorkloadStatus
	// run is the Job a CronJob's run episode created: the run's outcome
	// is the Job's (zero for any other episode).
	run owners.NameKey
	// warnings are the latest Warning Events in a rollout's trace, oldest
	// first (see OpenRollouts).
	warnings []RolloutWarning
}

// episode returns the root's episode that o belongs to, starting a new one
// when the generation changed, the root was quiet for the window, the root
// is being deleted, or an episode rule starts a run.
func (e *Engine) episode(r objRef, o *occ) *rootState {
	var ent *owners.Entry
	var g owners.Gen
	known := false
	if r.uid != "" {
		ent, known = e.index.Get(r.uid)
		if known {
			g, _ = ent.GenAt(o.t, o.rv)
		}
	}
	starter := ""
	if o.obj.key == r.key && o.mention != nil {
		starter = o.mention.Episode
	}
	// An event a deletion causes may be stamped in the second before the
	// deletion was seen; any other joins the deletion only once it began.
	var slack time.Duration
	if o.reason.deletion {
		slack = time.Second
	}
	// What etcd stored before the deletion began was not caused by it,
	// whatever its whole-second time says.
	deleting := known && !ent.Deleting.IsZero() && !o.t.Add(slack).Before(ent.Deleting) &&
		o.t.Sub(ent.Deleting) < e.cfg.Window && !(o.rv != 0 && ent.DeletingRV != 0 && o.rv < ent.DeletingRV)
	fits := func(st *rootState) bool {
		// An open rollout takes its activity however quiet it was; once
		// settled, what comes after its outcome is a new episode.
		if st == nil {
			return false
		}
		var quiet bool
		switch {
		case st.settled && !st.end.IsZero():
			// What names a run's Job after its outcome (Saw completed
			// job) is still the run's.
			quiet = o.t.After(st.end.Add(time.Second)) && !(st.run.Name != "" && o.mention != nil && o.mentioned() == st.run)
		case e.rolloutOpen(st):
		default:
			quiet = o.t.Sub(st.last) >= e.cfg.Window
		}
		return st.gen == g.Generation && !quiet &&
			!(starter != "" && st.hasStarter) && (!deleting || st.key == ent.Deleting.Unix())
	}
	st := e.roots[r.key]
	if st != nil && st.deletion && !deleting && fits(st.prev) {
		st = st.prev // not caused by the deletion: the episode before it
	}
	if fits(st) {
		if starter != "" {
			st.hasStarter = true
		}
		return st
	}

	verb := "Activity"
	start := o.t
	key := o.t.Truncate(time.Second).Unix()
	change := g.Time
	if change.IsZero() && known && g.Generation <= 1 {
		change = ent.Created
	}
	switch {
	case deleting:
		verb, key = "Delete", ent.Deleting.Unix()
		if ent.Deleting.Before(start) {
			start = ent.Deleting
		}
	case starter != "":
		verb = starter
	case known && !change.IsZero() && o.t.Sub(change) < e.cfg.Window && !change.After(o.t.Add(time.Second)) &&
		!e.settledChange(r, g.Generation):
		key = 0
		verb = "Update"
		if g.Generation <= 1 {
			verb = "Create"
		}
		if change.Before(start) {
			start = change
		}
	}
	prev := e.roots[r.key]
	st = &rootState{ref: r, gen: g.Generation, key: key, start: start, last: o.t, hasStarter: starter != "", deletion: deleting}
	if deleting && prev != nil && !prev.deletion {
		st.prev = prev
	}
	if key == 0 {
		st.trace = span.TraceIDFor(r.key, g.Generation)
	} else {
		st.trace = span.TraceIDFor(r.key, g.Generation, key)
	}
	st.id = span.IDFor("root", r.key, strconv.FormatInt(g.Generation, 10), strconv.FormatInt(key, 10))
	e.roots[r.key] = st

	s := span.Span{
		TraceID: st.trace,
		SpanID:  st.id,
		Name:    r.name.Kind + "." + verb,
		Start:   start,
		End:     start,
	}
	s.Attrs = append(s.Attrs, span.Boolean(span.KeySynthetic, true))
	if r.name.Namespace != "" {
		s.Attrs = append(s.Attrs, span.Str(span.KeyNamespace, r.name.Namespace))
	}
	s.Attrs = append(s.Attrs,
		span.Str(span.KeyObjectKind, r.name.Kind),
		span.Str(span.KeyObjectName, r.name.Name),
		span.Str(span.KeyObjectUID, r.uid))
	if known {
		if ent.APIVersion != "" {
			s.Attrs = append(s.Attrs, span.Str(span.KeyObjectAPIVersion, ent.APIVersion))
		}
		if g.Generation != 0 {
			s.Attrs = append(s.Attrs, span.Int64(span.KeyObjectGeneration, g.Generation))
		}
		if key == 0 && g.Manager != "" {
			s.Attrs = append(s.Attrs, span.Str(span.KeyChangeManager, g.Manager))
			if g.Operation != "" {
				s.Attrs = append(s.Attrs, span.Str(span.KeyChangeOperation, g.Operation))
			}
		}
		if l, ok := parseTraceparent(ent.Traceparent); ok {
			l.Attrs = []span.Attr{span.Str(span.KeyLinkSource, "tracing.k8s.io/traceparent")}
			s.Links = append(s.Links, l)
		}
	}
	s.Attrs = e.appendObjectAttrs(s.Attrs, r)
	st.span = s
	switch {
	case key == 0 && known && rollout.Tracked(ent.APIVersion, r.name.Kind):
		st.rollout = true
		if e.rolloutOpen(prev) && prev.gen < st.gen {
			e.supersede(prev, st)
		}
		if ro := ent.Rollout; ro != nil {
			if oc := ro.OutcomeOf(st.gen); oc != nil {
				e.settle(st, oc.Result, oc.At, &oc.Status)
			}
		}
	case starter != "" && o.mention.SubKind == "Job":
		// A CronJob's run: its outcome is its Job's.
		st.rollout, st.run = true, o.mentioned()
		e.runs[st.run] = st
		if je := e.runJob(st); je != nil && je.Rollout != nil && len(je.Rollout.Outcomes) > 0 {
			oc := &je.Rollout.Outcomes[len(je.Rollout.Outcomes)-1]
			e.settle(st, oc.Result, oc.At, &oc.Status)
		}
	}
	return st
}

// settledChange reports whether the change of r to generation gen already
// had its rollout's outcome: what comes after is a new episode.
func (e *Engine) settledChange(r objRef, gen int64) bool {
	st := e.roots[r.key]
	for ; st != nil; st = st.prev {
		if st.key == 0 && st.gen == gen {
			return st.settled
		}
	}
	return false
}
