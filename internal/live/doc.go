// Package live is kspan's cluster source and its engine loop. Events are
// watched through one API (events.k8s.io/v1, else core/v1), object metadata
// through metadata-only watches started on demand for every kind an event or
// an owner reference names (custom resources too), and the workload kinds
// with a rollout status (Deployments, StatefulSets, DaemonSets, Jobs)
// through typed watches trimmed to that metadata and status: each watch is a
// client-go Reflector filling a store that trims what it is given to what
// the engine reads and calls kspan's handler (no shared informer), with its
// connection paced to read in batches. Owner walks are answered from what
// was watched: kspan makes no API request per event. Each change becomes a
// record (Events through package convert, as replay's decoders do) sent on
// a bounded channel to the one goroutine that owns the engine; that
// goroutine also writes the capture and feeds the sinks.
package live
