// Package correlate is kspan's engine: it turns the record stream (Events and
// object metadata with the time each was observed) into finished spans joined
// by causality. It is pure: no I/O, no clock of its own (time is passed in),
// one goroutine. Live mode and replay feed it the same records.
//
// For each Event occurrence it chooses the nearest cause as parent: the
// controller event that created, deleted or scaled its object, else an
// Event on an owner, else a synthetic root span for the change of the root
// object (docs/how-traces-are-built.md has the rules in full). Occurrences
// are held for the hold time and decided in order of their own timestamps,
// so any arrival order within the hold gives the same traces; a trace is
// exported once nothing has joined it for the linger time, and exported
// spans never change.
//
// One idea per file: engine.go (the Engine, its records in and the clock),
// order.go and held.go (occurrences held and released in time order),
// activity.go (what is remembered per object), walk.go (the owner walk
// and its causes), mention.go (controller events naming an object, bound
// to its incarnation), step.go (the scale step of a pod, by etcd's order),
// creator.go (creators kept past the window),
// decide.go (choosing a parent and emitting the span), root.go (root
// episodes and their synthetic spans), attrs.go (span attributes),
// open.go (open traces, streaming and export), bounds.go (forgetting),
// traceparent.go (W3C trace context given on an Event or object).
package correlate
