// Package decode reads recorded Kubernetes Events and objects from files
// into the engine's record stream (package record), for replay. It is the
// offline counterpart of the live cluster source: both end in the same
// []record.Record, so a replay runs the production engine path.
//
// Read recognises, without being told:
//
//   - kspan's own capture (package capture), by its header line;
//   - kubectl JSON: one object, a List, or the stream of objects that
//     `kubectl get -w -o json` prints, with or without the
//     --output-watch-events wrappers;
//   - the same as YAML, multi-document, Lists included;
//   - the earlier kspan's --capture-to files: YAML documents, each headed
//     by a comment `# {"time":"...","style":"event|initial","kind":"..."}`.
//
// Events of both APIs (core/v1 and events.k8s.io/v1) become record.Event,
// normalized so that one Event seen through both APIs looks the same; every
// other kind becomes a record.Object holding only its metadata summary.
//
// Bad input never stops decoding: each object, line or document that cannot
// be used is reported as one Problem that says where and why, and the rest is
// decoded.
package decode
