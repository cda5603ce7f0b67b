// Package tracecheck verifies the structure of kspan's traces against the
// Events they came from: every event has a span, no occurrence twice, every
// parent exists, one root per trace, events on one object are siblings,
// Warning is ERROR, parents start no later than their children, and objects
// named by controller events descend from those events. Tests of the engine,
// of replay and of live mode share it.
package tracecheck
