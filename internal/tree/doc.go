// Package tree draws a trace as a compact terminal waterfall: one line per
// span, indented by parent, with times relative to the trace start and a
// bar scaled to the trace's duration. It is a sink: it consumes the finished
// spans the engine emits (live, or from a replay) and writes text; it never
// feeds anything back. Output is a pure function of the spans and Options,
// so it doubles as the canonical, diffable dump for golden tests.
package tree
