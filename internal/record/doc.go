// Package record defines the record stream that feeds the correlation engine:
// Kubernetes Events (from either Events API) and object metadata, each with the
// time it was observed. Decoders (replay files, captures) and the live cluster
// source produce records; the engine consumes them. Records hold only what the
// engine reads, so live mode can trim informer objects down to them.
package record
