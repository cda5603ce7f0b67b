// Package httpserve is the lifecycle that kspan's HTTP endpoints (the web
// viewer, metrics and probes) share: bind first, so a busy port is reported
// before anything starts; serve until the context ends; then shut down
// gracefully within a bound.
package httpserve
