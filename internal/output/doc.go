// Package output is where kspan's spans go, live and in replay: one
// Pipeline with named parts (the -o writer, the OTLP exporter, the viewer's
// store, the metrics observer and the restart checkpoint's recorder), built
// the same way by both commands. It is a sink.Sink: the engine hands it each
// batch, and it says which batches were delivered (accepted by the OTLP
// backend when there is one, else written by the -o output) to the
// recorder.
package output
