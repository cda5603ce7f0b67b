// Package cli is kspan's command line: it parses flags and environment
// into one typed Config, builds the sinks and runs a command (replay now;
// the live source joins it). cmd/kspan's main only calls Run.
package cli
