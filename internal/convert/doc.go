// Package convert turns Kubernetes Events, of either API (core/v1 and
// events.k8s.io/v1), into kspan's record.Event. It is the one conversion:
// live mode calls it on what the watch delivers, and every replay decoder on
// what it decoded, so that a capture replays to the traces the live run
// produced.
package convert
