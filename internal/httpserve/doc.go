// Package httpserve is what kspan's HTTP endpoints (the web viewer, metrics
// and probes) share: the lifecycle (bind first, so a busy port is reported
// before anything starts; serve until the context ends; then shut down
// gracefully within a bound) and the Host check that keeps web pages from
// reading them through DNS rebinding (Hosts).
package httpserve
