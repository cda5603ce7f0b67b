// Package tracecheck judges kspan's traces from outside the engine.
//
// Check verifies their structure against the Events they came from: every
// event has a span, no occurrence twice, attribute keys unique per span,
// every parent exists, one root per trace, Warning is ERROR, and parents
// start no later than their children.
//
// Causes decides, from a recording alone, which parent every Event
// occurrence should have and which trace it belongs to, following the causal
// model the project is measured against (creator, deleter and scale-step
// edges, identity by UID and incarnation, one spec change per trace,
// deletion traces), and reports each span that disagrees. It is written
// independently of the engine (internal/correlate, internal/rules): it has
// its own reading of controller messages, so the engine cannot grade itself.
// Where the recording cannot decide between candidate causes it accepts any
// of them, and where it lacks what a rule needs it checks what it can; Verify
// counts both.
package tracecheck
