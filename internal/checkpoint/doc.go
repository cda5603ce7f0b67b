// Package checkpoint remembers which Event occurrences kspan has exported,
// so that after a restart, a crash or a change of leader the Events the
// apiserver relists are not exported again, while those that happened (or
// were still held) while kspan was down are.
//
// It sits after the outputs: a Set is told of each batch of spans once the
// output that counts (the OTLP exporter when one is configured, else the
// -o output) has delivered it, and the engine asks it, for each relisted
// occurrence, whether an earlier run exported it. A Store makes the Set
// durable: a journal file (every delivered batch appended before the next
// is delivered) or a ConfigMap (saved every interval and on shutdown).
package checkpoint
