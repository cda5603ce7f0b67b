// Package correlate is kspan's engine: it turns the record stream (Events and
// object metadata with the time each was observed) into finished spans joined
// by causality. It is pure: no I/O, no clock of its own (time is passed in),
// one goroutine. Live mode and replay feed it the same records.
//
// For each Event occurrence the engine chooses a parent, in this order:
//
//  1. a controller event that names the event's object in its message, of
//     the verb that causes it: its creator ("Created pod: P" for Pod P, the
//     scale-up step for a ReplicaSet's "Created pod"), or its deleter for
//     what a deletion causes; the latest one at or before the occurrence,
//     bound to the incarnation of the name alive then (the creator is
//     remembered past the window);
//  2. a topLevelSpan event on the object, within the window;
//  3. the latest event on the object's owner within the window (owners by
//     UID, the controlling owner first, inferred from rule 1 when the owner's
//     metadata was never seen), and then rules 1-3 again one level up;
//  4. at an object with no owner (a root), a synthetic span for the root's
//     current episode: a spec change (trace ID = hash of UID and
//     generation), or activity separated by a quiet gap of at least the
//     window, or a run started by an episode rule (CronJob "Created job").
//
// Each occurrence takes its own nearest cause: an object's events are never
// chained, and share a parent when they share the cause. Occurrences are held
// for the hold time and decided in order of their own timestamps, so any
// arrival order within the hold gives the same traces. A trace is exported
// once nothing has joined it for the linger time, with every parent's end
// stretched to cover its children; exported spans never change.
//
// One idea per file: engine.go (the Engine, its records in and the clock),
// order.go and held.go (occurrences held and released in time order),
// activity.go (what is remembered per object), walk.go (the owner walk
// and its causes), mention.go (controller events naming an object, bound
// to its incarnation), creator.go (creators kept past the window),
// decide.go (choosing a parent and emitting the span), root.go (root
// episodes and their synthetic spans), attrs.go (span attributes),
// open.go (open traces, streaming and export), bounds.go (forgetting).
package correlate
