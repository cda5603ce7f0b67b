// Package web is kspan's built-in trace viewer. A Store is one more sink
// beside the terminal tree and the OTLP outputs: it keeps the most recent
// traces in memory, bounded by count and bytes. A Server serves them to a
// browser as server-rendered pages (a filterable trace list and one
// waterfall per trace, laid out by package tree so the browser and the
// terminal tell the same story) and as OTLP/JSON. The CSS and the little
// JavaScript there is are embedded: the viewer works offline. The pages are
// written by plain functions with every value escaped, not html/template,
// whose reflection would double kspan's binary and resident memory (see
// render.go), and without the characters that would let one name pass
// for another (package printable). The pages hold the cluster's Events, so
// the viewer answers only the names it was given (httpserve.Hosts), against
// DNS rebinding, and only reads (GET and HEAD).
//
// Flow: correlate.Engine → output.Pipeline → Store ← Server ← browser.
package web
