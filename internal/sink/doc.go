// Package sink defines where finished spans go (the engine's output) and the
// sinks that need no network: the OTLP/JSON file and the terminal tree. The
// OTLP exporters and the web viewer are further sinks. A Fanout feeds several
// at once.
package sink
