package correlate

import (
	"cmp"
	"slices"
	"time"

	"github.com/kspan-project/kspan/internal/owners"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/rollout"
	"github.com/kspan-project/kspan/internal/span"
)

// A change of a workload (rollout.Tracked) is a rollout: its root span
// lasts from the spec change to the outcome its status reports. While the
// status says it goes on, its trace stays open, however quiet (up to
// Config.MaxRolloutWait); activity after the outcome is a new episode.

// observeRollout keeps what a workload's status says and settles the
// root's current change with the first outcome reported for its
// generation. at is when the version was observed (zero: unknown, as in a
// snapshot; the deciding condition's time is used then).
func (e *Engine) observeRollout(o *record.Object, at time.Time) {
	ent, ok := e.index.Get(o.UID)
	if !ok || o.Status == nil || !rollout.Tracked(o.APIVersion, o.Kind) {
		return
	}
	if ent.Rollout == nil {
		ent.Rollout = &owners.Rollout{}
	}
	r := ent.Rollout
	r.Status = *o.Status
	if !at.IsZero() {
		if !r.Watched || o.Generation < r.FirstWatchedGen {
			r.FirstWatchedGen = o.Generation
		}
		r.Watched = true
	}
	if r.OutcomeOf(o.Generation) != nil {
		return // the first outcome of a generation stands
	}
	res := rollout.Evaluate(o.Kind, o.Generation, o.Status)
	if res.Outcome == "" {
		return
	}
	if at.IsZero() {
		for _, c := range o.Status.Conditions {
			if c.Reason == res.Reason && c.Time.After(at) {
				at = c.Time
			}
		}
	}
	r.AddOutcome(owners.Outcome{Gen: o.Generation, Result: res, At: at, Status: *o.Status})
	if st := e.roots[o.UID]; st != nil && st.rollout && !st.settled && st.gen == o.Generation {
		e.settle(st, res, at, o.Status)
	}
	if o.Kind == "Job" {
		k := owners.NameKey{Kind: "Job", Namespace: o.Namespace, Name: o.Name}
		if st := e.runs[k]; st != nil && !st.settled {
			e.settle(st, res, at, o.Status)
		}
	}
}

// runJob is the entry of the Job a CronJob's run created, or nil.
func (e *Engine) runJob(st *rootState) *owners.Entry {
	uid := e.index.UID(st.run)
	if uid == "" {
		return nil
	}
	ent, _ := e.index.Get(uid)
	return ent
}

// statusEntry is the entry whose status decides st's outcome: the Job of a
// CronJob's run, else the root object.
func (e *Engine) statusEntry(st *rootState) *owners.Entry {
	if st.run.Name != "" {
		return e.runJob(st)
	}
	ent, _ := e.index.Get(st.ref.uid)
	return ent
}

// rolloutOpen reports whether st is a rollout whose status was seen and
// has not reported its outcome, of an object not being deleted: its trace
// waits for it (up to Config.MaxRolloutWait).
func (e *Engine) rolloutOpen(st *rootState) bool {
	if st == nil || !st.rollout || st.settled {
		return false
	}
	ent := e.statusEntry(st)
	return ent != nil && ent.Rollout != nil && ent.Rollout.Watched && ent.Deleting.IsZero() &&
		(st.run.Name != "" || st.gen >= ent.Rollout.FirstWatchedGen) &&
		e.now.Before(st.start.Add(e.cfg.MaxRolloutWait))
}

// settle gives a rollout its outcome: the root span lasts at least until
// it (and covers what the change caused after it) and says it, in the open
// trace when the span is already there. A span already exported is not
// changed.
func (e *Engine) settle(st *rootState, res rollout.Result, at time.Time, status *record.WorkloadStatus) {
	st.settled = true
	st.result = res
	if status != nil {
		c := *status
		st.status = &c
	}
	if !at.IsZero() && at.Before(st.start) {
		at = st.start
	}
	st.end = at // zero: not dated (a snapshot without a condition time)
	var d time.Duration
	if !at.IsZero() {
		d = at.Sub(st.start)
	}
	e.countRollout(st, res.Outcome, d)
	s := e.rootSpan(st)
	if s == nil {
		return
	}
	e.markOutcome(st, s)
	if ot := e.open[st.trace]; ot != nil && ot.last.Before(e.now) {
		ot.last = e.now // what the outcome's last steps cause still joins
	}
	if st.held {
		e.sendRoot(st)
	}
}

// With Config.Stream, a rollout's root span is held until its outcome
// (heldRoots), then sent: it reaches the backend after the spans below
// it. One whose rollout stops waiting (Config.MaxRolloutWait, a deletion,
// a status never seen) is sent as it stands, in progress or unknown.

// holdRoot holds st's root span until its outcome, or sends it now when
// it has one or will not wait for one.
func (e *Engine) holdRoot(st *rootState) {
	st.held = true
	if !e.rolloutOpen(st) {
		e.sendRoot(st)
		return
	}
	e.heldRoots = append(e.heldRoots, st)
}

// sendRoot sends a held root span, saying its outcome.
func (e *Engine) sendRoot(st *rootState) {
	if !st.settled && st.status == nil {
		if ent := e.statusEntry(st); ent != nil && ent.Rollout != nil {
			c := ent.Rollout.Status
			st.status = &c
		}
	}
	e.markOutcome(st, &st.span)
	st.held = false
	e.emit(st.trace, st.span)
}

// releaseRoots sends the held roots settled or no longer waiting (all of
// them when all), and forgets the ones sent.
func (e *Engine) releaseRoots(all bool) {
	kept := e.heldRoots[:0]
	for _, st := range e.heldRoots {
		if st.held && (all || !e.rolloutOpen(st)) {
			e.sendRoot(st)
		}
		if st.held {
			kept = append(kept, st)
		}
	}
	clear(e.heldRoots[len(kept):])
	e.heldRoots = kept
}

// rootSpan is st's synthetic span where it can still change: in its open
// trace once emitted, else st.span; nil once exported.
func (e *Engine) rootSpan(st *rootState) *span.Span {
	if !st.emitted || st.held {
		return &st.span
	}
	ot := e.open[st.trace]
	if ot == nil {
		return nil
	}
	for _, c := range ot.chunks {
		for i := range c {
			if c[i].SpanID == st.id {
				return &c[i]
			}
		}
	}
	return nil
}

// markOutcome writes st's outcome on its root span s: the end, the
// attributes, ERROR for a failure. An unsettled rollout is in_progress, or
// unknown when its status was never seen.
func (e *Engine) markOutcome(st *rootState, s *span.Span) {
	if !st.rollout || st.marked || e.cfg.Stream && !st.held {
		return // not sent yet: marked when it is (sendRoot)
	}
	st.marked = true
	res := st.result
	status := st.status // the one that reported the outcome
	watched := false
	if ent := e.statusEntry(st); ent != nil && ent.Rollout != nil {
		// A generation before the first watched one rolled out unseen.
		watched = ent.Rollout.Watched && (st.run.Name != "" || st.gen >= ent.Rollout.FirstWatchedGen)
		if status == nil {
			status = &ent.Rollout.Status
		}
	}
	switch {
	case st.settled:
		if s.End.Before(st.end) {
			s.End = st.end
		}
	case watched:
		res.Outcome = rollout.InProgress // counted once settled, open until then
	default:
		res.Outcome = rollout.Unknown
		e.countRollout(st, res.Outcome, s.End.Sub(s.Start))
	}
	s.Attrs = append(s.Attrs, span.Str(span.KeyRolloutOutcome, string(res.Outcome)))
	if st.settled && !st.end.IsZero() {
		s.Attrs = append(s.Attrs, span.Int64(span.KeyRolloutDuration, st.end.Sub(st.start).Milliseconds()))
	}
	if res.Reason != "" {
		s.Attrs = append(s.Attrs, span.Str(span.KeyRolloutReason, res.Reason))
	}
	if res.Message != "" {
		s.Attrs = append(s.Attrs, span.Str(span.KeyRolloutMessage, res.Message))
	}
	if status != nil && (st.ref.name.Kind == "Job" || st.run.Name != "") {
		s.Attrs = append(s.Attrs,
			span.Int64(span.KeyRolloutDesired, int64(status.Desired)),
			span.Int64(span.KeyRolloutActive, int64(status.Active)),
			span.Int64(span.KeyRolloutSucceeded, int64(status.Succeeded)),
			span.Int64(span.KeyRolloutFailed, int64(status.Failed)))
	} else if status != nil {
		s.Attrs = append(s.Attrs,
			span.Int64(span.KeyRolloutDesired, int64(status.Desired)),
			span.Int64(span.KeyRolloutUpdated, int64(status.Updated)),
			span.Int64(span.KeyRolloutReady, int64(status.Ready)),
			span.Int64(span.KeyRolloutAvailable, int64(status.Available)))
	}
	if res.Outcome == rollout.Failed {
		s.Error = true
		s.StatusMessage = res.Reason
		if res.Message != "" {
			s.StatusMessage += ": " + res.Message
		}
	}
}

// supersede settles prev, a rollout still open when next (a newer
// generation of the same object) started, and links the two root spans.
func (e *Engine) supersede(prev, next *rootState) {
	if s := e.rootSpan(prev); s != nil {
		s.Links = append(s.Links, span.Link{TraceID: next.trace, SpanID: next.id,
			Attrs: []span.Attr{span.Str(span.KeyLinkRelation, "superseded_by")}})
	}
	var status *record.WorkloadStatus
	if ent := e.statusEntry(prev); ent != nil && ent.Rollout != nil {
		status = &ent.Rollout.Status
	}
	e.settle(prev, rollout.Result{Outcome: rollout.Superseded}, next.start, status)
	next.span.Links = append(next.span.Links, span.Link{TraceID: prev.trace, SpanID: prev.id,
		Attrs: []span.Attr{span.Str(span.KeyLinkRelation, "supersedes")}})
}

// RolloutKinds and RolloutOutcomes index RolloutStats, RolloutBuckets are
// its duration histograms' upper bounds in seconds.
var (
	RolloutKinds    = [...]string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
	RolloutOutcomes = [...]rollout.Outcome{rollout.Complete, rollout.Failed, rollout.Superseded, rollout.InProgress, rollout.Unknown}
	RolloutBuckets  = [...]float64{5, 15, 30, 60, 120, 300, 600, 1800, 3600}
)

// RolloutStats counts rollouts by kind and outcome: a settled one when it
// settled, an unknown one when it was exported. One exported in progress
// is counted when it settles (it is Open until then).
type RolloutStats struct {
	Done [len(RolloutKinds)][len(RolloutOutcomes)]Histogram
	// Open counts rollouts waiting for their outcome, Stuck those of them
	// older than Config.StuckAfter.
	Open, Stuck [len(RolloutKinds)]int
}

// Histogram is a duration histogram: Buckets[i] counts the observations
// no longer than RolloutBuckets[i] seconds (cumulative).
type Histogram struct {
	Count   uint64
	Sum     float64 // seconds
	Buckets [len(RolloutBuckets)]uint64
}

func (h *Histogram) observe(d time.Duration) {
	s := max(d, 0).Seconds()
	h.Count++
	h.Sum += s
	for i, b := range RolloutBuckets {
		if s <= b {
			h.Buckets[i]++
		}
	}
}

func kindIndex(kind string) int {
	for i, k := range RolloutKinds {
		if k == kind {
			return i
		}
	}
	return -1
}

// countRollout counts st's outcome o, d after its change.
func (e *Engine) countRollout(st *rootState, o rollout.Outcome, d time.Duration) {
	k := kindIndex(st.ref.name.Kind)
	if k < 0 {
		return
	}
	for i, x := range RolloutOutcomes {
		if x == o {
			e.stats.Rollouts.Done[k][i].observe(d)
		}
	}
}

// countOpenRollouts fills s.Rollouts.Open and Stuck.
func (e *Engine) countOpenRollouts(s *Stats) {
	for _, st := range e.roots {
		if !e.rolloutOpen(st) {
			continue
		}
		if k := kindIndex(st.ref.name.Kind); k >= 0 {
			s.Rollouts.Open[k]++
			if e.now.Sub(st.start) >= e.cfg.StuckAfter {
				s.Rollouts.Stuck[k]++
			}
		}
	}
}

// OpenRollout is a rollout waiting for its outcome, as the viewer's page of
// rollouts in progress shows it.
type OpenRollout struct {
	Kind, Namespace, Name, UID string
	Generation                 int64
	// Since is the spec change; Trace the rollout's trace.
	Since time.Time
	Trace span.TraceID
	// Status is the latest the object reported.
	Status record.WorkloadStatus
	// Warnings are the latest Warning Events of the rollout, newest first
	// (at most maxRolloutWarnings).
	Warnings []RolloutWarning
}

// RolloutWarning is a Warning Event of a rollout.
type RolloutWarning struct {
	At              time.Time
	Kind, Name      string // the Event's object
	Reason, Message string
	Count           int32
}

// maxRolloutWarnings bounds the Warning Events kept per open rollout.
const maxRolloutWarnings = 5

// noteWarning keeps o, a Warning occurrence in st's trace, among st's
// latest Warnings.
func (st *rootState) noteWarning(o *occ) {
	w := RolloutWarning{At: o.t, Kind: o.ev.Regarding.Kind, Name: o.ev.Regarding.Name, Reason: o.ev.Reason,
		Message: o.ev.Message, Count: o.ev.Count}
	i := len(st.warnings)
	for i > 0 && st.warnings[i-1].At.After(w.At) {
		i--
	}
	st.warnings = slices.Insert(st.warnings, i, w)
	if len(st.warnings) > maxRolloutWarnings {
		st.warnings = slices.Delete(st.warnings, 0, 1)
	}
}

// OpenRollouts returns at most n rollouts waiting for their outcome, the
// longest waiting first.
func (e *Engine) OpenRollouts(n int) []OpenRollout {
	var open []*rootState
	for _, st := range e.roots {
		if e.rolloutOpen(st) {
			open = append(open, st)
		}
	}
	slices.SortFunc(open, func(a, b *rootState) int {
		return cmp.Or(a.start.Compare(b.start), cmp.Compare(a.ref.key, b.ref.key))
	})
	out := make([]OpenRollout, 0, min(n, len(open)))
	for _, st := range open[:min(n, len(open))] {
		r := OpenRollout{Kind: st.ref.name.Kind, Namespace: st.ref.name.Namespace, Name: st.ref.name.Name, UID: st.ref.uid,
			Generation: st.gen, Since: st.start, Trace: st.trace}
		if ent := e.statusEntry(st); ent != nil && ent.Rollout != nil {
			r.Status = ent.Rollout.Status
			r.Status.Conditions = slices.Clone(r.Status.Conditions)
		}
		for i := len(st.warnings) - 1; i >= 0; i-- {
			r.Warnings = append(r.Warnings, st.warnings[i])
		}
		out = append(out, r)
	}
	return out
}
