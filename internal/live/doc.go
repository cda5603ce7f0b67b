// Package live is kspan's cluster source and its engine loop. Events are
// watched through one API (events.k8s.io/v1, else core/v1) with a shared
// informer; object metadata comes from metadata-only informers, started on
// demand for every kind an event or an owner reference names (custom
// resources too) and trimmed by a transform to what the engine reads. Owner
// walks are answered from those caches: kspan makes no API request per
// event. Informer callbacks turn each change into a record and send it on a
// bounded channel to the one goroutine that owns the engine; that goroutine
// also writes the capture and feeds the sinks.
package live
