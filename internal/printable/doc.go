// Package printable makes text from the cluster (names, reasons, messages,
// attribute values) safe to show a person: characters that move the cursor,
// ring the terminal, reorder text (bidirectional overrides) or hide it
// (zero-width characters) go, so what is shown is what the cluster wrote,
// and a name cannot pass for another. The terminal tree and the web viewer
// both show text through it; the OTLP outputs carry the data as it is.
package printable
