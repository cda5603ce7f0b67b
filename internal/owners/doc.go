// Package owners is the engine's index of Kubernetes object metadata, keyed
// by UID (there is no API to fetch an object by UID): owner references,
// generations with the time and manager of each spec change, tombstones of
// deleted objects kept long enough for late events, and owners inferred from
// controller messages when an object's own metadata was never seen. It is
// bounded: the least recently touched objects are evicted first, and every
// eviction is counted. It does no I/O and is used by one goroutine.
package owners
