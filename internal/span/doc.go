// Package span defines kspan's own span value: what the correlation engine
// produces and every sink (tree, OTLP/JSON, OTLP export, viewer) consumes. A
// Span describes the past with chosen IDs and times; it never changes once
// the engine has emitted it.
package span
