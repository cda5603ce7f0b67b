// Package capture writes kspan's own capture format: the Kubernetes objects
// and Events kspan observed, each with the time it saw them, so that a run
// can be replayed later through the same engine. The live source writes a
// capture with Writer; package decode reads it back (with kubectl output and
// older captures) into the engine's record stream.
//
// The format (version 1: UTF-8 JSON Lines, a header line, then one
// observation per line) is specified in docs/capture-format.md.
package capture
