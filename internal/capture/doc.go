// Package capture writes kspan's own capture format: the Kubernetes objects
// and Events kspan observed, each with the time it saw them, so that a run
// can be replayed later through the same engine. The live source writes a
// capture with Writer; package decode reads it back (with kubectl output and
// older captures) into the engine's record stream.
//
// # Format, version 1
//
// A capture is UTF-8 JSON Lines: one JSON value per line, each line ended by
// "\n", no pretty printing. Line 1 is the header, a JSON object:
//
//	{"kspan":"capture","version":1,"started":"2026-11-23T17:38:00.123456789Z","cluster":"prod"}
//
// Its fields:
//
//   - "kspan" is always "capture"; it identifies the format.
//   - "version" is the format version, 1. A reader rejects versions it does
//     not know.
//   - "started" is when the capture began, RFC 3339 with nanoseconds.
//   - Any other field is optional, has a string value and describes the
//     capture (for example "cluster", the cluster's name). Readers ignore
//     fields they do not know.
//
// Every following line is one observation:
//
//	{"t":"2026-11-23T17:38:08.52114Z","type":"ADDED","object":{"apiVersion":"v1","kind":"Event",...}}
//
// Its fields:
//
//   - "t" is when kspan observed it, RFC 3339 with nanoseconds, UTC.
//   - "type" is the watch event type: "ADDED", "MODIFIED" or "DELETED".
//     Initial listings are "ADDED".
//   - "object" is the Kubernetes object as the API server served it, with
//     "apiVersion" and "kind" set: an Event of either API (core "v1" or
//     "events.k8s.io/v1"), or any other object's metadata in the shape of
//     PartialObjectMetadata (apiVersion, kind and metadata, including
//     ownerReferences and managedFields), with the object's real apiVersion
//     and kind, never "meta.k8s.io/v1" "PartialObjectMetadata".
//
// Lines are written whole, in observation order. A capture cut short by a
// crash may end with a truncated line; readers report that line and use the
// rest. Empty lines are ignored.
package capture
